"""Composition root of the partners service: builds adapters from settings and wires them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from pymongo import MongoClient

from shared.application import Repository, clock_from_settings
from shared.config import Settings
from shared.mongo import make_client
from shared.mongo_eventstore import MongoEventStore
from shared.uniqueness import MongoUniqueKeys

from services.partners.domain import Partner
from services.partners.handlers import PartnerHandlers

SERVICE = "partners"


@dataclass
class Container:
    settings: Settings
    client: MongoClient
    store: MongoEventStore
    handlers: PartnerHandlers

    @property
    def db(self):
        return self.client[self.settings.database(SERVICE)]


def build(settings: Settings) -> Container:
    client = make_client(settings)
    db = client[settings.database(SERVICE)]
    store = MongoEventStore(db)
    handlers = PartnerHandlers(Repository(store, Partner, clock_from_settings(settings)), MongoUniqueKeys(db))
    return Container(settings, client, store, handlers)


def create_app(config: Mapping[str, Any] | None = None):
    """The partners API (gunicorn: ``services.partners:create_app()``)."""
    from shared.service import create_write_service_app

    from services.partners.api import blp

    c = build(Settings.from_env(config))
    return create_write_service_app(
        SERVICE, c.settings, c.client, c.store, Partner, title="Jalin Partners API",
        description="Registry of cooperation partners (Mitra).", blueprints=[blp],
        services={"handlers": c.handlers, "container": c})
