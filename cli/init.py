"""One-shot initialisation of a Jalin deployment: ``python -m cli.init``.

Creates the Kafka topics every service expects — the three event topics
(``<prefix>.partners.events``, ``<prefix>.agreements.events``, ``<prefix>.evaluation.events``) and the
dead-letter topics of the consumers — with ``JALIN_TOPIC_PARTITIONS`` partitions and infinite
retention (``retention.ms=-1``: the topics are the replayable audit log). Idempotent: existing
topics are left as they are. MongoDB indexes are created by each service when it starts.

Run by the ``init`` service of docker-compose.yml and by the ``jalin-init`` Job in Kubernetes.
It waits for Kafka (``--timeout`` seconds) so it can be started together with the broker.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time

from shared.config import Settings

#: services that own an event topic (``Settings.topic(service)``)
EVENT_SERVICES = ("partners", "agreements", "evaluation")
#: consumer groups that dead-letter to ``<prefix>.<consumer>.dlq`` (see the services' workers.py)
DLQ_CONSUMERS = ("evaluation-projector", "agreements-partner-replica", "agreements-kb-cascade")


def topics(settings: Settings) -> list[str]:
    """Every topic a deployment needs, in creation order."""
    return ([settings.topic(service) for service in EVENT_SERVICES]
            + [f"{settings.prefix}.{consumer}.dlq" for consumer in DLQ_CONSUMERS])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.init", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to keep retrying while Kafka is unreachable (default 180; one attempt "
                             "may itself take up to 30 s)")
    args = parser.parse_args(argv)

    from shared.kafka import wait_for_topics  # imported here so --help works without the Kafka client

    settings = Settings.from_env()
    wanted = topics(settings)
    started = time.monotonic()
    try:
        wait_for_topics(settings, wanted, threading.Event(), retry_seconds=3.0, deadline=started + args.timeout,
                        on_wait=lambda exc: print(f"jalin init: waiting for Kafka at {settings.kafka_bootstrap} "
                                                  f"({type(exc).__name__})", flush=True))
    except Exception as exc:
        print(f"jalin init: Kafka at {settings.kafka_bootstrap} not usable after "
              f"{time.monotonic() - started:.0f}s: {exc!r}", file=sys.stderr, flush=True)
        return 1
    print(f"jalin init: topics ready ({settings.topic_partitions} partitions, retention.ms=-1): "
          + ", ".join(wanted), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
