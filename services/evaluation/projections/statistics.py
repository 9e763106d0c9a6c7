"""Dashboard statistics, partner and OPD portfolios: derived documents recomputed from the state
documents after batches (idempotent by construction; see ``Projection.refresh``).

One read of each state collection, tallied in Python: on FerretDB v1 every query other than a
lookup by _id decodes the whole collection, so a dozen ``$group`` pipelines cost a dozen full
reads (23 s at the demo ×100 against about 3 s this way), and its ``$group`` has quirks besides
(a count next to a sum of doubles answers 0; a compound key after ``$unwind`` loses keys).
Documents not yet filled in by their own stream (``version`` missing: see ``FILLED``) are left out.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from pymongo import ReplaceOne
from pymongo.database import Database

from shared.consumer import Projection
from shared.personal_data import public_partner_name
from shared.readmodel import FILLED, safe_key

from services.evaluation.domain import Status as EvaluationStatus
from services.evaluation.vocabulary import LIVE, SIGNED_OR_LATER, AgreementStatus

STATISTICS, PARTNER_PORTFOLIOS, OPD_PORTFOLIOS = "statistics", "partner_portfolios", "opd_portfolios"
# The overview documents' _ids in STATISTICS. What the ``publik`` role sees: the same figures over
# signed agreements only (see ``refresh``).
OVERVIEW, PUBLIC_OVERVIEW = "overview", "public_overview"
PUBLIC_PARTNER_PORTFOLIOS, PUBLIC_OPD_PORTFOLIOS = "public_partner_portfolios", "public_opd_portfolios"
# Evaluations still to be done: neither finalized nor cancelled.
OPEN_EVALUATION: tuple[str, ...] = tuple(s for s in EvaluationStatus.ALL if s not in EvaluationStatus.CLOSED)
AGREEMENT_FIELDS = ("status", "category", "document_kind", "cooperation_scope", "partner_kind_of", "urusan",
                    "lead_opd", "year", "signed_on", "partner_ids", "latest_score", "progress", "end_date",
                    "report_due_by")
EVALUATION_FIELDS = ("status", "rating", "overall", "year", "lead_opd", "category", "agreement_id", "due_date")


def tally(docs: Iterable[dict], key: Callable[[dict], Any]) -> dict:
    """``{str(value): count}``; ``key`` may give one value or a list of them (None is left out).
    Values become keys through ``safe_key``: a stored urusan or code can never make the document unwritable."""
    out: dict = {}
    for doc in docs:
        values = key(doc)
        for value in values if isinstance(values, (list, set, tuple)) else [values]:
            if value is not None:
                out[safe_key(value)] = out.get(safe_key(value), 0) + 1
    return out


def field(name: str) -> Callable[[dict], Any]:
    return lambda doc: doc.get(name)


def averages(docs: Iterable[dict], key: Callable[[dict], Any], score: str) -> dict:
    """``{str(value): mean of score}`` over the documents that have a score."""
    sums: dict = {}
    for doc in docs:
        if doc.get(score) is None:
            continue
        values = key(doc)
        for value in values if isinstance(values, (list, set, tuple)) else [values]:
            if value is not None:
                bucket = sums.setdefault(safe_key(value), {"n": 0, "sum": 0.0})
                bucket["n"] += 1
                bucket["sum"] += float(doc[score])
    return {k: average(v) for k, v in sums.items()}


def average(bucket: dict | None) -> float | None:
    return round(bucket["sum"] / bucket["n"], 2) if bucket and bucket["n"] else None


def partner_kinds(doc: dict) -> set[str]:
    return {k for k in (doc.get("partner_kind_of") or {}).values() if k}


def overview_figures(agreements: list[dict], evaluations: list[dict], partners: list[dict]) -> dict:
    """The dashboard's headline numbers and chart data over the given documents."""
    finalized = [e for e in evaluations if e.get("status") == EvaluationStatus.FINALIZED]
    kinds_of = {a["_id"]: partner_kinds(a) for a in agreements}
    return {
        "agreements": {
            "total": len(agreements),
            "by_status": tally(agreements, field("status")),
            "by_category": tally(agreements, field("category")),
            "by_document_kind": tally(agreements, field("document_kind")),
            "by_scope": tally(agreements, field("cooperation_scope")),
            "by_partner_kind": tally(agreements, partner_kinds),
            "by_urusan": tally(agreements, lambda a: a.get("urusan") or []),
            "by_lead_opd": tally(agreements, field("lead_opd")),
            "by_year": tally(agreements, field("year")),
            "signed_by_year": tally(agreements, lambda a: a["signed_on"][:4] if a.get("signed_on") else None),
        },
        "evaluations": {
            "total": len(evaluations),
            "by_status": tally(evaluations, field("status")),
            "rating_distribution": tally(finalized, field("rating")),
            "average_score": averages(finalized, lambda e: "all", "overall").get("all"),
            "average_by_year": averages(finalized, field("year"), "overall"),
            "average_by_opd": averages(finalized, field("lead_opd"), "overall"),
            "average_by_category": averages(finalized, field("category"), "overall"),
            "average_by_partner_kind": averages(finalized, lambda e: kinds_of.get(e.get("agreement_id"), ()),
                                                "overall"),
        },
        "partners": {"total": len(partners), "by_kind": tally(partners, field("kind")),
                     "by_status": tally(partners, field("status"))},
        # Dates per day, so the figures that depend on today ("expiring within 30 days",
        # "overdue") are counted at query time from this one document (``queries.live_counts``).
        "calendar": {
            "live_end_dates": tally([a for a in agreements if a.get("status") in LIVE], field("end_date")),
            "active_report_due": tally([a for a in agreements if a.get("status") == AgreementStatus.ACTIVE],
                                       field("report_due_by")),
            "open_evaluation_due": tally([e for e in evaluations if e.get("status") in OPEN_EVALUATION],
                                         field("due_date")),
        },
    }


