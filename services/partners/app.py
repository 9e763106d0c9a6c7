"""The partners API as a WSGI app (gunicorn: ``services.partners.app:create_app()``)."""
from __future__ import annotations

from typing import Any, Mapping

from shared.config import Settings
from shared.service import create_write_service_app

from services.partners.api import blp
from services.partners.bootstrap import SERVICE, build
from services.partners.policy import build_policy
from services.partners.domain import Partner


def create_app(config: Mapping[str, Any] | None = None):
    """The partners API, composed from ``build(settings)``."""
    c = build(Settings.from_env(config))
    return create_write_service_app(
        SERVICE, c.settings, c.client, c.store, Partner, title="Jalin Partners API",
        description="Registry of cooperation partners (Mitra).", blueprints=[blp], container=c,
        policy=build_policy(c))
