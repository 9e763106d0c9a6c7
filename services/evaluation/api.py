"""Query APIs over the evaluation service's read models."""
from __future__ import annotations

import re

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.auth import current_actor, requires
from shared.http import ext

from services.evaluation.schemas import PartnerListQuery, PartnerPage

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
