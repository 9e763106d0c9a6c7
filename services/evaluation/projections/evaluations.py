"""Read models of evaluations: the ``evaluations`` collection, each agreement's latest score, and the
activity feed (one entry per event of any stream, for timelines)."""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.database import Database

from shared.consumer import Projection
from shared.readmodel import UnitOfWork

from services.evaluation.domain.evaluation import PERIODS
from services.evaluation.projections.agreement_rows import ROWS, AgreementRows

EVALUATIONS, AGREEMENTS, FEED = "evaluations", "agreements", "feed"
STATUS_OF = {"evaluation.scheduled": "SCHEDULED", "evaluation.answers_saved": "IN_PROGRESS",
             "evaluation.submitted": "SUBMITTED", "evaluation.returned": "IN_PROGRESS",
             "evaluation.finalized": "FINALIZED", "evaluation.cancelled": "CANCELLED"}
PERIOD_RANK = {period: rank for rank, period in enumerate(PERIODS)}


class EvaluationsProjection(Projection):
    name = "evaluations"
    collections = (EVALUATIONS, AGREEMENTS, ROWS)

    def __init__(self, rows: AgreementRows | None = None):
        """``rows``: the ``AgreementsProjection``'s register rows, told which agreements this
        projection writes (without it, as when run alone, no rows are kept)."""
        self.rows = rows or AgreementRows()

    def setup(self, db: Database) -> None:
        # every filter and sort of GET /api/v1/evaluations (schemas.EvaluationListQuery)
        for field in ("agreement_id", "status", "due_date", "lead_opd", "year", "period", "overall", "updated_at"):
            db[EVALUATIONS].create_index([(field, ASCENDING)])

    def handles(self, event_type: str) -> bool:
        return event_type in STATUS_OF

    def apply(self, event: dict, uow: UnitOfWork) -> None:
        data, sid, version = event["data"], event["stream_id"], event["version"]
        fields = {"status": STATUS_OF[event["event_type"]], "version": version, "updated_at": event["occurred_at"]}
        if event["event_type"] == "evaluation.scheduled":
            agreement = uow.find_one(AGREEMENTS, {"_id": data["agreement_id"]},
                                     {"title": 1, "category": 1, "partner_ids": 1}) or {}
            fields.update(agreement_id=data["agreement_id"], lead_opd=data["agreement_lead_opd"],
                          period=data["period"], year=data["year"], due_date=data["due_date"],
                          assessor_kind=data["assessor_kind"], rubric_id=data["rubric_id"],
                          rubric_version=data["rubric_version"], scheduled_at=event["occurred_at"],
                          agreement_title=agreement.get("title"), category=agreement.get("category"),
                          partner_ids=agreement.get("partner_ids", []))
        elif event["event_type"] == "evaluation.finalized":
            fields.update(overall=data["overall"], rating=data["rating"], group_scores=data["group_scores"],
                          finalized_at=event["occurred_at"])
        elif event["event_type"] == "evaluation.cancelled":
            fields["cancel_reason"] = data.get("reason")
        uow.versioned(EVALUATIONS, sid, sid, version, set_fields=fields, create=version == 1)
        if event["event_type"] == "evaluation.scheduled":
            # listed on the agreement, which sets its title and category here when they change
            uow.add(AGREEMENTS, UpdateOne({"_id": data["agreement_id"]}, {"$set": {f"_evaluations.{sid}": True}},
                                          upsert=True))
        self._agreement_side(event, fields, uow)

    def _agreement_side(self, event, fields, uow):
        """The agreement's latest evaluation (any status) and latest score (finalized ones).

        "Latest" is by the evaluation's own order — year, period, when it was scheduled, its id —
        and not by when its events arrive: evaluations are separate streams, so a replay or a
        rebuild may deliver them in another order and must still pick the same one. Each field
        keeps the key it was set from (``_latest_*_key``, hidden from the API) and an update
        applies only with a key at least as high (the evaluation's version breaks ties).
        """
        evaluation = uow.find_one(EVALUATIONS, {"_id": event["stream_id"]},
                                  {"agreement_id": 1, "period": 1, "year": 1, "scheduled_at": 1})
        if not evaluation or not evaluation.get("agreement_id"):
            return
        aid, sid = evaluation["agreement_id"], event["stream_id"]
        self.rows.touch(aid)
        order = (f"{evaluation.get('year') or 0:04d}|{PERIOD_RANK.get(evaluation.get('period'), 99):02d}|"
                 f"{evaluation.get('scheduled_at') or ''}|{sid}")
        seen = f"{order}|{event['version']:08d}"
        # The agreement document exists: this stream's evaluation.scheduled created it if need be
        # (see ``apply``), and a key not yet set matches ``$not: {$gte}``.
        uow.add(AGREEMENTS, UpdateOne({"_id": aid, "_latest_evaluation_key": {"$not": {"$gte": seen}}}, {"$set": {
            "_latest_evaluation_key": seen,
            "latest_evaluation": {"id": sid, "status": fields["status"], "period": evaluation.get("period"),
                                  "year": evaluation.get("year")}}}))
        if event["event_type"] == "evaluation.finalized":
            uow.add(AGREEMENTS, UpdateOne({"_id": aid, "_latest_score_key": {"$not": {"$gte": order}}}, {"$set": {
                "_latest_score_key": order, "latest_score": fields["overall"], "latest_rating": fields["rating"],
                "latest_scored_at": event["occurred_at"]}}))


SUMMARY_KEYS = ("name", "title", "status", "reason", "period", "year", "overall", "rating", "activity_id",
                "next_status", "signed_on", "approval_ref", "recommended", "realisation", "kind", "addendum_no",
                "number")


class FeedProjection(Projection):
    """Every event as a short feed entry (no personal data: no contacts, no answers)."""

    name = "feed"
    collections = (FEED,)

    def setup(self, db: Database) -> None:
        db[FEED].create_index([("subject_ids", ASCENDING), ("occurred_at", DESCENDING)])
        db[FEED].create_index([("occurred_at", DESCENDING)])  # the whole feed, newest first
        db[FEED].create_index([("occurred_at", DESCENDING)])

    def handles(self, event_type: str) -> bool:
        return event_type.split(".", 1)[0] in ("partner", "agreement", "evaluation")

    def apply(self, event: dict, uow: UnitOfWork) -> None:
        data = event["data"]
        subjects = {event["stream_id"]}
        if data.get("agreement_id"):
            subjects.add(data["agreement_id"])
        if event["stream_type"] == "evaluation" and not data.get("agreement_id"):
            evaluation = uow.find_one(EVALUATIONS, {"_id": event["stream_id"]}, {"agreement_id": 1})
            if evaluation and evaluation.get("agreement_id"):
                subjects.add(evaluation["agreement_id"])
        summary = {k: data[k] for k in SUMMARY_KEYS if k in data and not isinstance(data[k], (dict, list))}
        if "changes" in data:
            summary["changed"] = sorted(data["changes"])
        uow.insert_new(FEED, {
            "_id": event["event_id"], "stream_id": event["stream_id"], "stream_type": event["stream_type"],
            "version": event["version"], "event_type": event["event_type"], "occurred_at": event["occurred_at"],
            "actor": {"role": event["actor"].get("role"), "name": event["actor"].get("name")},
            "subject_ids": sorted(subjects), "summary": summary})
