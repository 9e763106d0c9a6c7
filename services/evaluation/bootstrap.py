"""Composition root of the evaluation service (read side + evaluations).

Two kinds of database: ``<prefix>_evaluation`` holds the service's own event store (evaluations)
and operational state; the live read-model database (named by the pointer in ``readside.py``)
holds the disposable read models the projector builds from all three topics (a rebuild replays
into a fresh one and switches the pointer).
"""
from __future__ import annotations

from typing import Any, Mapping
from zoneinfo import ZoneInfo

from shared.application import Repository, clock_from_settings
from shared.config import Settings
from shared.mongo import make_client
from shared.mongo_eventstore import MongoEventStore

SERVICE = "evaluation"
SOURCE_SERVICES = ("partners", "agreements", "evaluation")


def projections():
    """Every projection the evaluation projector maintains."""
    from services.evaluation.projections.agreements import AgreementsProjection
    from services.evaluation.projections.evaluations import EvaluationsProjection, FeedProjection
    from services.evaluation.projections.partners import PartnersProjection
    from services.evaluation.projections.statistics import StatisticsProjection

    return [PartnersProjection(), AgreementsProjection(), EvaluationsProjection(), FeedProjection(),
            StatisticsProjection()]


def create_app(config: Mapping[str, Any] | None = None):
    """The evaluation API (gunicorn: ``services.evaluation:create_app()``)."""
    from shared.deadletters import deadletters_blueprint
    from shared.service import create_write_service_app

    from services.evaluation import api, audit, monev_api
    from services.evaluation.dashboard import dashboard_blueprint
    from services.evaluation.domain import Evaluation
    from services.evaluation.handlers import EvaluationHandlers
    from services.evaluation.readside import ReadSide
    from services.evaluation.rubrics import RubricCatalog

    settings = Settings.from_env(config)
    client = make_client(settings)
    readside = ReadSide(client, settings)
    store = MongoEventStore(client[settings.database(SERVICE)])
    clock, tz = clock_from_settings(settings), ZoneInfo(settings.timezone)
    handlers = EvaluationHandlers(Repository(store, Evaluation, clock), RubricCatalog.load(settings.rubric_dir),
                                  readside, clock, settings.timezone)
    app = create_write_service_app(
        SERVICE, settings, client, store, Evaluation, title="Jalin Evaluation API",
        description="Evaluations (monev), read models for dashboards and other systems, audit, exports.",
        blueprints=api.BLUEPRINTS + [monev_api.blp, audit.blp, deadletters_blueprint(readside.db)],
        services={"read_db": readside.db, "readside": readside, "client": client, "evaluation_handlers": handlers,
                  "today": lambda: clock.now().astimezone(tz).date()})
    app.register_blueprint(dashboard_blueprint())
    return app
