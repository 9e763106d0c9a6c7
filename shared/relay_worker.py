"""The outbox relay as a process of any write service."""
from __future__ import annotations

from pymongo.database import Database

from shared.config import Settings
from shared.kafka import KafkaPublisher, wait_for_topics
from shared.metrics import Metrics
from shared.mongo_eventstore import MongoEventStore
from shared.relay import MongoLease, OutboxRelay, RelayWake
from shared.worker import run_worker


def run_relay(service: str, settings: Settings, db: Database, store: MongoEventStore) -> None:
    """Publish ``service``'s event store (``store`` in ``db``, from the service's container) to its
    topic until SIGTERM."""
    metrics = Metrics()
    publisher = KafkaPublisher(settings)
    relay = OutboxRelay(store, publisher, settings.topic(service), MongoLease(db, f"relay:{service}"),
                        metrics, batch_size=settings.relay_batch)

    def body(stop):
        store.ensure_indexes()
        # Kafka may not be up yet: the relay waits, commands still succeed meanwhile.
        wake = RelayWake(settings.relay_wake, service).listen() if settings.relay_wake else None
        try:
            if wait_for_topics(settings, [settings.topic(service)], stop):
                relay.run(stop, idle_seconds=settings.relay_idle_seconds, wake=wake)
        finally:
            if wake is not None:
                wake.close()
        publisher.reset()

    run_worker(f"{service}-relay", settings, metrics, body)
