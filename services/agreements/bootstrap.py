"""Composition root of the agreements service."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from pymongo import MongoClient

from shared.application import Repository, clock_from_settings
from shared.config import Settings
from shared.mongo import make_client
from shared.mongo_eventstore import MongoEventStore

from services.agreements.domain import Agreement
from services.agreements.files import AttachmentStore
from services.agreements.handlers import AgreementHandlers
from services.agreements.partner_replica import PartnerDirectory

SERVICE = "agreements"


@dataclass
class Container:
    settings: Settings
    client: MongoClient
    store: MongoEventStore
    handlers: AgreementHandlers

    @property
    def db(self):
        return self.client[self.settings.database(SERVICE)]


def build(settings: Settings) -> Container:
    client = make_client(settings)
    db = client[settings.database(SERVICE)]
    store = MongoEventStore(db)
    handlers = AgreementHandlers(Repository(store, Agreement, clock_from_settings(settings)), PartnerDirectory(db),
                                 AttachmentStore(db, settings.max_upload_bytes), clock_from_settings(settings),
                                 settings.timezone)
    return Container(settings, client, store, handlers)


def create_app(config: Mapping[str, Any] | None = None):
    """The agreements API (gunicorn: ``services.agreements:create_app()``)."""
    from shared.http import create_service_app
    from shared.idempotency import MongoIdempotencyStore
    from shared.kafka import kafka_reachable
    from shared.deadletters import deadletters_blueprint
    from shared.streams import streams_blueprint

    from services.agreements.api import blp

    c = build(Settings.from_env(config))
    c.store.ensure_indexes()
    app, api = create_service_app(
        SERVICE, c.settings, title="Jalin Agreements API",
        description="Agreements from draft KB/MoU to PKS, work plans, reports, expiry. Publishes to "
                    + c.settings.topic(SERVICE),
        readiness={"mongodb": lambda: c.client.admin.command("ping"),
                   "kafka": lambda: kafka_reachable(c.settings)},
        idempotency=MongoIdempotencyStore(c.db))
    app.extensions["jalin"].services.update(handlers=c.handlers, store=c.store, container=c)
    api.register_blueprint(blp)
    api.register_blueprint(streams_blueprint(lambda: c.store, Agreement))
    api.register_blueprint(deadletters_blueprint(lambda: c.db))
    return app
