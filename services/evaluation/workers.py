"""Long-running processes of the evaluation service:

    python -m services.evaluation.workers projector   # all topics -> the live read-model database
    python -m services.evaluation.workers relay       # evaluations event store -> jalin.evaluation.events

The projector follows the read-model pointer (see ``readside.py``): it pauses when a rebuild asks
it to (finishing and committing the batch in hand), and resumes on whatever generation is live.
"""
from __future__ import annotations

import sys
import time

from pymongo.database import Database

from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.kafka import KafkaPublisher, ensure_topics, make_consumer
from shared.metrics import Metrics
from shared.mongo import make_client
from shared.relay_worker import run_relay
from shared.streams import HttpStreamSource
from shared.worker import run_worker

from services.evaluation.bootstrap import SOURCE_SERVICES, projections
from services.evaluation.readside import CONSUMER, ReadSide


def build_runner(settings: Settings, db: Database, metrics: Metrics | None = None, only=None) -> ConsumerRunner:
    """The projector's runner over ``db`` (``only``: names of the projections to run, default all)."""
    chosen = [p for p in projections() if not only or p.name in only]
    return ConsumerRunner(CONSUMER, db, chosen, source=HttpStreamSource(settings),
                          metrics=metrics, dlq=KafkaPublisher(settings),
                          dlq_topic=f"{settings.prefix}.{CONSUMER}.dlq",
                          max_attempts=settings.consumer_max_attempts)


def topics(settings: Settings) -> list[str]:
    return [settings.topic(s) for s in SOURCE_SERVICES]


def run_projector(settings: Settings) -> None:
    metrics = Metrics()
    readside = ReadSide(make_client(settings), settings)

    def body(stop):
        while not stop.is_set():
            pointer = readside.pointer(fresh=True)
            if pointer.get("pause"):
                stop.wait(0.5)  # a rebuild is comparing generations; reads still go to the live one
                continue
            try:
                ensure_topics(settings, topics(settings) + [f"{settings.prefix}.{CONSUMER}.dlq"])
                consumer = make_consumer(settings, pointer["group_id"], topics(settings))
            except Exception:  # Kafka not reachable yet
                stop.wait(2.0)
                continue
            runner = build_runner(settings, readside.client[pointer["database"]], metrics)
            last_check = [0.0]

            def should_yield():
                if time.monotonic() - last_check[0] < 1.0:
                    return False
                last_check[0] = time.monotonic()
                now = readside.pointer(fresh=True)
                return bool(now.get("pause")) or now["generation"] != pointer["generation"]

            try:
                runner.run(consumer, stop, should_yield=should_yield)
            finally:
                consumer.close()  # leaves the group: a rebuild waiting for the pause sees no members

    run_worker(CONSUMER, settings, metrics, body)


COMMANDS = {"projector": run_projector, "relay": lambda s: run_relay("evaluation", s)}


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or args[0] not in COMMANDS:
        sys.exit(f"usage: python -m services.evaluation.workers {'|'.join(COMMANDS)}")
    COMMANDS[args[0]](Settings.from_env())


if __name__ == "__main__":
    main()
