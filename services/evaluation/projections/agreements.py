"""The ``agreements`` read model: one document per agreement for the register and dashboards."""
from __future__ import annotations

from datetime import date

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database

from shared.consumer import Projection
from shared.readmodel import UnitOfWork

from services.evaluation.projections.agreement_rows import ROWS, AgreementRows
from services.evaluation.projections.progress import (
    activity_progress, agreement_progress, period_key, report_due_by,
)
from services.evaluation.vocabulary import ADDENDUM_OPEN, AgreementStatus as S, cooperation_scope

COLLECTION = "agreements"
# {_id: partner id, agreements: {agreement id: true}}: which agreements to tell when a partner's name
# or kind changes, found by _id (a query on partner_ids would scan the agreements on FerretDB).
PARTNER_LINKS = "partner_agreements"
TERMS = ("title", "our_number", "partner_number", "urusan", "purpose", "scope", "location", "lead_opd",
         "start_date", "end_date", "value", "funding", "funding_scheme", "burdens_public", "ksdd_type")
NEXT_STATUS_EVENTS = ("review_recorded", "dprd_approved", "central_approved")
STATUS_OF = {"submitted": S.SUBMITTED, "review_started": S.UNDER_REVIEW, "returned_for_revision": S.DRAFT,
             "signed": S.SIGNED, "activated": S.ACTIVE, "expired": S.EXPIRED, "terminated": S.TERMINATED,
             "rejected": S.REJECTED, "cancelled": S.CANCELLED}
WORK_PLAN_EVENTS = ("activity_added", "activity_updated", "activity_removed", "report_filed")
# An addendum's own lifecycle on the agreement's stream; its signing is ``amended``.
ADDENDUM_EVENTS = ("addendum_drafted", "addendum_edited", "addendum_submitted", "addendum_review_recorded",
                   "addendum_dprd_approved", "addendum_central_approved", "addendum_withdrawn", "addendum_rejected")
# A change of a PKS's KB recorded on the PKS, and its acknowledgement (the review flag of the register).
PARENT_CHANGE_EVENTS = ("parent_changed", "parent_change_acknowledged")


