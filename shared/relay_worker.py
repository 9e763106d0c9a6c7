"""The outbox relay as a process of any write service."""
from __future__ import annotations

from shared.config import Settings
from shared.kafka import KafkaPublisher, ensure_topics
from shared.metrics import Metrics
from shared.mongo import make_client
from shared.mongo_eventstore import MongoEventStore
from shared.relay import MongoLease, OutboxRelay
from shared.worker import run_worker


def run_relay(service: str, settings: Settings) -> None:
    """Publish ``service``'s event store to its topic until SIGTERM."""
    metrics = Metrics()
    db = make_client(settings)[settings.database(service)]
    store = MongoEventStore(db)
    publisher = KafkaPublisher(settings)
    relay = OutboxRelay(store, publisher, settings.topic(service), MongoLease(db, f"relay:{service}"),
                        metrics, batch_size=settings.relay_batch)

    def body(stop):
        store.ensure_indexes()
        while not stop.is_set():
            try:
                ensure_topics(settings, [settings.topic(service)])
                break
            except Exception:  # Kafka not up yet: the relay waits, commands still succeed
                stop.wait(2.0)
        relay.run(stop, idle_seconds=settings.relay_idle_seconds)
        publisher.reset()

    run_worker(f"{service}-relay", settings, metrics, body)
