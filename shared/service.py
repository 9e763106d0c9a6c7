"""The common shape of a write service: its composition root's core and its API (conventions,
readiness, idempotency, stream API)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable

from pymongo import MongoClient
from pymongo.database import Database

from shared.application import Clock, clock_from_settings
from shared.mongo import event_store_database, make_client

from shared.config import Settings
from shared.http import create_service_app
from shared.idempotency import MongoIdempotencyStore
from shared.kafka import kafka_reachable
from shared.mongo_eventstore import MongoEventStore
from shared.policy import Policy
from shared.relay import RelayWake
from shared.streams import streams_blueprint
from shared.upcasting import Upcasters


@dataclass
class ServiceContainer:
    """What every service's composition root (``services/<svc>/bootstrap.py``) holds; each service's
    ``Container`` adds its handlers and adapters. Built once per process by the service's ``build``."""

    service: ClassVar[str] = ""
    settings: Settings
    client: MongoClient
    clock: Clock
    store: MongoEventStore

    @property
    def db(self) -> Database:
        """The service's own database (event store, idempotency keys and the service's own state)."""
        return event_store_database(self.client, self.settings.database(self.service))

    @classmethod
    def core(cls, settings: Settings) -> tuple[Settings, MongoClient, Clock, MongoEventStore]:
        """The settings, client, clock and event store every service starts from."""
        client = make_client(settings)
        store = MongoEventStore(event_store_database(client, settings.database(cls.service)))
        if settings.relay_wake:  # the relay publishes a command's events at once, not at its next poll
            store.add_commit_listener(RelayWake(settings.relay_wake, cls.service).notify)
        return settings, client, clock_from_settings(settings), store


def create_write_service_app(name: str, settings: Settings, client: MongoClient, store: MongoEventStore,
                             aggregate_cls, *, title: str, description: str, blueprints: Iterable,
                             container: Any, policy: Policy, upcasters: Upcasters | None = None):
    """A Flask app for service ``name``: every HTTP convention, ``/readyz`` checking its MongoDB (Kafka is
    reported in ``/healthz`` and ``jalin_dependency_up``, never a readiness condition: commands succeed
    while Kafka is down, the outbox keeps their events),
    Idempotency-Key storage in the service's database, the stream API (with state as of a point,
    folded by ``aggregate_cls``), then ``blueprints``; ``policy`` decides every operation. Views reach ``container`` (the service's
    composition root) through the service's typed accessor (``bootstrap.current()``); ``upcasters`` lift
    old event shapes before the stream API folds them."""
    store.ensure_indexes()
    app, api = create_service_app(
        name, settings, title=title, description=f"{description} Publishes to {settings.topic(name)}.",
        readiness={"mongodb": lambda: client.admin.command("ping")},
        reported={"kafka": lambda: kafka_reachable(settings, timeout=0.5)},
        idempotency=MongoIdempotencyStore(client[settings.database(name)], store), policy=policy)
    app.extensions["jalin"].container = container
    for blueprint in [*blueprints, streams_blueprint(lambda: store, aggregate_cls, upcasters)]:
        api.register_blueprint(blueprint)
    return app
