"""Query APIs over the evaluation service's read models."""
from __future__ import annotations

import re
from datetime import date, timedelta

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.auth import current_actor, requires
from shared.http import Problem
from shared.readmodel import FILLED

from marshmallow import fields

from services.evaluation.bootstrap import current
from services.evaluation.projections.statistics import (
    LIVE, OPD_PORTFOLIOS, OPEN_EVALUATION, OVERVIEW, PARTNER_PORTFOLIOS, PUBLIC_OPD_PORTFOLIOS, PUBLIC_OVERVIEW,
    PUBLIC_PARTNER_PORTFOLIOS, STATISTICS)
from services.evaluation.schemas import (
    AgreementItem, AgreementListQuery, AgreementPage, EvaluationListQuery, EvaluationPage, PageQuery, PartnerListQuery,
    PartnerPage,
)

blp = Blueprint("read_partners", __name__, url_prefix="/api/v1/partners",
                description="Partners read model (for dashboards and other systems)")

PERSONAL_FIELDS = ("contacts",)


def read_db():
    return current().read_db()


def page_of(collection, query: dict, sort: list, page: int, per_page: int, shape) -> dict:
    query = {**query, **FILLED}
    total = collection.count_documents(query)
    cursor = collection.find(query).sort(sort).skip((page - 1) * per_page).limit(per_page)
    return {"items": [shape(d) for d in cursor], "page": page, "per_page": per_page, "total": total}


def partner_item(doc: dict, personal: bool) -> dict:
    item = {k: v for k, v in doc.items() if not k.startswith("_") and k != "name_lower"}
    item["id"] = doc["_id"]
    if not personal:
        for name in PERSONAL_FIELDS:
            item.pop(name, None)
    return item


@blp.route("")
class PartnerList(MethodView):
    @blp.arguments(PartnerListQuery, location="query")
    @blp.response(200, PartnerPage)
    @requires()
    def get(self, args):
        """List partners with filters (kind, status, scope, text in the name), sorting and pages."""
        query: dict = {}
        for name in ("kind", "status"):
            if args.get(name):
                query[name] = args[name]
        if args.get("scope"):
            query["cooperation_scope"] = args["scope"]
        if args.get("q"):
            query["name_lower"] = {"$regex": re.escape(args["q"].lower())}
        field = args["sort"].lstrip("-")
        direction = -1 if args["sort"].startswith("-") else 1
        sort = [("name_lower" if field == "name" else field, direction), ("_id", 1)]
        personal = current_actor().role != "publik"
        return jsonify(page_of(read_db()["partners"], query, sort, args["page"], args["per_page"],
                               lambda d: partner_item(d, personal)))


agreements_blp = Blueprint("read_agreements", __name__, url_prefix="/api/v1/agreements",
                           description="Agreements register read model (dashboards, other systems)")

PUBLIC_STATUSES = ["SIGNED", "ACTIVE", "EXPIRED", "TERMINATED"]


def today():
    return current().today()


def agreement_item(doc: dict, on) -> dict:
    item = {k: v for k, v in doc.items()
            if not k.startswith("_") and k not in ("partner_names", "partner_kind_of", "opds")}
    item["id"] = doc["_id"]
    item["partners"] = [{"id": pid, "name": (doc.get("partner_names") or {}).get(pid, pid),
                         "kind": (doc.get("partner_kind_of") or {}).get(pid)}
                        for pid in doc.get("partner_ids") or []]
    item["activities"] = [{"activity_id": aid, **a} for aid, a in (doc.get("activities") or {}).items()]
    live = doc.get("status") in LIVE
    days = (date.fromisoformat(doc["end_date"]) - on).days if doc.get("end_date") else None
    item["days_to_end"] = days if live else None
    item["expiring_within_90_days"] = bool(live and days is not None and 0 <= days <= 90)
    item["report_overdue"] = bool(doc.get("status") == "ACTIVE" and doc.get("report_due_by")
                                  and doc["report_due_by"] < on.isoformat())
    return item


