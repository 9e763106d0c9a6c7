"""Composition root of the evaluation service (read side + evaluations)."""
from __future__ import annotations

from typing import Any, Mapping

from shared.config import Settings
from shared.mongo import make_client

SERVICE = "evaluation"
SOURCE_SERVICES = ("partners", "agreements", "evaluation")


def projections():
    """Every projection the evaluation projector maintains."""
    from services.evaluation.projections.agreements import AgreementsProjection
    from services.evaluation.projections.partners import PartnersProjection

    return [PartnersProjection(), AgreementsProjection()]


def create_app(config: Mapping[str, Any] | None = None):
    """The evaluation API (gunicorn: ``services.evaluation:create_app()``)."""
    from shared.http import create_service_app
    from shared.kafka import kafka_reachable

    from zoneinfo import ZoneInfo

    from shared.application import clock_from_settings

    from services.evaluation.api import agreements_blp, blp

    settings = Settings.from_env(config)
    client = make_client(settings)
    db = client[settings.database(SERVICE)]
    app, api = create_service_app(
        SERVICE, settings, title="Jalin Evaluation API",
        description="Read models for dashboards, monitoring and audit; evaluations (monev).",
        readiness={"mongodb": lambda: client.admin.command("ping"), "kafka": lambda: kafka_reachable(settings)})
    clock, tz = clock_from_settings(settings), ZoneInfo(settings.timezone)
    app.extensions["jalin"].services.update(read_db=lambda: db, client=client,
                                            today=lambda: clock.now().astimezone(tz).date())
    api.register_blueprint(blp)
    api.register_blueprint(agreements_blp)
    return app
