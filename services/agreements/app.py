"""The agreements API as a WSGI app (gunicorn: ``services.agreements.app:create_app()``)."""
from __future__ import annotations

from typing import Any, Mapping

from shared.config import Settings
from shared.deadletters import deadletters_blueprint
from shared.service import create_write_service_app
from shared.vocabularies.api import vocabularies_blueprint

from services.agreements.api import blp
from services.agreements.bootstrap import SERVICE, build
from services.agreements.policy import build_policy
from services.agreements.domain import Agreement
from services.agreements.upcasters import UPCASTERS


def create_app(config: Mapping[str, Any] | None = None):
    """The agreements API, composed from ``build(settings)``."""
    c = build(Settings.from_env(config))
    return create_write_service_app(
        SERVICE, c.settings, c.client, c.store, Agreement, title="Jalin Agreements API",
        description="Agreements from draft KB/MoU to PKS, work plans, reports, expiry.",
        blueprints=[blp, vocabularies_blueprint(lambda: c.vocabularies), deadletters_blueprint(lambda: c.db)], container=c,
        policy=build_policy(c), upcasters=UPCASTERS)
