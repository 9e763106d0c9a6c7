"""Query APIs over the evaluation service's read models."""
from __future__ import annotations

import re
from datetime import date, timedelta

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.auth import current_actor, requires
from shared.http import Problem, ext

from services.evaluation.schemas import AgreementItem, AgreementListQuery, AgreementPage, PartnerListQuery, PartnerPage

blp = Blueprint("read_partners", __name__, url_prefix="/api/v1/partners",
                description="Partners read model (for dashboards and other systems)")

PERSONAL_FIELDS = ("contacts",)


def read_db():
    return ext().services["read_db"]()


def page_of(collection, query: dict, sort: list, page: int, per_page: int, shape) -> dict:
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
LIVE = ["SIGNED", "ACTIVE"]


def today():
    return ext().services["today"]()


def agreement_item(doc: dict, on) -> dict:
    item = {k: v for k, v in doc.items() if not k.startswith("_") and k not in ("partner_names", "opds")}
    item["id"] = doc["_id"]
    item["partners"] = [{"id": pid, "name": (doc.get("partner_names") or {}).get(pid, pid)}
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


@agreements_blp.route("")
class AgreementList(MethodView):
    @agreements_blp.arguments(AgreementListQuery, location="query")
    @agreements_blp.response(200, AgreementPage)
    @requires()
    def get(self, args):
        """The register: filters, text search, sorting, pages; flags computed for today (Asia/Jakarta)."""
        on = today()
        query: dict = {}
        if args.get("status"):
            query["status"] = {"$in": args["status"]}
        for name in ("category", "document_kind", "year", "scope"):
            if args.get(name) is not None:
                query[name] = args[name]
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
        query = scope_for(current_actor(), query)
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
        doc = read_db()["agreements"].find_one(query)
        if doc is None:
            raise Problem(404, "Not Found", f"{agreement_id} is not in the register", rule="not_found")
        return jsonify(agreement_item(doc, today()))
