"""The read side's queries: Mongo filters, sorting, paging and who sees what (OPD and publik scope).

Flask-free on purpose: the query routes (``query_api``) and the exports (``export_api``) ask the same
questions of the read models, so "the register filtered like GET /api/v1/agreements" means one
filter, built here once, whether it ends up as a page of JSON or as every row of a spreadsheet.
Functions take the live read-model database, the parsed arguments, today's date and the actor
(``shared.envelope.Actor``); they return documents as stored, which the routes then shape.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping

from pymongo.collection import Collection
from pymongo.database import Database

from shared.envelope import Actor
from shared.personal_data import public_partner
from shared.policy import Policy
from shared.readmodel import FILLED

from services.evaluation.domain import Status as EvaluationStatus
from services.evaluation.projections.agreement_rows import ROWS
from services.evaluation.projections.statistics import (
    OPD_PORTFOLIOS, OPEN_EVALUATION, OVERVIEW, PARTNER_PORTFOLIOS, PUBLIC_OPD_PORTFOLIOS, PUBLIC_OVERVIEW,
    PUBLIC_PARTNER_PORTFOLIOS, STATISTICS)
from services.evaluation.vocabulary import LIVE, SIGNED_OR_LATER, AgreementStatus

# What the public register shows and open data publishes: agreements once signed.
PUBLIC_STATUSES: tuple[str, ...] = SIGNED_OR_LATER
EMPTY_OVERVIEW = {"agreements": {"total": 0}, "evaluations": {"total": 0}, "partners": {"total": 0}}
# Portfolio collections by kind: (internal, public).
PORTFOLIOS = {"partners": (PARTNER_PORTFOLIOS, PUBLIC_PARTNER_PORTFOLIOS),
              "opds": (OPD_PORTFOLIOS, PUBLIC_OPD_PORTFOLIOS)}


def is_public(actor: Actor) -> bool:
    return Policy.sees_public_view(actor)


def scope_of(actor: Actor) -> tuple[str, str]:
    """Everything about the caller that changes a read-model answer: the public view or not, and the
    OPD a list is filtered to. Two callers with the same scope get the same answers (the query API
    shares its cached pages between them, never across scopes)."""
    return ("publik" if is_public(actor) else "internal", Policy.opd_of(actor) or "")


# ---------------------------------------------------------------- sorting and paging

def sort_spec(spec: str, rename: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """``"-start_date"`` → ``[("start_date", -1), ("_id", 1)]`` (``_id`` last, so pages are stable)."""
    field = spec.lstrip("-")
    return [((rename or {}).get(field, field), -1 if spec.startswith("-") else 1), ("_id", 1)]


@dataclass(frozen=True)
class Page:
    """One page of documents and the total that match."""

    docs: list[dict]
    page: int
    per_page: int
    total: int


def page_of(collection: Collection, query: dict, sort: list, page: int, per_page: int,
            projection: Mapping[str, int] | None = None) -> Page:
    """Page ``page`` (from 1) of the filled-in documents matching ``query``, and how many match, in
    one pass over the collection.

    The pass reads the ``_id`` and sort keys of every match, sorted (their number is the total);
    the page's documents are then read by ``_id``, each with the filter again (a document that
    stopped matching meanwhile is left out, never shown out of scope). FerretDB v1 implements
    neither ``$facet`` nor ``$push`` in ``$group`` and decodes the whole collection for any query not
    by ``_id``, so a count beside the page query cost two such passes; lookups by ``_id`` are cheap.
    """
    query = {**query, **FILLED}
    keys = {name: 1 for name, _ in sort if name != "_id"} or {"_id": 1}
    ids = [doc["_id"] for doc in collection.find(query, keys).sort(sort)]
    docs = [collection.find_one({**query, "_id": doc_id}, projection)
            for doc_id in ids[(page - 1) * per_page:page * per_page]]
    return Page([d for d in docs if d is not None], page, per_page, len(ids))


def all_of(collection: Collection, query: dict, sort: list) -> list[dict]:
    """Every filled-in document matching ``query``, sorted (the exports: no paging)."""
    return list(collection.find({**query, **FILLED}).sort(sort))


# ---------------------------------------------------------------- partners

def partner_filter(args: Mapping[str, Any]) -> dict:
    """The filters of GET /api/v1/partners: kind, status, cooperation scope, text in the name."""
    query: dict = {}
    for name in ("kind", "status"):
        if args.get(name):
            query[name] = args[name]
    if args.get("scope"):
        query["cooperation_scope"] = args["scope"]
    if args.get("q"):
        query["name_lower"] = {"$regex": re.escape(args["q"].lower())}
    return query


def partners_page(db: Database, args: Mapping[str, Any], actor: Actor) -> Page:
    """A page of partners (the route gives the public its whitelisted view of each)."""
    return page_of(db["partners"], partner_filter(args), sort_spec(args["sort"], {"name": "name_lower"}),
                   args["page"], args["per_page"])


# ---------------------------------------------------------------- agreements register

def agreement_scope(actor: Actor, query: dict) -> dict:
    """OPD officers see their OPD's agreements; the public sees signed ones (and after)."""
    if Policy.opd_of(actor):
        query["opds"] = Policy.opd_of(actor)
    if is_public(actor):
        query.setdefault("status", {"$in": list(PUBLIC_STATUSES)})
        if isinstance(query["status"], dict):
            query["status"] = {"$in": [s for s in query["status"]["$in"] if s in PUBLIC_STATUSES]}
        elif query["status"] not in PUBLIC_STATUSES:
            query["status"] = {"$in": []}
    return query


