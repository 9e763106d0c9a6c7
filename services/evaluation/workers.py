"""Long-running processes of the evaluation service:

    python -m services.evaluation.workers projector   # all topics -> the live read-model database
    python -m services.evaluation.workers relay       # evaluations event store -> jalin.evaluation.events

The projector follows the read-model pointer (see ``read_model_pointer.py``): it pauses when a
rebuild asks it to (finishing and committing the batch in hand), and resumes on whatever generation
is live.
"""
from __future__ import annotations

import sys
import time

from shared.config import Settings
from shared.kafka import make_consumer, wait_for_topics
from shared.metrics import Metrics
from shared.mongo import read_model_database
from shared.relay_worker import run_relay
from shared.worker import run_worker

from services.evaluation.bootstrap import SERVICE, Container, build
from services.evaluation.read_model_pointer import CONSUMER


def run_projector(container: Container) -> None:
    settings, readside = container.settings, container.read_model
    metrics = Metrics()

    def body(stop):
        while not stop.is_set():
            pointer = readside.pointer(fresh=True)
            if pointer.get("pause"):
                stop.wait(0.5)  # a rebuild is comparing generations; reads still go to the live one
                continue
            if not wait_for_topics(settings, container.source_topics + [container.dlq_topic], stop):
                return
            try:
                consumer = make_consumer(settings, pointer["group_id"], container.source_topics)
            except Exception:  # Kafka went away again between the two calls
                stop.wait(2.0)
                continue
            runner = container.projector_runner(read_model_database(readside.client, pointer["database"]), metrics)
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


COMMANDS = {"projector": run_projector, "relay": lambda c: run_relay(SERVICE, c.settings, c.db, c.store)}


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or args[0] not in COMMANDS:
        sys.exit(f"usage: python -m services.evaluation.workers {'|'.join(COMMANDS)}")
    COMMANDS[args[0]](build(Settings.from_env()))


if __name__ == "__main__":
    main()