def scope_for(actor, query: dict) -> dict:
    """OPD officers see their OPD's agreements; the public sees signed ones."""
    if actor.role == "opd":
        query["opds"] = actor.opd
    if actor.role == "publik":
        query.setdefault("status", {"$in": PUBLIC_STATUSES})
        if isinstance(query["status"], dict):
            query["status"] = {"$in": [s for s in query["status"]["$in"] if s in PUBLIC_STATUSES]}
        elif query["status"] not in PUBLIC_STATUSES:
            query["status"] = {"$in": []}
    return query


def register_query(args, on: date, actor) -> dict:
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
        query["status"] = "ACTIVE"
        query["report_due_by"] = {"$lt": on.isoformat()}
    return scope_for(actor, query)


@agreements_blp.route("")
class AgreementList(MethodView):
    @agreements_blp.arguments(AgreementListQuery, location="query")
    @agreements_blp.response(200, AgreementPage)
    @requires()
    def get(self, args):
        """The register: filters, text search, sorting, pages; flags computed for today (Asia/Jakarta)."""
        on = today()
        query = register_query(args, on, current_actor())
        field = args["sort"].lstrip("-")
        sort = [(field, -1 if args["sort"].startswith("-") else 1), ("_id", 1)]
        page = page_of(read_db()["agreements"], query, sort, args["page"], args["per_page"],
                       lambda d: agreement_item(d, on))
        return jsonify({**page, "as_of": on.isoformat()})


@agreements_blp.route("/<agreement_id>")
class AgreementView(MethodView):
    @agreements_blp.response(200, AgreementItem)
    @requires()
    def get(self, agreement_id):
        """One agreement of the register (read model; the write side has the full history)."""
        query = scope_for(current_actor(), {"_id": agreement_id})
        doc = read_db()["agreements"].find_one({**query, **FILLED})
        if doc is None:
            raise Problem(404, "Not Found", f"{agreement_id} is not in the register", rule="not_found")
        return jsonify(agreement_item(doc, today()))


# ---------------------------------------------------------------- evaluations register

evaluations_blp = Blueprint("read_evaluations", __name__, url_prefix="/api/v1/evaluations",
                            description="Evaluations read model: lists, due and overdue")


def evaluation_item(doc: dict, on) -> dict:
    item = {k: v for k, v in doc.items() if not k.startswith("_")}
    item["id"] = doc["_id"]
    item["overdue"] = bool(doc.get("status") in OPEN_EVALUATION and doc.get("due_date", "9999") < on.isoformat())
    return item


def evaluation_query(args, on: date, actor) -> dict:
    """The filters of GET /api/v1/evaluations (and its exports); OPD officers see their OPD's."""
    query: dict = {}
    if args.get("status"):
        query["status"] = {"$in": args["status"]}
    for name, field in (("agreement", "agreement_id"), ("opd", "lead_opd"), ("year", "year"), ("period", "period")):
        if args.get(name) is not None:
            query[field] = args[name]
    if args.get("due") == "overdue":
        query["status"] = {"$in": OPEN_EVALUATION}
        query["due_date"] = {"$lt": on.isoformat()}
    elif args.get("due") == "upcoming":
        query["status"] = {"$in": OPEN_EVALUATION}
        query["due_date"] = {"$gte": on.isoformat(), "$lte": (on + timedelta(days=args["within"])).isoformat()}
    if actor.role == "opd":
        query["lead_opd"] = actor.opd
    return query


