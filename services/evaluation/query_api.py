"""HTTP routes of the read models: partners, the agreements and evaluations registers, statistics,
portfolios and the activity feed.

Routes parse the query, ask ``queries`` (filters, paging, sorting and who sees what live there) and
shape the documents into answers; they build no Mongo filter themselves. The evaluation commands'
routes are ``monev_api``, the exports' ``export_api``.

Every route answers through ``answer``: with an ``ETag``, ``304 Not Modified`` to a matching
``If-None-Match``, and from the per-process cache of answers while the read models it reads are
unchanged (``read_cache``).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from shared.auth import current_actor
from shared.http import Problem
from shared.personal_data import public_agreement, public_partner

from services.evaluation import queries
from services.evaluation.bootstrap import current
from services.evaluation.projections.agreement_rows import ROWS
from services.evaluation.projections.statistics import StatisticsProjection
from services.evaluation.queries import Page
from services.evaluation.read_cache import AnswerCache, Positions, etag_of, normalised
from services.evaluation.read_model_pointer import CONSUMER
from services.evaluation.schemas import (
    AgreementItem, AgreementListQuery, AgreementPage, EvaluationListQuery, EvaluationPage, PageQuery, PartnerListQuery,
    PartnerPage,
)

blp = Blueprint("read_partners", __name__, url_prefix="/api/v1/partners",
                description="Partners read model (for dashboards and other systems)")


def answer(route: str, reads: tuple[str, ...], args: Mapping[str, Any],
           compute: Callable[[Any, date, Any], dict]) -> Response:
    """The JSON answer ``compute(db, today, actor)`` of ``route`` for ``args``, revalidated and cached
    by what it depends on: the caller's scope, the live generation, the checkpoint counters of the
    collections in ``reads``, today (see ``read_cache``)."""
    container, actor = current(), current_actor()
    pointer = container.read_model.pointer()
    db = container.client[pointer["database"]]
    on = container.today()
    # The position is read before the data (shared/checkpoint.py).
    positions: Positions = current_app.extensions.setdefault("jalin.read_positions", Positions(CONSUMER))
    key = (route, normalised(args), queries.scope_of(actor), pointer["generation"], pointer["database"],
           positions.of(db, reads), on.isoformat())
    etag = etag_of(key)
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        cache: AnswerCache = current_app.extensions.setdefault("jalin.read_answers", AnswerCache())
        response = Response(cache.get(key, lambda: jsonify(compute(db, on, actor)).get_data()),
                            mimetype="application/json")
    response.set_etag(etag)
    # Revalidate every time (the answer changes with the read model), per caller (its scope).
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Authorization")
    return response


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
        def compute(db, _on, actor):
            public = queries.is_public(actor)
            return page_answer(queries.partners_page(db, args, actor), lambda d: partner_item(d, public))
        return answer("partners", ("partners",), args, compute)


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
    if "activities" in doc:  # the full document; a register row (a list item) has no work plan
        item["activities"] = [{"activity_id": aid, **a} for aid, a in doc["activities"].items()]
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
        def compute(db, on, actor):
            page = queries.register_page(db, args, on, actor)
            public = queries.is_public(actor)
            return {**page_answer(page, lambda d: agreement_item(d, on, public)), "as_of": on.isoformat()}
        return answer("agreements", (ROWS,), args, compute)


@agreements_blp.route("/<agreement_id>")
class AgreementView(MethodView):
    @agreements_blp.response(200, AgreementItem)
    def get(self, agreement_id):
        """One agreement of the register (read model; the write side has the full history)."""
        def compute(db, on, actor):
            doc = queries.agreement(db, agreement_id, actor)
            if doc is None:
                raise Problem(404, "Not Found", f"{agreement_id} is not in the register", rule="not_found")
            return agreement_item(doc, on, queries.is_public(actor))
        return answer("agreement", ("agreements",), {"id": agreement_id}, compute)


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
        def compute(db, on, actor):
            page = queries.evaluations_page(db, args, on, actor)
            return {**page_answer(page, lambda d: evaluation_item(d, on)), "as_of": on.isoformat()}
        return answer("evaluations", ("evaluations",), args, compute)


# ---------------------------------------------------------------- statistics, portfolios, feed

# What the statistics routes read: the documents one statistics refresh writes.
STATISTICS = StatisticsProjection.collections

stats_blp = Blueprint("statistics", __name__, url_prefix="/api/v1",
                      description="Dashboard statistics, portfolios and the activity feed")


@stats_blp.route("/stats/overview")
@stats_blp.doc(summary="Headline numbers and chart data for the dashboard (precomputed + today's counts); "
                        "publik gets the same figures over signed agreements only")
def overview():
    def compute(db, on, actor):
        doc = queries.overview(db, actor)
        calendar = doc.pop("calendar", {})
        return {**doc, "today": queries.live_counts(calendar, on), "as_of": on.isoformat()}
    return answer("overview", STATISTICS, {}, compute)


def portfolio_routes(kind: str):
    """``GET /portfolios/<kind>`` and ``/portfolios/<kind>/<key>`` (``publik``: portfolios of signed agreements)."""

    @stats_blp.route(f"/portfolios/{kind}", endpoint=f"portfolios_{kind}")
    @stats_blp.doc(summary=f"Portfolios per {kind[:-1]}: agreements, categories, average score and progress")
    def listing():
        def compute(db, _on, actor):
            items = [{"id": d["_id"], "name": queries.portfolio_name(d, d.pop("_id")), **d}
                     for d in queries.portfolios(db, kind, actor)]
            return {"items": items, "total": len(items)}
        return answer(f"portfolios/{kind}", STATISTICS, {}, compute)

    @stats_blp.route(f"/portfolios/{kind}/<key>", endpoint=f"portfolio_{kind}")
    def single(key):
        def compute(db, _on, actor):
            doc = queries.portfolio(db, kind, key, actor)
            if doc is None:
                raise Problem(404, "Not Found", f"no portfolio for {key}", rule="not_found")
            doc.pop("_id")
            return {"id": key, "name": queries.portfolio_name(doc, key), **doc}
        return answer(f"portfolio/{kind}", STATISTICS, {"key": key}, compute)


portfolio_routes("partners")
portfolio_routes("opds")


class FeedQuery(PageQuery):
    subject = fields.String(metadata={"description": "a stream id: an agreement (with its evaluations), "
                                                     "a partner or an evaluation"})


@stats_blp.route("/feed")
@stats_blp.arguments(FeedQuery, location="query")
@stats_blp.doc(summary="The activity feed, newest first; ?subject= gives an agreement's timeline")
def feed(args):
    def compute(db, _on, _actor):
        page = queries.feed_page(db, args.get("subject"), args["page"], args["per_page"])
        return page_answer(page, lambda d: {"event_id": d.pop("_id"), **d})
    return answer("feed", ("feed",), args, compute)


BLUEPRINTS = [blp, agreements_blp, evaluations_blp, stats_blp]
