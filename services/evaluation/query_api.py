"""HTTP routes of the read models: partners, the agreements and evaluations registers, statistics,
portfolios and the activity feed.

Routes parse the query, ask ``queries`` (filters, paging, sorting and who sees what live there) and
shape the documents into answers; they build no Mongo filter themselves. The evaluation commands'
routes are ``monev_api``, the exports' ``export_api``.
"""
from __future__ import annotations

from datetime import date

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from shared.auth import current_actor
from shared.http import Problem
from shared.personal_data import public_agreement, public_partner

from services.evaluation import queries
from services.evaluation.bootstrap import current
from services.evaluation.queries import Page
from services.evaluation.schemas import (
    AgreementItem, AgreementListQuery, AgreementPage, EvaluationListQuery, EvaluationPage, PageQuery, PartnerListQuery,
    PartnerPage,
)

blp = Blueprint("read_partners", __name__, url_prefix="/api/v1/partners",
                description="Partners read model (for dashboards and other systems)")


def page_answer(page: Page, shape) -> dict:
    return {"items": [shape(d) for d in page.docs], "page": page.page, "per_page": page.per_page, "total": page.total}


def partner_item(doc: dict, public: bool) -> dict:
    """A partner of the read model; ``public``: the whitelisted view (shared/personal_data.py)."""
    item = {k: v for k, v in doc.items() if not k.startswith("_") and k != "name_lower"}
    item["id"] = doc["_id"]
    return public_partner(item) if public else item


@blp.route("")
class PartnerList(MethodView):
    @blp.arguments(PartnerListQuery, location="query")
    @blp.response(200, PartnerPage)
    def get(self, args):
        """List partners with filters (kind, status, scope, text in the name), sorting and pages."""
        actor = current_actor()
        public = queries.is_public(actor)
        return jsonify(page_answer(queries.partners_page(current().read_db(), args, actor),
                                   lambda d: partner_item(d, public)))


agreements_blp = Blueprint("read_agreements", __name__, url_prefix="/api/v1/agreements",
                           description="Agreements register read model (dashboards, other systems)")


def agreement_item(doc: dict, on: date, public: bool = False) -> dict:
    """A register entry; ``public``: the whitelisted view (shared/personal_data.py)."""
    item = {k: v for k, v in doc.items()
            if not k.startswith("_") and k not in ("partner_names", "partner_kind_of", "partner_subtype_of", "opds")}
    item["id"] = doc["_id"]
    item["partners"] = [{"id": pid, "name": (doc.get("partner_names") or {}).get(pid, pid),
                         "kind": (doc.get("partner_kind_of") or {}).get(pid),
                         "subtype": (doc.get("partner_subtype_of") or {}).get(pid)}
                        for pid in doc.get("partner_ids") or []]
    item["activities"] = [{"activity_id": aid, **a} for aid, a in (doc.get("activities") or {}).items()]
    item["days_to_end"] = queries.days_to_end(doc, on)
    item["expiring_within_90_days"] = queries.expiring_within(doc, on, 90)
    item["report_overdue"] = queries.report_overdue(doc, on)
    item["parent_changed"] = bool(doc.get("parent_changed"))  # absent until a change of its KB is recorded
    return public_agreement(item) if public else item


@agreements_blp.route("")
class AgreementList(MethodView):
    @agreements_blp.arguments(AgreementListQuery, location="query")
    @agreements_blp.response(200, AgreementPage)
    def get(self, args):
        """The register: filters, text search, sorting, pages; flags computed for today (Asia/Jakarta)."""
        on, actor = current().today(), current_actor()
        page = queries.register_page(current().read_db(), args, on, actor)
        public = queries.is_public(actor)
        return jsonify({**page_answer(page, lambda d: agreement_item(d, on, public)), "as_of": on.isoformat()})


