"""The agreements service's own replica of evaluations, built from ``jalin.evaluation.events``.

Event-carried state transfer, as for partners (``partner_replica.py``): an extension is submitted
only once the old agreement's final (AKHIR) evaluation is FINALIZED, and the agreements service
learns that from the evaluation service's events rather than by calling it, so submitting works
while the evaluation service is down. The replica holds only what that rule needs: which agreement
and period an evaluation is about, its status and, once finalized, its score and rating.
"""
from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database

from shared.consumer import Projection
from shared.readmodel import UnitOfWork

COLLECTION = "evaluation_replica"
FINALIZED = "FINALIZED"


class EvaluationReplicaProjection(Projection):
    name = "evaluation_replica"
    collections = (COLLECTION,)

    def setup(self, db: Database) -> None:
        db[COLLECTION].create_index([("agreement_id", ASCENDING), ("period", ASCENDING)])

    def handles(self, event_type: str) -> bool:
        return event_type in self._FIELDS

    def apply(self, event: dict, uow: UnitOfWork) -> None:
        fields = self._FIELDS[event["event_type"]](event)
        uow.versioned(COLLECTION, event["stream_id"], event["stream_id"], event["version"],
                      set_fields={**fields, "version": event["version"]})

    # Answers, submissions and returns change nothing the agreements service needs.
    _FIELDS = {
        "evaluation.scheduled": lambda e: {"agreement_id": e["data"]["agreement_id"], "period": e["data"]["period"],
                                           "year": e["data"]["year"], "status": "SCHEDULED"},
        "evaluation.finalized": lambda e: {"status": FINALIZED, "overall": e["data"].get("overall"),
                                           "rating": e["data"].get("rating"), "finalized_at": e.get("occurred_at")},
        "evaluation.cancelled": lambda e: {"status": "CANCELLED"},
    }


class ReplicaEvaluationDirectory:
    """The ``EvaluationDirectory`` port on the replica."""

    def __init__(self, db: Database):
        self._col = db[COLLECTION]

    def finalized(self, agreement_id: str, period: str) -> list[dict]:
        """The FINALIZED evaluations of ``agreement_id`` for ``period``, oldest first."""
        found = self._col.find({"agreement_id": agreement_id, "period": period, "status": FINALIZED})
        views = [{"id": d["_id"], "agreement_id": d["agreement_id"], "period": d["period"], "year": d["year"],
                  "overall": d.get("overall"), "rating": d.get("rating"), "finalized_at": d.get("finalized_at")}
                 for d in found]
        return sorted(views, key=lambda v: (v["finalized_at"] or "", v["id"]))
