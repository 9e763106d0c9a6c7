"""Dashboard statistics, partner and OPD portfolios: derived documents recomputed from the state
documents after batches (idempotent by construction; see ``Projection.refresh``).

Counts use ``$match/$group($sum: 1)/$unwind``, which MongoDB and FerretDB v1 both run; sums of
scores and averages are computed in Python. Documents not yet filled in by their own stream
(``version`` missing: see ``LIVE``) are left out.
"""
from __future__ import annotations

from datetime import datetime, timezone

from pymongo import ReplaceOne
from pymongo.database import Database

from shared.consumer import Projection
from shared.readmodel import FILLED

STATISTICS, PARTNER_PORTFOLIOS, OPD_PORTFOLIOS = "statistics", "partner_portfolios", "opd_portfolios"
SIGNED_OR_LATER = ["SIGNED", "ACTIVE", "EXPIRED", "TERMINATED"]
LIVE = ["SIGNED", "ACTIVE"]
OPEN_EVALUATION = ["SCHEDULED", "IN_PROGRESS", "SUBMITTED"]


def counts(db: Database, collection: str, field: str, match: dict | None = None, unwind: bool = False) -> dict:
    """``{value: count}`` of ``field`` over ``collection``."""
    pipeline = [{"$match": {**(match or {}), **FILLED}}]
    if unwind:
        pipeline.append({"$unwind": f"${field}"})
    pipeline.append({"$group": {"_id": f"${field}", "n": {"$sum": 1}}})
    return {str(d["_id"]): d["n"] for d in db[collection].aggregate(pipeline) if d["_id"] is not None}


def score_sums(db: Database, collection: str, field: str, score: str, match: dict, unwind: bool = False) -> dict:
    """``{value: {"n": count, "sum": total}}`` of a score grouped by ``field``.

    Summed in Python: on FerretDB v1 a ``$group`` holding both ``{$sum: 1}`` and ``{$sum: "$score"}``
    over doubles answers 0 for the count, so only single-purpose counts are left to the server.
    """
    out: dict = {}
    for doc in db[collection].find({**match, **FILLED, score: {"$exists": True, "$ne": None}}, {field: 1, score: 1}):
        keys = doc.get(field) if unwind else [doc.get(field)]
        for key in keys or []:
            if key is None:
                continue
            bucket = out.setdefault(str(key), {"n": 0, "sum": 0.0})
            bucket["n"] += 1
            bucket["sum"] += float(doc[score])
    return out


def average(bucket: dict | None) -> float | None:
    return round(bucket["sum"] / bucket["n"], 2) if bucket and bucket["n"] else None


