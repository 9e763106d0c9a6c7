"""Composition root of the agreements service: the one place that builds its adapters from settings.

The API (``services.agreements.app``) and every worker (``services.agreements.workers``) start
from ``build(settings)``; views reach the container through ``current()``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pymongo import MongoClient
from pymongo.database import Database

from shared.application import Clock, Repository, clock_from_settings
from shared.config import Settings
from shared.http import current_container
from shared.mongo import make_client
from shared.mongo_eventstore import MongoEventStore

from services.agreements.domain import Agreement
from services.agreements.files import GridFSAttachmentStore
from services.agreements.handlers import AgreementHandlers
from services.agreements.partner_replica import ReplicaPartnerDirectory

SERVICE = "agreements"


@dataclass
class Container:
    """Everything the agreements service's API and workers use, built once per process."""

    settings: Settings
    client: MongoClient
    clock: Clock
    store: MongoEventStore
    handlers: AgreementHandlers

    @property
    def db(self) -> Database:
        """The service's own database (event store, GridFS files, partner replica, idempotency keys)."""
        return self.client[self.settings.database(SERVICE)]


def build(settings: Settings) -> Container:
    client = make_client(settings)
    db = client[settings.database(SERVICE)]
    clock = clock_from_settings(settings)
    store = MongoEventStore(db)
    handlers = AgreementHandlers(Repository(store, Agreement, clock), ReplicaPartnerDirectory(db),
                                 GridFSAttachmentStore(db, settings.max_upload_bytes), clock, settings.timezone,
                                 upload_ttl=timedelta(hours=settings.upload_ttl_hours),
                                 max_pending_uploads=settings.max_pending_uploads)
    return Container(settings, client, clock, store, handlers)


def current() -> Container:
    """The container of the app serving this request (the views' typed accessor)."""
    return current_container(Container)