def days_to_end(doc: Mapping, on: date) -> int | None:
    """Days from ``on`` to the agreement's end date while it is live (signed or active), else None."""
    if doc.get("status") not in LIVE or not doc.get("end_date"):
        return None
    return (date.fromisoformat(doc["end_date"]) - on).days


def expiring_within(doc: Mapping, on: date, days: int) -> bool:
    """Live and ending between ``on`` and ``days`` later (the ``expiring`` filter, per document)."""
    left = days_to_end(doc, on)
    return left is not None and 0 <= left <= days


def report_overdue(doc: Mapping, on: date) -> bool:
    """Active with its implementation report due before ``on`` (the ``overdue_report`` filter, per document)."""
    return bool(doc.get("status") == AgreementStatus.ACTIVE and doc.get("report_due_by")
                and doc["report_due_by"] < on.isoformat())


def register_filter(args: Mapping[str, Any], on: date, actor: Actor) -> dict:
    """The register filters of GET /api/v1/agreements (and its exports), scoped to the actor."""
    query: dict = {}
    if args.get("status"):
        query["status"] = {"$in": args["status"]}
    for name in ("category", "document_kind", "year"):
        if args.get(name) is not None:
            query[name] = args[name]
    if args.get("scope"):
        query["cooperation_scope"] = args["scope"]
    if args.get("partner"):
        query["partner_ids"] = args["partner"]
    if args.get("opd"):
        query["opds"] = args["opd"]
    if args.get("q"):
        query["title"] = {"$regex": re.escape(args["q"]), "$options": "i"}
    if args.get("expiring"):
        query["status"] = {"$in": [s for s in (args.get("status") or LIVE) if s in LIVE]}
        query["end_date"] = {"$gte": on.isoformat(), "$lte": (on + timedelta(days=args["expiring"])).isoformat()}
    if args.get("overdue_report"):
        query["status"] = AgreementStatus.ACTIVE
        query["report_due_by"] = {"$lt": on.isoformat()}
    if args.get("parent_changed") is not None and not is_public(actor):  # a PKS left outside its KB, to review
        query["parent_changed"] = True if args["parent_changed"] else {"$ne": True}
    return agreement_scope(actor, query)


def register_page(db: Database, args: Mapping[str, Any], on: date, actor: Actor) -> Page:
    """A page of the register's slim rows (``projections.agreement_rows``)."""
    return page_of(db[ROWS], register_filter(args, on, actor), sort_spec(args["sort"]),
                   args["page"], args["per_page"])


def register_rows(db: Database, args: Mapping[str, Any], on: date, actor: Actor) -> list[dict]:
    """Every row of the register the page query would list (the exports)."""
    return all_of(db["agreements"], register_filter(args, on, actor), sort_spec(args["sort"]))


def agreement(db: Database, agreement_id: str, actor: Actor) -> dict | None:
    """One agreement of the register, if the actor may see it."""
    return db["agreements"].find_one({**agreement_scope(actor, {"_id": agreement_id}), **FILLED})


def agreement_opds(db: Database, agreement_id: str) -> set[str] | None:
    """The OPDs an agreement belongs to (lead OPD and the activities' OPDs), None if it is not in the register."""
    doc = db["agreements"].find_one({"_id": agreement_id}, {"opds": 1, "lead_opd": 1})
    if doc is None:
        return None
    return set(doc.get("opds") or []) | ({doc["lead_opd"]} if doc.get("lead_opd") else set())


# ---------------------------------------------------------------- evaluations register

def evaluation_overdue(doc: Mapping, on: date) -> bool:
    """Not yet finalized or cancelled, and due before ``on``."""
    return bool(doc.get("status") in OPEN_EVALUATION and doc.get("due_date", "9999") < on.isoformat())


