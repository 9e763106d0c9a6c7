"""The evaluation API and dashboard as a WSGI app (gunicorn: ``services.evaluation.app:create_app()``)."""
from __future__ import annotations

from typing import Any, Mapping

from shared.config import Settings
from shared.deadletters import deadletters_blueprint
from shared.service import create_write_service_app
from shared.vocabularies.api import vocabularies_blueprint

from services.evaluation import audit, export_api, monev_api, query_api
from services.evaluation.bootstrap import SERVICE, build
from services.evaluation.dashboard import dashboard_blueprint
from services.evaluation.domain import Evaluation
from services.evaluation.policy import build_policy


def create_app(config: Mapping[str, Any] | None = None):
    """The evaluation API, composed from ``build(settings)``, plus the dashboard."""
    c = build(Settings.from_env(config))
    app = create_write_service_app(
        SERVICE, c.settings, c.client, c.store, Evaluation, title="Jalin Evaluation API",
        description="Evaluations (monev), read models for dashboards and other systems, audit, exports.",
        blueprints=query_api.BLUEPRINTS + [export_api.blp, monev_api.blp, audit.blp, deadletters_blueprint(c.read_db),
                                         vocabularies_blueprint(lambda: c.vocabularies)],
        container=c, policy=build_policy(c))
    app.register_blueprint(dashboard_blueprint())
    return app