class StatisticsProjection(Projection):
    """Applies no event itself; recomputes the derived documents on refresh."""

    name = "statistics"
    collections = (STATISTICS, PARTNER_PORTFOLIOS, OPD_PORTFOLIOS)

    def handles(self, event_type: str) -> bool:
        return False

    def apply(self, event, uow) -> None:  # pragma: no cover - never called (handles nothing)
        raise NotImplementedError

    def refresh(self, db: Database) -> None:
        now = datetime.now(timezone.utc).isoformat()
        agreements = {
            "total": db["agreements"].count_documents(FILLED),
            "by_status": counts(db, "agreements", "status"),
            "by_category": counts(db, "agreements", "category"),
            "by_document_kind": counts(db, "agreements", "document_kind"),
            "by_scope": counts(db, "agreements", "cooperation_scope"),
            "by_partner_kind": self._by_partner_kind(db),
            "by_urusan": counts(db, "agreements", "urusan", unwind=True),
            "by_lead_opd": counts(db, "agreements", "lead_opd"),
            "by_year": counts(db, "agreements", "year"),
            "signed_by_year": self._signed_by_year(db),
        }
        finalized = {"status": "FINALIZED"}
        evaluations = {
            "total": db["evaluations"].count_documents(FILLED),
            "by_status": counts(db, "evaluations", "status"),
            "rating_distribution": counts(db, "evaluations", "rating", finalized),
            "average_score": average(score_sums(db, "evaluations", "status", "overall", finalized).get("FINALIZED")),
            "average_by_year": {k: average(v) for k, v in
                                score_sums(db, "evaluations", "year", "overall", finalized).items()},
            "average_by_opd": {k: average(v) for k, v in
                               score_sums(db, "evaluations", "lead_opd", "overall", finalized).items()},
            "average_by_category": {k: average(v) for k, v in
                                    score_sums(db, "evaluations", "category", "overall", finalized).items()},
            "average_by_partner_kind": self._average_by_partner_kind(db),
        }
        partners = {"total": db["partners"].count_documents(FILLED), "by_kind": counts(db, "partners", "kind"),
                    "by_status": counts(db, "partners", "status")}
        # Dates per day, so the figures that depend on today ("expiring within 30 days", "overdue")
        # are counted at query time from this one document (see ``api.live_counts``).
        calendar = {
            "live_end_dates": counts(db, "agreements", "end_date", {"status": {"$in": LIVE}}),
            "active_report_due": counts(db, "agreements", "report_due_by", {"status": "ACTIVE"}),
            "open_evaluation_due": counts(db, "evaluations", "due_date", {"status": {"$in": OPEN_EVALUATION}}),
        }
        db[STATISTICS].replace_one({"_id": "overview"}, {"agreements": agreements, "evaluations": evaluations,
                                                         "partners": partners, "calendar": calendar,
                                                         "computed_at": now}, upsert=True)
        self._portfolios(db, now)

    @staticmethod
    def _kinds_of(doc: dict) -> set[str]:
        return {k for k in (doc.get("partner_kind_of") or {}).values() if k}

    def _by_partner_kind(self, db: Database) -> dict:
        """Agreements per partner kind (an agreement with two kinds of partner counts in both)."""
        out: dict = {}
        for doc in db["agreements"].find(FILLED, {"partner_kind_of": 1}):
            for kind in self._kinds_of(doc):
                out[kind] = out.get(kind, 0) + 1
        return out

    def _average_by_partner_kind(self, db: Database) -> dict:
        kinds = {d["_id"]: self._kinds_of(d) for d in db["agreements"].find(FILLED, {"partner_kind_of": 1})}
        sums: dict = {}
        for doc in db["evaluations"].find({"status": "FINALIZED"}, {"agreement_id": 1, "overall": 1}):
            for kind in kinds.get(doc.get("agreement_id"), ()):
                bucket = sums.setdefault(kind, {"n": 0, "sum": 0.0})
                bucket["n"] += 1
                bucket["sum"] += doc["overall"]
        return {k: average(v) for k, v in sums.items()}

    @staticmethod
    def _signed_by_year(db: Database) -> dict:
        out: dict = {}
        for doc in db["agreements"].find({"signed_on": {"$exists": True, "$ne": None}}, {"signed_on": 1}):
            year = doc["signed_on"][:4]
            out[year] = out.get(year, 0) + 1
        return out

    @staticmethod
    def _portfolios(db: Database, now: str) -> None:
        """One pass over the agreements, accumulating per partner and per lead OPD.

        (A ``$group`` on a compound key after ``$unwind`` loses all but the first key on FerretDB
        v1, so the cross-tabulation by category is done here rather than in the pipeline.)
        """
        books: dict[str, dict] = {PARTNER_PORTFOLIOS: {}, OPD_PORTFOLIOS: {}}
        fields = {"partner_ids": 1, "lead_opd": 1, "category": 1, "status": 1, "latest_score": 1, "progress": 1}
        for doc in db["agreements"].find(FILLED, fields):
            for target, keys in ((PARTNER_PORTFOLIOS, doc.get("partner_ids") or []),
                                 (OPD_PORTFOLIOS, [doc["lead_opd"]] if doc.get("lead_opd") else [])):
                for key in keys:
                    book = books[target].setdefault(key, {
                        "agreements": 0, "active": 0, "signed_or_later": 0, "by_category": {},
                        "scores": {"n": 0, "sum": 0.0}, "progress": {"n": 0, "sum": 0.0}})
                    book["agreements"] += 1
                    book["active"] += doc.get("status") == "ACTIVE"
                    book["signed_or_later"] += doc.get("status") in SIGNED_OR_LATER
                    category = doc.get("category") or "?"
                    book["by_category"][category] = book["by_category"].get(category, 0) + 1
                    if doc.get("latest_score") is not None:
                        book["scores"]["n"] += 1
                        book["scores"]["sum"] += doc["latest_score"]
                    if doc.get("status") in ("SIGNED", "ACTIVE"):
                        book["progress"]["n"] += 1
                        book["progress"]["sum"] += doc.get("progress") or 0.0
        for target, book_of in books.items():
            ops = [ReplaceOne({"_id": key}, {
                "agreements": b["agreements"], "active": b["active"], "signed_or_later": b["signed_or_later"],
                "by_category": b["by_category"], "average_score": average(b["scores"]),
                "scored_agreements": b["scores"]["n"], "average_progress": average(b["progress"]),
                "computed_at": now}, upsert=True) for key, b in book_of.items()]
            for start in range(0, len(ops), 40):  # small commands: see UnitOfWork.MAX_OPS_PER_COMMAND
                db[target].bulk_write(ops[start:start + 40], ordered=False)
            db[target].delete_many({"_id": {"$nin": list(book_of)}})
