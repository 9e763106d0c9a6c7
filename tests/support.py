"""Helpers shared by integration and e2e tests: the local stack, settings, polling."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_stack():
    """The deploy/local/stack.py module (the same code `make test` uses to start things).

    An ordinary import, as the benchmarks do it too: ``deploy/`` and ``deploy/local/`` are namespace
    packages (folders without ``__init__.py``), importable because the repository root is on
    ``sys.path`` (pytest's ``pythonpath = ["."]``; ``python -m bench`` runs from the root).
    """
    from deploy.local import stack

    return stack


def unique_prefix(label: str) -> str:
    """A fresh namespace for topics and databases, so tests never see each other's data."""
    return f"t{label}{uuid.uuid4().hex[:8]}"


def wait_until(check, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``check()`` until it returns a truthy value; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


def require_infrastructure(profile) -> None:
    """Fail loudly (never skip) when Kafka or the MongoDB-protocol server is not running."""
    problems = load_stack().infrastructure_problems(profile)
    if problems:
        raise RuntimeError("integration infrastructure is not running — start it with "
                           "`python deploy/local/stack.py start --profile test` (make test does): "
                           + "; ".join(problems))
