"""Long-running processes of the agreements service:

    python -m services.agreements.workers relay            # event store -> jalin.agreements.events
    python -m services.agreements.workers partner-replica  # jalin.partners.events -> partner_replica
    python -m services.agreements.workers scheduler        # activation, H-90 reminders, expiry
"""
from __future__ import annotations

import logging
import sys

from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.kafka import KafkaPublisher, ensure_topics, make_consumer
from shared.metrics import Metrics
from shared.relay_worker import run_relay
from shared.streams import HttpStreamSource
from shared.worker import run_worker

from services.agreements.bootstrap import SERVICE, build
from services.agreements.partner_replica import PartnerReplicaProjection
from services.agreements.scheduler import tick

log = logging.getLogger("jalin.scheduler")
REPLICA = "agreements-partner-replica"


def run_partner_replica(settings: Settings) -> None:
    metrics = Metrics()
    container = build(settings)
    runner = ConsumerRunner(REPLICA, container.db, [PartnerReplicaProjection()], source=HttpStreamSource(settings),
                            metrics=metrics, dlq=KafkaPublisher(settings), dlq_topic=f"{settings.prefix}.{REPLICA}.dlq",
                            max_attempts=settings.consumer_max_attempts)
    topic = settings.topic("partners")

    def body(stop):
        consumer = None
        while consumer is None and not stop.is_set():
            try:
                ensure_topics(settings, [topic, f"{settings.prefix}.{REPLICA}.dlq"])
                consumer = make_consumer(settings, f"{settings.prefix}.{REPLICA}", [topic])
            except Exception:  # Kafka not reachable yet
                stop.wait(2.0)
        if consumer is not None:
            try:
                runner.run(consumer, stop)
            finally:
                consumer.close()

    run_worker(REPLICA, settings, metrics, body)


def run_scheduler(settings: Settings) -> None:
    metrics = Metrics()
    ticks = metrics.counter("scheduler_actions_total", "Facts recorded by the scheduler", ("action",))
    container = build(settings)

    def body(stop):
        while not stop.is_set():
            try:
                for action, count in tick(container.handlers).items():
                    ticks.labels(action).inc(count)
            except Exception as exc:  # DB unavailable: try again next round
                log.warning("scheduler tick failed", extra={"error": repr(exc)})
            stop.wait(settings.scheduler_interval_seconds)

    run_worker("agreements-scheduler", settings, metrics, body)


COMMANDS = {"relay": lambda s: run_relay(SERVICE, s), "partner-replica": run_partner_replica,
            "scheduler": run_scheduler}


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or args[0] not in COMMANDS:
        sys.exit(f"usage: python -m services.agreements.workers {'|'.join(COMMANDS)}")
    COMMANDS[args[0]](Settings.from_env())


if __name__ == "__main__":
    main()
