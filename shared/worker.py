"""Running long-lived workers (relay, projector, scheduler) as processes with clean shutdown.

A worker shows that it makes progress, not only that its process exists: every worker loop checks
its stop flag once per round (``while not stop.is_set()`` … ``stop.wait(…)``), so the flag handed
to it records a heartbeat each time (the ``worker_heartbeat_timestamp_seconds`` metric). A loop
stuck in a call that never returns stops beating; ``python -m shared.worker alive`` (the
Kubernetes liveness probe) then fails and the worker is restarted.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
from typing import Callable

from shared.config import Settings
from shared.logs import configure_logging
from shared.metrics import Metrics, serve_metrics

log = logging.getLogger("jalin.worker")

HEARTBEAT = "worker_heartbeat_timestamp_seconds"


class Heartbeat(threading.Event):
    """A stop flag that records a heartbeat whenever the worker's loop looks at it.

    ``wait`` beats in slices, so a worker sleeping between rounds (the scheduler's minute) still
    beats; a worker blocked elsewhere does not.
    """

    SLICE = 5.0

    def __init__(self, metrics: Metrics, name: str):
        super().__init__()
        self._gauge = metrics.gauge(HEARTBEAT, "When the worker's loop last went round (Unix time)",
                                    ("worker",)).labels(name)
        self.beat()

    def beat(self) -> None:
        self._gauge.set(time.time())

    def is_set(self) -> bool:
        self.beat()
        return super().is_set()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.beat()
            remaining = self.SLICE if deadline is None else min(self.SLICE, deadline - time.monotonic())
            if remaining <= 0:
                return super().is_set()
            if super().wait(remaining):
                return True


def run_worker(name: str, settings: Settings, metrics: Metrics, body: Callable[[threading.Event], None]) -> None:
    """Run ``body(stop)`` until SIGTERM/SIGINT sets ``stop``; serve metrics if configured.

    ``body`` must return promptly once ``stop`` is set, having finished (flushed and committed)
    the batch in hand, so that a shutdown never loses or half-applies work. ``stop`` is a
    ``Heartbeat``: looking at it once per round is what tells the liveness probe the worker lives.
    """
    configure_logging(settings.log_level, service=name)
    stop = Heartbeat(metrics, name)

    def on_signal(signum, _frame):
        log.info("stopping", extra={"worker": name, "signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if settings.metrics_port:
        serve_metrics(metrics, settings.metrics_port, settings.metrics_host)
    body(stop)


def last_heartbeat(metrics_text: str) -> float | None:
    """The newest heartbeat in a worker's metrics exposition, or None if it has none."""
    beats = []
    for line in metrics_text.splitlines():
        if line.startswith(f"jalin_{HEARTBEAT}{{") or line.startswith(f"jalin_{HEARTBEAT} "):
            try:
                beats.append(float(line.rsplit(" ", 1)[1]))
            except ValueError:
                continue
    return max(beats) if beats else None


def alive(port: int, max_age: float, host: str = "127.0.0.1") -> str | None:
    """None if the worker serving metrics on ``port`` beat within ``max_age`` seconds, else why not."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
            beat = last_heartbeat(response.read().decode("utf-8", "replace"))
    except OSError as exc:
        return f"metrics not reachable: {exc}"
    if beat is None:
        return "no heartbeat in the metrics"
    age = time.time() - beat
    return None if age <= max_age else f"no progress for {age:.0f}s (limit {max_age:.0f}s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Liveness probe of a Jalin worker: has its loop gone round lately?")
    parser.add_argument("command", choices=("alive",))
    parser.add_argument("--max-age", type=float, default=180.0, help="seconds without a heartbeat before failing")
    parser.add_argument("--port", type=int, default=int(os.environ.get("JALIN_METRICS_PORT") or 0))
    args = parser.parse_args(argv)
    if not args.port:
        print("JALIN_METRICS_PORT is not set: the worker serves no metrics to probe", file=sys.stderr)
        return 2
    problem = alive(args.port, args.max_age)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
