"""The agreements service's own replica of partners, built from ``jalin.partners.events``.

Event-carried state transfer: agreements are validated against this replica, so drafting and
submitting work while the partners service is down. The replica holds only what the rules need.
"""
from __future__ import annotations

from typing import Iterable

from pymongo.database import Database

from shared.consumer import Projection
from shared.readmodel import UnitOfWork

COLLECTION = "partner_replica"


class PartnerReplicaProjection(Projection):
    name = "partner_replica"

    def handles(self, event_type: str) -> bool:
        return event_type in self._FIELDS

    def apply(self, event: dict, uow: UnitOfWork) -> None:
        fields = self._FIELDS[event["event_type"]](event["data"])
        if fields:
            fields = {**fields, "version": event["version"]}
        uow.versioned(COLLECTION, event["stream_id"], event["stream_id"], event["version"],
                      set_fields=fields or {"version": event["version"]})

    _FIELDS = {
        "partner.registered": lambda d: {"name": d["name"], "kind": d["kind"], "country": d.get("country", "ID"),
                                         "region_code": d.get("region_code"), "status": "registered"},
        # region_code: the KSDD wajib rule asks whether the partner region borders ours.
        "partner.profile_updated": lambda d: {k: v for k, v in d["changes"].items()
                                              if k in ("name", "country", "region_code")},
        "partner.verified": lambda d: {"status": "verified"},
        "partner.verification_revoked": lambda d: {"status": "registered"},
        "partner.deactivated": lambda d: {"status": "deactivated"},
        "partner.reactivated": lambda d: {"status": (d.get("status") or "REGISTERED").lower()},
        "partner.contacts_set": lambda d: {},
    }


class ReplicaPartnerDirectory:
    """The ``PartnerDirectory`` port on the replica: the partner views the agreement rules need."""

    def __init__(self, db: Database):
        self._col = db[COLLECTION]

    def views(self, partner_ids: Iterable[str]) -> tuple[list[dict], list[str]]:
        """``(views found, ids not found)`` in the order asked."""
        ids = list(dict.fromkeys(partner_ids))
        found = {d["_id"]: d for d in self._col.find({"_id": {"$in": ids}, "name": {"$exists": True}})}
        views = [{"id": i, "name": found[i]["name"], "kind": found[i]["kind"], "status": found[i]["status"],
                  "country": found[i].get("country", "ID"), "region_code": found[i].get("region_code")}
                 for i in ids if i in found]
        return views, [i for i in ids if i not in found]