@agreements_blp.route("/<agreement_id>")
class AgreementView(MethodView):
    @agreements_blp.response(200, AgreementItem)
    def get(self, agreement_id):
        """One agreement of the register (read model; the write side has the full history)."""
        actor = current_actor()
        doc = queries.agreement(current().read_db(), agreement_id, actor)
        if doc is None:
            raise Problem(404, "Not Found", f"{agreement_id} is not in the register", rule="not_found")
        return jsonify(agreement_item(doc, current().today(), queries.is_public(actor)))


# ---------------------------------------------------------------- evaluations register

evaluations_blp = Blueprint("read_evaluations", __name__, url_prefix="/api/v1/evaluations",
                            description="Evaluations read model: lists, due and overdue")


def evaluation_item(doc: dict, on: date) -> dict:
    item = {k: v for k, v in doc.items() if not k.startswith("_")}
    item["id"] = doc["_id"]
    item["overdue"] = queries.evaluation_overdue(doc, on)
    return item


@evaluations_blp.route("")
class EvaluationList(MethodView):
    @evaluations_blp.arguments(EvaluationListQuery, location="query")
    @evaluations_blp.response(200, EvaluationPage)
    def get(self, args):
        """Evaluations with filters; ``due=overdue`` lists those past due and not finalized."""
        on = current().today()
        page = queries.evaluations_page(current().read_db(), args, on, current_actor())
        return jsonify({**page_answer(page, lambda d: evaluation_item(d, on)), "as_of": on.isoformat()})


# ---------------------------------------------------------------- statistics, portfolios, feed

stats_blp = Blueprint("statistics", __name__, url_prefix="/api/v1",
                      description="Dashboard statistics, portfolios and the activity feed")


@stats_blp.route("/stats/overview")
@stats_blp.doc(summary="Headline numbers and chart data for the dashboard (precomputed + today's counts); "
                        "publik gets the same figures over signed agreements only")
def overview():
    on = current().today()
    doc = queries.overview(current().read_db(), current_actor())
    calendar = doc.pop("calendar", {})
    return jsonify({**doc, "today": queries.live_counts(calendar, on), "as_of": on.isoformat()})


def portfolio_routes(kind: str):
    """``GET /portfolios/<kind>`` and ``/portfolios/<kind>/<key>`` (``publik``: portfolios of signed agreements)."""

    @stats_blp.route(f"/portfolios/{kind}", endpoint=f"portfolios_{kind}")
    @stats_blp.doc(summary=f"Portfolios per {kind[:-1]}: agreements, categories, average score and progress")
    def listing():
        db = current().read_db()
        actor = current_actor()
        items = [{"id": d["_id"], "name": queries.portfolio_name(db, kind, d.pop("_id"), actor), **d}
                 for d in queries.portfolios(db, kind, actor)]
        return jsonify({"items": items, "total": len(items)})

    @stats_blp.route(f"/portfolios/{kind}/<key>", endpoint=f"portfolio_{kind}")
    def single(key):
        db = current().read_db()
        actor = current_actor()
        doc = queries.portfolio(db, kind, key, actor)
        if doc is None:
            raise Problem(404, "Not Found", f"no portfolio for {key}", rule="not_found")
        doc.pop("_id")
        return jsonify({"id": key, "name": queries.portfolio_name(db, kind, key, actor), **doc})


portfolio_routes("partners")
portfolio_routes("opds")


class FeedQuery(PageQuery):
    subject = fields.String(metadata={"description": "a stream id: an agreement (with its evaluations), "
                                                     "a partner or an evaluation"})


@stats_blp.route("/feed")
@stats_blp.arguments(FeedQuery, location="query")
@stats_blp.doc(summary="The activity feed, newest first; ?subject= gives an agreement's timeline")
def feed(args):
    page = queries.feed_page(current().read_db(), args.get("subject"), args["page"], args["per_page"])
    return jsonify(page_answer(page, lambda d: {"event_id": d.pop("_id"), **d}))


BLUEPRINTS = [blp, agreements_blp, evaluations_blp, stats_blp]
