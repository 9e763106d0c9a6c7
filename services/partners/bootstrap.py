"""Composition root of the partners service: the one place that builds its adapters from settings.

The API (``services.partners.app``) and the relay worker (``services.partners.workers``) both
start from ``build(settings)``; views reach the container through ``current()``.
"""
from __future__ import annotations

from dataclasses import dataclass

from pymongo import MongoClient
from pymongo.database import Database

from shared.application import Clock, Repository, clock_from_settings
from shared.config import Settings
from shared.http import current_container
from shared.mongo import make_client
from shared.mongo_eventstore import MongoEventStore
from shared.uniqueness import MongoUniqueKeys

from services.partners.domain import Partner
from services.partners.handlers import PartnerHandlers

SERVICE = "partners"


@dataclass
class Container:
    """Everything the partners service's API and workers use, built once per process."""

    settings: Settings
    client: MongoClient
    clock: Clock
    store: MongoEventStore
    handlers: PartnerHandlers

    @property
    def db(self) -> Database:
        """The service's own database (event store, uniqueness keys, idempotency keys)."""
        return self.client[self.settings.database(SERVICE)]


def build(settings: Settings) -> Container:
    client = make_client(settings)
    db = client[settings.database(SERVICE)]
    clock = clock_from_settings(settings)
    store = MongoEventStore(db)
    handlers = PartnerHandlers(Repository(store, Partner, clock), MongoUniqueKeys(db))
    return Container(settings, client, clock, store, handlers)


def current() -> Container:
    """The container of the app serving this request (the views' typed accessor)."""
    return current_container(Container)
