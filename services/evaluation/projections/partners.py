"""The ``partners`` read model: one document per partner, as of the version it reflects."""
from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database

from shared.consumer import Projection
from shared.readmodel import UnitOfWork

COLLECTION = "partners"


class PartnersProjection(Projection):
    name = "partners"
    collections = ("partners",)

    def setup(self, db: Database) -> None:
        # every filter and sort of GET /api/v1/partners (schemas.PartnerListQuery)
        for field in ("kind", "status", "cooperation_scope", "name_lower", "registered_at", "updated_at"):
            db[COLLECTION].create_index([(field, ASCENDING)])

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("partner.") and hasattr(self, "on_" + event_type.split(".", 1)[1])

    def apply(self, event: dict, uow: UnitOfWork) -> None:
        fields = getattr(self, "on_" + event["event_type"].split(".", 1)[1])(event["data"], event)
        uow.versioned(COLLECTION, event["stream_id"], event["stream_id"], event["version"],
                      set_fields={**fields, "version": event["version"], "updated_at": event["occurred_at"]},
                      create=event["version"] == 1)

    # Each handler returns the fields its event sets.

    def on_registered(self, data, event):
        profile = {k: v for k, v in data.items() if k != "contacts"}
        return {**profile, "name_lower": data["name"].lower(), "contacts": data.get("contacts", []),
                "status": "REGISTERED", "registered_at": event["occurred_at"]}

    def on_profile_updated(self, data, _event):
        changes = dict(data["changes"])
        if "name" in changes:
            changes["name_lower"] = changes["name"].lower()
        return changes

    def on_contacts_set(self, data, _event):
        return {"contacts": data["contacts"]}

    def on_verified(self, _data, event):
        return {"status": "VERIFIED", "verified_at": event["occurred_at"]}

    def on_verification_revoked(self, _data, _event):
        return {"status": "REGISTERED", "verified_at": None}

    def on_deactivated(self, data, event):
        return {"status": "DEACTIVATED", "deactivated_at": event["occurred_at"],
                "deactivation_reason": data.get("reason")}

    def on_reactivated(self, data, _event):
        return {"status": data.get("status") or "REGISTERED", "deactivated_at": None, "deactivation_reason": None}
