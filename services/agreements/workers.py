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
from shared.kafka import KafkaPublisher, make_consumer, wait_for_topics
from shared.metrics import Metrics
from shared.relay_worker import run_relay
from shared.streams import HttpStreamSource
from shared.worker import run_worker

from services.agreements.bootstrap import SERVICE, Container, build
from services.agreements.partner_replica import PartnerReplicaProjection
from services.agreements.scheduler import tick

log = logging.getLogger("jalin.scheduler")
REPLICA = "agreements-partner-replica"


def run_partner_replica(container: Container) -> None:
    settings = container.settings
    metrics = Metrics()
    dlq_topic = f"{settings.prefix}.{REPLICA}.dlq"
    runner = ConsumerRunner(REPLICA, container.db, [PartnerReplicaProjection()], source=HttpStreamSource(settings),
                            metrics=metrics, dlq=KafkaPublisher(settings), dlq_topic=dlq_topic,
                            max_attempts=settings.consumer_max_attempts)
    topic = settings.topic("partners")

    def body(stop):
        consumer = None
        while consumer is None and wait_for_topics(settings, [topic, dlq_topic], stop):
            try:
                consumer = make_consumer(settings, f"{settings.prefix}.{REPLICA}", [topic])
            except Exception:  # Kafka went away again between the two calls
                stop.wait(2.0)
        if consumer is None:
            return
        try:
            runner.run(consumer, stop)
        finally:
            consumer.close()

    run_worker(REPLICA, settings, metrics, body)


def run_scheduler(container: Container) -> None:
    settings = container.settings
    metrics = Metrics()
    ticks = metrics.counter("scheduler_actions_total", "Facts recorded by the scheduler", ("action",))

    def body(stop):
        while not stop.is_set():
            try:
                for action, count in tick(container.handlers).items():
                    ticks.labels(action).inc(count)
                ticks.labels("uploads_expired").inc(container.handlers.expire_uploads())
            except Exception as exc:  # DB unavailable: try again next round
                log.warning("scheduler tick failed", extra={"error": repr(exc)})
            stop.wait(settings.scheduler_interval_seconds)

    run_worker("agreements-scheduler", settings, metrics, body)


COMMANDS = {"relay": lambda c: run_relay(SERVICE, c.settings, c.db, c.store),
            "partner-replica": run_partner_replica, "scheduler": run_scheduler}


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or args[0] not in COMMANDS:
        sys.exit(f"usage: python -m services.agreements.workers {'|'.join(COMMANDS)}")
    COMMANDS[args[0]](build(Settings.from_env()))


if __name__ == "__main__":
    main()