class AgreementsProjection(Projection):
    name = "agreements"
    collections = ("agreements", PARTNER_LINKS, ROWS)

    def __init__(self, rows: AgreementRows | None = None):
        """``rows``: the register rows, rebuilt from the agreements written in a batch (shared with
        ``EvaluationsProjection``, which writes agreements too)."""
        self.rows = rows or AgreementRows()

    def setup(self, db: Database) -> None:
        self.rows.setup(db)
        col = db[COLLECTION]
        for field in ("status", "category", "partner_ids", "opds", "year", "end_date", "cooperation_scope",
                      "report_due_by", "parent_changed"):
            col.create_index([(field, ASCENDING)])

    def before_flush(self, uow: UnitOfWork) -> None:
        self.rows.before_flush(uow)  # the register rows of the agreements this batch wrote

    def handles(self, event_type: str) -> bool:
        kind, _, name = event_type.partition(".")
        if kind == "partner":
            return name in ("registered", "profile_updated")
        return kind == "agreement" and (name in STATUS_OF or name in NEXT_STATUS_EVENTS or name in WORK_PLAN_EVENTS
                                        or name in ADDENDUM_EVENTS
                                        or name in PARENT_CHANGE_EVENTS
                                        or name in ("drafted", "draft_edited", "amended", "document_attached",
                                                    "expiry_reminder_raised"))

    def apply(self, event: dict, uow: UnitOfWork) -> None:
        kind, _, name = event["event_type"].partition(".")
        if kind == "partner":
            self._partner_named(event, uow)
            return
        data = event["data"]
        fields: dict = {"version": event["version"], "updated_at": event["occurred_at"]}
        inc = None
        if name == "drafted":
            fields.update(self._drafted(data, event, uow))
        elif name == "draft_edited":
            fields.update(self._terms(data["changes"], event, uow))
        elif name == "amended":
            fields.update(self._terms(data["changes"], event, uow))
            fields.update(self._addenda(name, data, event, uow))
            inc = {"amendment_count": 1}
        elif name in ADDENDUM_EVENTS:
            fields.update(self._addenda(name, data, event, uow))
        elif name in NEXT_STATUS_EVENTS:
            fields["status"] = data["next_status"]
        elif name in STATUS_OF:
            fields["status"] = STATUS_OF[name]
            fields.update({k: data[k] for k in ("signed_on", "activated_on", "expired_on", "terminated_on")
                           if k in data})
            if name in ("terminated", "rejected", "cancelled"):
                fields["closing_reason"] = data.get("reason")
            if name == "terminated":
                fields["termination_reason_code"] = data.get("reason_code") or "lainnya"
        elif name == "expiry_reminder_raised":
            fields["reminder_raised_on"] = data["raised_on"]
        elif name == "document_attached":
            inc = {"document_count": 1}
        elif name in WORK_PLAN_EVENTS:
            fields.update(self._work_plan(name, data, event, uow))
        elif name in PARENT_CHANGE_EVENTS:
            fields.update(self._parent_change(name, data, event, uow))
        uow.versioned(COLLECTION, event["stream_id"], event["stream_id"], event["version"], set_fields=fields, inc=inc,
                      create=event["version"] == 1)
        self.rows.touch(event["stream_id"])
        shown = {f"agreement_{k}" if k == "title" else k: fields[k] for k in ("title", "category", "partner_ids")
                 if k in fields}
        if shown:  # the evaluations register shows these; set here too, whatever order events arrive in
            # (the evaluations projection lists an agreement's evaluations in its ``_evaluations``)
            doc = uow.find_one(COLLECTION, {"_id": event["stream_id"]}, {"_evaluations": 1}) or {}
            for eid in sorted(doc.get("_evaluations") or {}):
                uow.add("evaluations", UpdateOne({"_id": eid, "agreement_id": event["stream_id"]}, {"$set": shown}))

    # ------------------------------------------------------------ helpers

    def _drafted(self, data, event, uow):
        fields = dict(category=data["category"], document_kind=data["document_kind"],
                      parent_kb_id=data.get("parent_kb_id"), extends_agreement_id=data.get("extends_agreement_id"),
                      status=S.DRAFT, drafted_at=event["occurred_at"], activities={}, progress=0.0,
                      amendment_count=0, document_count=0,
                      cooperation_scope=cooperation_scope(data["category"]))
        fields.update(self._terms({"partner_ids": data["partner_ids"], **{k: data.get(k) for k in TERMS}}, event,
                                  uow))
        return fields

    def _terms(self, changes, event, uow):
        fields = {k: v for k, v in changes.items() if k in TERMS or k in ("partner_ids", "parent_kb_id")}
        if "start_date" in changes:
            fields["year"] = int(changes["start_date"][:4])
        if "lead_opd" in changes:
            fields["opds"] = [changes["lead_opd"]]
        if "partner_ids" in changes:
            # Partners not projected yet (another topic, replayed in another order) are filled in by
            # their partner.registered event below, so the result does not depend on topic order.
            partners = {pid: uow.find_one("partners", {"_id": pid}, {"name": 1, "kind": 1, "subtype": 1}) or {}
                        for pid in changes["partner_ids"]}
            fields["partner_names"] = {pid: p.get("name", pid) for pid, p in partners.items()}
            fields["partner_kind_of"] = {pid: p.get("kind") for pid, p in partners.items()}
            # an individual partner is not named in public views (shared/personal_data.py)
            fields["partner_subtype_of"] = {pid: p.get("subtype") for pid, p in partners.items()}
            for pid in changes["partner_ids"]:  # a link left by a later change only costs a no-op update
                uow.add(PARTNER_LINKS, UpdateOne({"_id": pid}, {"$set": {f"agreements.{event['stream_id']}": True}},
                                                 upsert=True))
        return fields

    def _work_plan(self, name, data, event, uow):
        doc = uow.find_one(COLLECTION, {"_id": event["stream_id"]}) or {}
        activities = dict(doc.get("activities") or {})
        aid = data["activity_id"]
        if name == "activity_added":
            activities[aid] = {k: v for k, v in data.items() if k != "activity_id"} | {"realisation": None,
                                                                                       "last_period": None}
        elif name == "activity_updated":
            activities[aid] = {**activities.get(aid, {}), **data["changes"]}
        elif name == "activity_removed":
            activities.pop(aid, None)
        elif name == "report_filed":
            activity = dict(activities.get(aid, {}))
            last = activity.get("last_period")
            if last is None or period_key(data["period"]) >= period_key(last):
                activity.update(realisation=data["realisation"], last_period=data["period"])
            activity["report_count"] = activity.get("report_count", 0) + (0 if data["period"] in
                                                                           activity.get("periods", []) else 1)
            activity["periods"] = sorted(set(activity.get("periods", [])) | {data["period"]}, key=period_key)
            activities[aid] = activity
        for activity in activities.values():
            activity["progress"] = activity_progress(activity)
        start = date.fromisoformat(doc.get("start_date") or "1970-01-01")
        opds = sorted({doc.get("lead_opd")} | {a["responsible_opd"] for a in activities.values()} - {None})
        return {"activities": activities, "progress": agreement_progress(activities),
                "report_due_by": report_due_by(activities, start), "opds": opds}

    def _addenda(self, name, data, event, uow):
        """Every addendum of the agreement with its state (``addenda``) and the one in progress
        (``open_addendum``), so the register and the agreement page show where an addendum stands."""
        doc = uow.find_one(COLLECTION, {"_id": event["stream_id"]}, {"addenda": 1}) or {}
        addenda = [dict(a) for a in doc.get("addenda") or []]
        addendum = next((a for a in addenda if a.get("addendum_no") == data["addendum_no"]), None)
        if addendum is None:  # drafted (or, in streams recorded before addenda had a lifecycle, signed at once)
            addendum = {"addendum_no": data["addendum_no"], "drafted_at": event["occurred_at"]}
            addenda.append(addendum)
        if "changes" in data:
            addendum.update(changes=data["changes"], changed=sorted(data["changes"]))
        addendum.update({k: data[k] for k in ("reason", "substantive", "dprd_required", "central_required",
                                              "reviewed_on", "recommended") if k in data})
        status = {"addendum_drafted": "DRAFT", "addendum_submitted": "UNDER_REVIEW", "addendum_withdrawn": "WITHDRAWN",
                  "addendum_rejected": "REJECTED", "amended": "SIGNED"}.get(name, data.get("next_status"))
        if status:
            addendum["status"] = status
        if name in ("addendum_dprd_approved", "addendum_central_approved"):
            addendum[f"{name.removeprefix('addendum_').removesuffix('_approved')}_approved_on"] = data["approved_on"]
        if name == "amended":
            addendum.update(number=data["number"], signed_on=data["signed_on"])
        addendum["updated_at"] = event["occurred_at"]
        addenda.sort(key=lambda a: a["addendum_no"])
        current = next((a for a in addenda if a.get("status") in ADDENDUM_OPEN), None)
        open_addendum = {"addendum_no": current["addendum_no"], "status": current["status"]} if current else None
        return {"addenda": addenda, "open_addendum": open_addendum}

    def _parent_change(self, name, data, event, uow):
        """The KB changes recorded on a PKS (newest last) and ``parent_changed``: one that left the PKS
        outside its KB waits for acknowledgement (the register's review flag)."""
        doc = uow.find_one(COLLECTION, {"_id": event["stream_id"]}, {"parent_changes": 1}) or {}
        changes = [dict(c) for c in doc.get("parent_changes") or []]
        if name == "parent_changed":
            changes.append({"parent_kb_id": data["parent_kb_id"], "cause_event_id": data["cause"]["event_id"],
                            "cause_event_type": data["cause"]["event_type"], "changes": data["changes"],
                            "outside_kb": data["outside_kb"], "problems": data["problems"],
                            "recorded_at": event["occurred_at"], "acknowledged": None})
        else:
            for change in changes:
                if change["cause_event_id"] in data["causes"]:
                    change["acknowledged"] = {"note": data["note"], "at": event["occurred_at"],
                                              "by": (event.get("actor") or {}).get("name")}
        return {"parent_changes": changes,
                "parent_changed": any(c["outside_kb"] and c["acknowledged"] is None for c in changes)}

    def _partner_named(self, event, uow):
        """Partner names and kinds shown on its agreements (set, so replays in any order converge)."""
        data, pid = event["data"], event["stream_id"]
        values = data if event["event_type"] == "partner.registered" else data["changes"]
        fields = {f"partner_names.{pid}": values["name"]} if values.get("name") else {}
        if values.get("kind"):
            fields[f"partner_kind_of.{pid}"] = values["kind"]
        if "subtype" in values:
            fields[f"partner_subtype_of.{pid}"] = values["subtype"]
        if fields:
            links = uow.find_one(PARTNER_LINKS, {"_id": pid}) or {}
            for aid in sorted(links.get("agreements") or {}):
                uow.add(COLLECTION, UpdateOne({"_id": aid, "partner_ids": pid}, {"$set": fields}))
                self.rows.touch(aid)
