"""Long-running processes of the evaluation service:

    python -m services.evaluation.workers projector   # all topics -> read models
    python -m services.evaluation.workers relay       # evaluations event store -> jalin.evaluation.events
"""
from __future__ import annotations

import sys

from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.kafka import KafkaPublisher, ensure_topics, make_consumer
from shared.metrics import Metrics
from shared.mongo import make_client
from shared.relay_worker import run_relay
from shared.streams import HttpStreamSource
from shared.worker import run_worker

from services.evaluation.bootstrap import SOURCE_SERVICES, projections, read_database_name

CONSUMER = "evaluation-projector"


def build_runner(settings: Settings, metrics: Metrics | None = None) -> ConsumerRunner:
    db = make_client(settings)[read_database_name(settings)]
    return ConsumerRunner(CONSUMER, db, projections(), source=HttpStreamSource(settings),
                          metrics=metrics, dlq=KafkaPublisher(settings),
                          dlq_topic=f"{settings.prefix}.{CONSUMER}.dlq",
                          max_attempts=settings.consumer_max_attempts)


def run_projector(settings: Settings) -> None:
    metrics = Metrics()
    runner = build_runner(settings, metrics)
    topics = [settings.topic(s) for s in SOURCE_SERVICES]

    def body(stop):
        consumer = None
        while consumer is None and not stop.is_set():
            try:
                ensure_topics(settings, topics)
                consumer = make_consumer(settings, f"{settings.prefix}.{CONSUMER}", topics)
            except Exception:  # Kafka not reachable yet
                stop.wait(2.0)
        if consumer is not None:
            try:
                runner.run(consumer, stop)
            finally:
                consumer.close()

    run_worker(CONSUMER, settings, metrics, body)


COMMANDS = {"projector": run_projector, "relay": lambda s: run_relay("evaluation", s)}


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or args[0] not in COMMANDS:
        sys.exit(f"usage: python -m services.evaluation.workers {'|'.join(COMMANDS)}")
    COMMANDS[args[0]](Settings.from_env())


if __name__ == "__main__":
    main()
