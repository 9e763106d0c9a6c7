"""The common shape of a write service's API: conventions, readiness, idempotency, stream API."""
from __future__ import annotations

from typing import Any, Iterable

from pymongo import MongoClient

from shared.config import Settings
from shared.http import create_service_app
from shared.idempotency import MongoIdempotencyStore
from shared.kafka import kafka_reachable
from shared.mongo_eventstore import MongoEventStore
from shared.policy import Policy
from shared.streams import streams_blueprint


def create_write_service_app(name: str, settings: Settings, client: MongoClient, store: MongoEventStore,
                             aggregate_cls, *, title: str, description: str, blueprints: Iterable,
                             container: Any, policy: Policy):
    """A Flask app for service ``name``: every HTTP convention, ``/readyz`` checking MongoDB and Kafka,
    Idempotency-Key storage in the service's database, the stream API (with state as of a point,
    folded by ``aggregate_cls``), then ``blueprints``; ``policy`` decides every operation. Views reach ``container`` (the service's
    composition root) through the service's typed accessor (``bootstrap.current()``)."""
    store.ensure_indexes()
    app, api = create_service_app(
        name, settings, title=title, description=f"{description} Publishes to {settings.topic(name)}.",
        readiness={"mongodb": lambda: client.admin.command("ping"), "kafka": lambda: kafka_reachable(settings)},
        idempotency=MongoIdempotencyStore(client[settings.database(name)]), policy=policy)
    app.extensions["jalin"].container = container
    for blueprint in [*blueprints, streams_blueprint(lambda: store, aggregate_cls)]:
        api.register_blueprint(blueprint)
    return app