@evaluations_blp.route("")
class EvaluationList(MethodView):
    @evaluations_blp.arguments(EvaluationListQuery, location="query")
    @evaluations_blp.response(200, EvaluationPage)
    @requires("kerjasama", "tkksd", "pimpinan", "opd", "auditor", "service")
    def get(self, args):
        """Evaluations with filters; ``due=overdue`` lists those past due and not finalized."""
        on = today()
        query = evaluation_query(args, on, current_actor())
        field = args["sort"].lstrip("-")
        sort = [(field, -1 if args["sort"].startswith("-") else 1), ("_id", 1)]
        return jsonify({**page_of(read_db()["evaluations"], query, sort, args["page"], args["per_page"],
                                  lambda d: evaluation_item(d, on)), "as_of": on.isoformat()})


# ---------------------------------------------------------------- statistics, portfolios, feed

stats_blp = Blueprint("statistics", __name__, url_prefix="/api/v1",
                      description="Dashboard statistics, portfolios and the activity feed")


def live_counts(calendar: dict, on) -> dict:
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


@stats_blp.route("/stats/overview")
@stats_blp.doc(summary="Headline numbers and chart data for the dashboard (precomputed + today's counts); "
                        "publik gets the same figures over signed agreements only")
@requires()
def overview():
    db, on = read_db(), today()
    view = PUBLIC_OVERVIEW if current_actor().role == "publik" else OVERVIEW
    doc = db[STATISTICS].find_one({"_id": view}) or {"agreements": {"total": 0}, "evaluations": {"total": 0},
                                                    "partners": {"total": 0}}
    doc.pop("_id", None)
    calendar = doc.pop("calendar", {})
    return jsonify({**doc, "today": live_counts(calendar, on), "as_of": on.isoformat()})


def portfolio_routes(kind: str, collections: tuple[str, str], label):
    """``collections``: (internal, public) — ``publik`` sees portfolios of signed agreements only."""
    def collection() -> str:
        return collections[current_actor().role == "publik"]

    @stats_blp.route(f"/portfolios/{kind}", endpoint=f"portfolios_{kind}")
    @stats_blp.doc(summary=f"Portfolios per {kind[:-1]}: agreements, categories, average score and progress")
    @requires()
    def listing():
        db = read_db()
        items = [{"id": d["_id"], "name": label(db, d.pop("_id")), **d} for d in db[collection()].find().sort("_id", 1)]
        return jsonify({"items": items, "total": len(items)})

    @stats_blp.route(f"/portfolios/{kind}/<key>", endpoint=f"portfolio_{kind}")
    @requires()
    def single(key):
        db = read_db()
        doc = db[collection()].find_one({"_id": key})
        if doc is None:
            raise Problem(404, "Not Found", f"no portfolio for {key}", rule="not_found")
        doc.pop("_id")
        return jsonify({"id": key, "name": label(db, key), **doc})


portfolio_routes("partners", (PARTNER_PORTFOLIOS, PUBLIC_PARTNER_PORTFOLIOS),
                 lambda db, key: (db["partners"].find_one({"_id": key}, {"name": 1}) or {}).get("name", key))
portfolio_routes("opds", (OPD_PORTFOLIOS, PUBLIC_OPD_PORTFOLIOS), lambda db, key: key)


class FeedQuery(PageQuery):
    subject = fields.String(metadata={"description": "a stream id: an agreement (with its evaluations), "
                                                     "a partner or an evaluation"})


@stats_blp.route("/feed")
@stats_blp.arguments(FeedQuery, location="query")
@stats_blp.doc(summary="The activity feed, newest first; ?subject= gives an agreement's timeline")
@requires("kerjasama", "tkksd", "pimpinan", "opd", "auditor", "service")
def feed(args):
    query = {"subject_ids": args["subject"]} if args.get("subject") else {}
    return jsonify(page_of(read_db()["feed"], query, [("occurred_at", -1), ("_id", 1)], args["page"],
                           args["per_page"], lambda d: {"event_id": d.pop("_id"), **d}))


from services.evaluation.exports import blp as exports_blp  # noqa: E402  (it imports this module lazily)
BLUEPRINTS = [blp, agreements_blp, evaluations_blp, stats_blp, exports_blp]
