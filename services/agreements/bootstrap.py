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
    from shared.deadletters import deadletters_blueprint
    from shared.service import create_write_service_app

    from services.agreements.api import blp

    c = build(Settings.from_env(config))
    return create_write_service_app(
        SERVICE, c.settings, c.client, c.store, Agreement, title="Jalin Agreements API",
        description="Agreements from draft KB/MoU to PKS, work plans, reports, expiry.",
        blueprints=[blp, deadletters_blueprint(lambda: c.db)], services={"handlers": c.handlers, "container": c})