def evaluation_filter(args: Mapping[str, Any], on: date, actor: Actor) -> dict:
    """The filters of GET /api/v1/evaluations (and its exports); OPD officers see their OPD's."""
    query: dict = {}
    if args.get("status"):
        query["status"] = {"$in": args["status"]}
    for name, field in (("agreement", "agreement_id"), ("opd", "lead_opd"), ("year", "year"), ("period", "period")):
        if args.get(name) is not None:
            query[field] = args[name]
    if args.get("due") == "overdue":
        query["status"] = {"$in": list(OPEN_EVALUATION)}
        query["due_date"] = {"$lt": on.isoformat()}
    elif args.get("due") == "upcoming":
        query["status"] = {"$in": list(OPEN_EVALUATION)}
        query["due_date"] = {"$gte": on.isoformat(), "$lte": (on + timedelta(days=args["within"])).isoformat()}
    if Policy.opd_of(actor):
        query["lead_opd"] = Policy.opd_of(actor)
    return query


def evaluation_ids_of(db: Database, agreement_id: str) -> list[str]:
    """The ids of an agreement's evaluations, as the register knows them."""
    return [d["_id"] for d in db["evaluations"].find({"agreement_id": agreement_id}, {"_id": 1})]


def evaluations_page(db: Database, args: Mapping[str, Any], on: date, actor: Actor) -> Page:
    return page_of(db["evaluations"], evaluation_filter(args, on, actor), sort_spec(args["sort"]),
                   args["page"], args["per_page"])


def evaluation_rows(db: Database, args: Mapping[str, Any], on: date, actor: Actor) -> list[dict]:
    """Every evaluation the page query would list (the exports)."""
    return all_of(db["evaluations"], evaluation_filter(args, on, actor), sort_spec(args["sort"]))


# ---------------------------------------------------------------- statistics, portfolios, feed

def live_counts(calendar: Mapping, on: date) -> dict:
    """The figures that depend on today's date, counted from the statistics' per-day calendar."""
    today_iso = on.isoformat()
    out = {}
    for days in (30, 60, 90):
        last = (on + timedelta(days=days)).isoformat()
        out[f"expiring_within_{days}"] = sum(n for day, n in calendar.get("live_end_dates", {}).items()
                                             if today_iso <= day <= last)
    out["reports_overdue"] = sum(n for day, n in calendar.get("active_report_due", {}).items() if day < today_iso)
    out["evaluations_overdue"] = sum(n for day, n in calendar.get("open_evaluation_due", {}).items()
                                     if day < today_iso)
    return out


def overview(db: Database, actor: Actor) -> dict:
    """The precomputed overview the actor sees (publik: over signed agreements only), without its ``_id``."""
    view = PUBLIC_OVERVIEW if is_public(actor) else OVERVIEW
    doc = db[STATISTICS].find_one({"_id": view}) or copy.deepcopy(EMPTY_OVERVIEW)
    doc.pop("_id", None)
    return doc


def _portfolio_collection(kind: str, actor: Actor) -> str:
    return PORTFOLIOS[kind][is_public(actor)]


def portfolio_name(doc: Mapping, key: str) -> str:
    """A portfolio's name, stored in it by the statistics refresh: the partner's (an individual is not
    named to the public), an OPD's code."""
    return doc.get("name") or key


def portfolios(db: Database, kind: str, actor: Actor) -> list[dict]:
    """Every portfolio of ``kind`` (``partners`` or ``opds``) the actor sees, by key."""
    return list(db[_portfolio_collection(kind, actor)].find().sort("_id", 1))


def portfolio(db: Database, kind: str, key: str, actor: Actor) -> dict | None:
    return db[_portfolio_collection(kind, actor)].find_one({"_id": key})


def feed_page(db: Database, subject: str | None, page: int, per_page: int) -> Page:
    """The activity feed, newest first; ``subject``: one stream's entries (an agreement's timeline)."""
    query = {"subject_ids": subject} if subject else {}
    return page_of(db["feed"], query, [("occurred_at", -1), ("_id", 1)], page, per_page)


# ---------------------------------------------------------------- open data and the annual recap

def open_data_rows(db: Database, category: str | None, year: int | None) -> tuple[list[dict], dict[str, dict]]:
    """Published agreements (signed and after), newest first, and their partners without personal data."""
    query: dict = {"status": {"$in": list(PUBLIC_STATUSES)}}
    for name, value in (("category", category), ("year", year)):
        if value is not None:
            query[name] = value
    docs = all_of(db["agreements"], query, [("start_date", -1), ("_id", 1)])
    ids = sorted({pid for d in docs for pid in d.get("partner_ids") or []})
    partners = {p["_id"]: public_partner({**p, "id": p["_id"]}) for p in db["partners"].find({"_id": {"$in": ids}})}
    return docs, partners


def recap_rows(db: Database, year: int) -> tuple[list[dict], list[dict]]:
    """What the annual recap of ``year`` counts: agreements signed and after, and that year's final evaluations."""
    agreements = list(db["agreements"].find({"status": {"$in": list(PUBLIC_STATUSES)}},
                                            {"activities": 0, "partner_names": 0}))
    evaluations = list(db["evaluations"].find({"year": year, "status": EvaluationStatus.FINALIZED}))
    return agreements, evaluations