class StatisticsProjection(Projection):
    """Applies no event itself; recomputes the derived documents on refresh."""

    name = "statistics"
    collections = (STATISTICS, PARTNER_PORTFOLIOS, OPD_PORTFOLIOS, PUBLIC_PARTNER_PORTFOLIOS, PUBLIC_OPD_PORTFOLIOS)

    def handles(self, event_type: str) -> bool:
        return False

    def apply(self, event, uow) -> None:  # pragma: no cover - never called (handles nothing)
        raise NotImplementedError

    def refresh(self, db: Database) -> None:
        now = datetime.now(timezone.utc).isoformat()
        agreements = list(db["agreements"].find(FILLED, dict.fromkeys(AGREEMENT_FIELDS, 1)))
        evaluations = list(db["evaluations"].find(FILLED, dict.fromkeys(EVALUATION_FIELDS, 1)))
        partners = list(db["partners"].find(FILLED, {"kind": 1, "status": 1, "name": 1, "subtype": 1}))
        # The public view counts what the public register shows: agreements once signed, and
        # their evaluations. Drafts under negotiation stay internal.
        public = [a for a in agreements if a.get("status") in SIGNED_OR_LATER]
        public_ids = {a["_id"] for a in public}
        public_evaluations = [e for e in evaluations if e.get("agreement_id") in public_ids]
        for view, (agreements_of, evaluations_of) in {OVERVIEW: (agreements, evaluations),
                                                      PUBLIC_OVERVIEW: (public, public_evaluations)}.items():
            db[STATISTICS].replace_one({"_id": view}, {**overview_figures(agreements_of, evaluations_of, partners),
                                                       "computed_at": now}, upsert=True)
        # Each portfolio carries its name, so a listing is one read (an individual partner is not
        # named to the public: shared/personal_data.py).
        names = {p["_id"]: p.get("name", p["_id"]) for p in partners}
        public_names = {p["_id"]: public_partner_name(p.get("name", p["_id"]), p.get("subtype")) for p in partners}
        self._portfolios(db, agreements, now, PARTNER_PORTFOLIOS, OPD_PORTFOLIOS, names)
        self._portfolios(db, public, now, PUBLIC_PARTNER_PORTFOLIOS, PUBLIC_OPD_PORTFOLIOS, public_names)

    @staticmethod
    def _portfolios(db: Database, agreements: list[dict], now: str, per_partner: str, per_opd: str,
                    partner_names: dict[str, str]) -> None:
        """One pass over the agreements, accumulating per partner and per lead OPD."""
        books: dict[str, dict] = {per_partner: {}, per_opd: {}}
        for doc in agreements:
            for target, keys in ((per_partner, doc.get("partner_ids") or []),
                                 (per_opd, [doc["lead_opd"]] if doc.get("lead_opd") else [])):
                for key in keys:
                    book = books[target].setdefault(key, {
                        "agreements": 0, "active": 0, "signed_or_later": 0, "by_category": {},
                        "scores": {"n": 0, "sum": 0.0}, "progress": {"n": 0, "sum": 0.0}})
                    book["agreements"] += 1
                    book["active"] += doc.get("status") == AgreementStatus.ACTIVE
                    book["signed_or_later"] += doc.get("status") in SIGNED_OR_LATER
                    category = doc.get("category") or "?"
                    book["by_category"][category] = book["by_category"].get(category, 0) + 1
                    if doc.get("latest_score") is not None:
                        book["scores"]["n"] += 1
                        book["scores"]["sum"] += doc["latest_score"]
                    if doc.get("status") in LIVE:
                        book["progress"]["n"] += 1
                        book["progress"]["sum"] += doc.get("progress") or 0.0
        for target, book_of in books.items():
            ops = [ReplaceOne({"_id": key}, {
                "name": partner_names.get(key, key) if target == per_partner else key,
                "agreements": b["agreements"], "active": b["active"], "signed_or_later": b["signed_or_later"],
                "by_category": b["by_category"], "average_score": average(b["scores"]),
                "scored_agreements": b["scores"]["n"], "average_progress": average(b["progress"]),
                "computed_at": now}, upsert=True) for key, b in book_of.items()]
            for start in range(0, len(ops), 40):  # small commands: see UnitOfWork.MAX_OPS_PER_COMMAND
                db[target].bulk_write(ops[start:start + 40], ordered=False)
            db[target].delete_many({"_id": {"$nin": list(book_of)}})
