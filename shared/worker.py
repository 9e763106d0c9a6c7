"""Running long-lived workers (relay, projector, scheduler) as processes with clean shutdown."""
from __future__ import annotations

import logging
import signal
import threading
from typing import Callable

from shared.config import Settings
from shared.logs import configure_logging
from shared.metrics import Metrics, serve_metrics

log = logging.getLogger("jalin.worker")


def run_worker(name: str, settings: Settings, metrics: Metrics, body: Callable[[threading.Event], None]) -> None:
    """Run ``body(stop)`` until SIGTERM/SIGINT sets ``stop``; serve metrics if configured.

    ``body`` must return promptly once ``stop`` is set, having finished (flushed and committed)
    the batch in hand, so that a shutdown never loses or half-applies work.
    """
    configure_logging(settings.log_level, service=name)
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("stopping", extra={"worker": name, "signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if settings.metrics_port:
        serve_metrics(metrics, settings.metrics_port, settings.metrics_host)
    body(stop)
