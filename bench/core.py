"""What every benchmark shares: the stack, namespacing, timing statistics, CPU accounting, facts.

Only the ``bench`` profile of deploy/local/stack.py is used, and only 127.0.0.1.
"""
from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import re
import socket
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from deploy.local import stack as local_stack

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Databases a benchmark namespace may create: <prefix>_<suffix>.
DATABASE_SUFFIXES = ("partners", "evaluation", "evaluation_read", "agreements", "raw", "rawread", "rawpipe")


# ------------------------------------------------------------------ the stack
# deploy/local/stack.py (``local_stack``) is imported like any module, as tests/support.py does:
# ``deploy.local`` is a namespace package and ``python -m bench`` runs from the repository root.


class BenchError(RuntimeError):
    """A benchmark could not run (infrastructure missing, a stall, a failed sanity check)."""


def require_infrastructure(profile) -> None:
    """Fail loudly when the bench profile's Kafka or FerretDB does not answer."""
    problems = local_stack.infrastructure_problems(profile)
    if problems:
        raise BenchError("the bench stack is not running — `make bench` starts it "
                         "(deploy/local/stack.py start --profile bench --fresh): " + "; ".join(problems))


@dataclass
class Context:
    """One benchmark run: the profile, a unique namespace, the size preset and the cleanup list."""

    stack: Any
    profile: Any
    run_id: str
    quick: bool
    keep: bool = False
    _prefixes: list = field(default_factory=list)
    poisoned: set = field(default_factory=set)

    def size(self, full, quick):
        return quick if self.quick else full

    def settings(self, label: str, **overrides):
        """Settings of a fresh namespace ``<run_id><label>`` on the bench profile."""
        from shared.config import Settings

        prefix = f"{self.run_id}{label}"
        self._prefixes.append(prefix)
        return Settings.from_env({"prefix": prefix, "mongo_uri": self.profile.mongo_uri,
                                  "kafka_bootstrap": self.profile.kafka_bootstrap, "topic_partitions": 3,
                                  **overrides})

    def mongo(self, settings, **overrides):
        from shared.mongo import make_client

        return make_client(settings, **overrides)

    def poison(self, database: str) -> None:
        """Mark a database FerretDB can no longer serve (cleanup leaves it; a restart frees it)."""
        self.poisoned.add(database)

    def cleanup(self) -> None:
        """Drop this run's databases and topics (best effort; ``--keep`` leaves them).

        Once a database is poisoned, databases are dropped by name rather than listed: FerretDB's
        listDatabases hangs once one database's connection pool is exhausted (see projection).
        """
        if self.keep or not self._prefixes:
            return
        from kafka import KafkaAdminClient
        from pymongo import MongoClient

        prefixes = tuple(self._prefixes)
        try:
            client = MongoClient(self.profile.mongo_uri, serverSelectionTimeoutMS=3000, socketTimeoutMS=20000)
            if self.poisoned:
                names = [f"{prefix}_{suffix}" for prefix in prefixes for suffix in DATABASE_SUFFIXES]
            else:
                names = [n for n in client.list_database_names() if n.startswith(prefixes)]
            for name in names:
                if name in self.poisoned:
                    print(f"  (left database {name}: FerretDB cannot serve it any more until restarted)")
                    continue
                try:
                    client.drop_database(name)
                except Exception as exc:
                    print(f"  (could not drop database {name}: {type(exc).__name__})")
            client.close()
        except Exception as exc:
            print(f"  (database cleanup skipped: {exc!r})")
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.profile.kafka_bootstrap, request_timeout_ms=10000)
            topics = [t for t in admin.list_topics() if t.startswith(prefixes)]
            if topics:
                admin.delete_topics(topics)
            admin.close()
        except Exception as exc:
            print(f"  (topic cleanup skipped: {exc!r})")
        self._prefixes.clear()


def new_run_id() -> str:
    """A short namespace for this run: topics ``<run_id><label>.partners.events``, DBs ``<run_id><label>_…``."""
    return "bn" + uuid.uuid4().hex[:6]


# ------------------------------------------------------------------ statistics

def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * p / 100.0
    lo = math.floor(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def latency(seconds: Iterable[float]) -> dict:
    """p50/p95/p99/mean/max of durations given in seconds, in milliseconds."""
    values = sorted(seconds)
    if not values:
        return {}
    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    return {"n": len(values), "p50": ms(percentile(values, 50)), "p95": ms(percentile(values, 95)),
            "p99": ms(percentile(values, 99)), "mean": ms(sum(values) / len(values)), "max": ms(values[-1]),
            "min": ms(values[0])}


_AUTO = object()


def row(case: str, side: str, n: int, seconds: float | None, unit: str, *, lat: dict | None = None,
        baseline: str | None = None, note: str = "", rate=_AUTO, **extra) -> dict:
    """One line of a result table. ``side`` is "jalin" (system under test) or "raw" (the limit).

    ``rate`` defaults to n / seconds; pass ``rate=None`` for rows that are only about latency.
    """
    if rate is _AUTO:
        rate = n / seconds if seconds else None
    return {"case": case, "side": side, "n": n, "seconds": round(seconds, 4) if seconds is not None else None,
            "unit": unit, "rate": round(rate, 2) if rate is not None else None, "latency_ms": lat or {},
            "baseline": baseline, "note": note, **extra}


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def timed_calls(fn: Callable[[int], Any], count: int) -> tuple[float, list[float]]:
    """Call ``fn(i)`` for i in range(count); return (total seconds, per-call seconds)."""
    lat = []
    t0 = time.perf_counter()
    for i in range(count):
        s = time.perf_counter()
        fn(i)
        lat.append(time.perf_counter() - s)
    return time.perf_counter() - t0, lat


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")


# ------------------------------------------------------------------ CPU accounting

def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except OSError:
        return None
    # the command may contain spaces and parentheses: split after the last ')'
    return [text[:text.rfind(")") + 1]] + text[text.rfind(")") + 2:].split()


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def session_cpu_seconds(session_id: int) -> float:
    """CPU seconds (user+system) of every live process in a session (a stack-spawned process tree)."""
    total = 0
    for pid in _all_pids():
        st = _stat(pid)
        if st and int(st[4]) == session_id:  # fields after ')' : state ppid pgrp session …
            total += int(st[12]) + int(st[13])
    return total / CLK_TCK


def pid_listening_on(port: int) -> int | None:
    """The pid of the process with a listening TCP socket on 127.0.0.1:``port`` (via /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                for line in fh:
                    parts = line.split()
                    if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":
                        inodes.add(parts[9])
        except OSError:
            continue
    if not inodes:
        return None
    for pid in _all_pids():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    return None


class CpuMeter:
    """CPU seconds used by named components between ``start()`` and ``stop()``.

    A component is a session id (the stack starts every process in its own session, so gunicorn's
    workers are counted with their master). This process is measured with ``time.process_time``.
    """

    def __init__(self, sessions: dict[str, int]):
        self.sessions = {k: v for k, v in sessions.items() if v}
        self.result: dict = {}

    def start(self):
        self._t = time.perf_counter()
        self._self = time.process_time()
        self._before = {name: session_cpu_seconds(sid) for name, sid in self.sessions.items()}
        return self

    def stop(self) -> dict:
        wall = time.perf_counter() - self._t
        out = {"wall_s": round(wall, 3), "bench client (this process)": round(time.process_time() - self._self, 3)}
        for name, sid in self.sessions.items():
            out[name] = round(session_cpu_seconds(sid) - self._before[name], 3)
        self.result = out
        return out


def infra_sessions(profile) -> dict[str, int]:
    """Session ids of the profile's FerretDB and Kafka (found by their listening ports)."""
    out = {}
    for name, port in (("FerretDB", profile.mongo_port), ("Kafka", profile.kafka_port)):
        pid = pid_listening_on(port)
        st = _stat(pid) if pid else None
        if st:
            out[name] = int(st[4])
    return out


def ferretdb_stuck_queries(profile) -> int | None:
    """Goroutines of FerretDB waiting on open SQLite result sets (from its debug endpoint)."""
    try:
        url = f"http://127.0.0.1:{profile.ferret_debug_port}/debug/pprof/goroutine?debug=1"
        text = urllib.request.urlopen(url, timeout=3).read().decode()
    except Exception:
        return None
    groups = re.findall(r"(\d+) @ [^\n]*\n#\s+0x\w+\s+database/sql\.\(\*Rows\)\.awaitDone", text)
    return sum(int(g) for g in groups)


class CommandTimer:
    """A pymongo command listener: time spent per (command, collection) as the server answered it."""

    def __init__(self):
        import threading

        from pymongo import monitoring

        self._lock = threading.Lock()
        self._pending: dict = {}
        self.totals: dict[str, list] = {}
        timer = self

        class Listener(monitoring.CommandListener):
            def started(self, event):
                target = event.command.get(event.command_name)
                key = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
                with timer._lock:
                    timer._pending[(event.connection_id, event.request_id)] = key

            def _done(self, event, failed=False):
                with timer._lock:
                    key = timer._pending.pop((event.connection_id, event.request_id), event.command_name)
                    entry = timer.totals.setdefault(key + (" (failed)" if failed else ""), [0, 0.0])
                    entry[0] += 1
                    entry[1] += event.duration_micros / 1e6

            def succeeded(self, event):
                self._done(event)

            def failed(self, event):
                self._done(event, failed=True)

        self.listener = Listener()

    def summary(self, top: int = 8) -> dict:
        """``{"update partners": {"calls": n, "seconds": s}, …}``, the most expensive first."""
        with self._lock:
            items = sorted(self.totals.items(), key=lambda kv: -kv[1][1])[:top]
        return {k: {"calls": v[0], "seconds": round(v[1], 3)} for k, v in items}


# ------------------------------------------------------------------ machine facts

def _cpu_snapshot() -> dict[int, tuple[str, int]]:
    out = {}
    for pid in _all_pids():
        st = _stat(pid)
        if st:
            out[pid] = (st[0].split(" ", 1)[1].strip("()"), int(st[12]) + int(st[13]))
    return out


def busy_processes(sample_seconds: float = 1.0, threshold: float = 0.03) -> list[dict]:
    """Processes using more than ``threshold`` of a core over a short sample (other load on the box)."""
    a = _cpu_snapshot()
    time.sleep(sample_seconds)
    b = _cpu_snapshot()
    busy = []
    for pid, (name, ticks) in b.items():
        if pid in a and pid != os.getpid():
            share = (ticks - a[pid][1]) / CLK_TCK / sample_seconds
            if share >= threshold:
                try:
                    cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    cmd = name
                busy.append({"pid": pid, "cpu_share": round(share, 2), "cmd": cmd.strip()[:140]})
    return sorted(busy, key=lambda p: -p["cpu_share"])


def loadavg() -> list[float]:
    with open("/proc/loadavg") as fh:
        return [float(x) for x in fh.read().split()[:3]]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def machine_facts(ctx: Context) -> dict:
    cpu_model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    ferret = {}
    try:
        from pymongo import MongoClient

        info = MongoClient(ctx.profile.mongo_uri, serverSelectionTimeoutMS=3000).admin.command("buildInfo")
        ferret = {"ferretdbVersion": info.get("ferretdbVersion"), "mongodb_compat_version": info.get("version"),
                  "go": (info.get("buildEnvironment") or {}).get("go.version")}
    except Exception as exc:
        ferret = {"error": repr(exc)}
    kafka_pid = pid_listening_on(ctx.profile.kafka_port)
    kafka_cmd = ""
    if kafka_pid:
        try:
            kafka_cmd = open(f"/proc/{kafka_pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()[:300]
        except OSError:
            pass
    stack_kafka = ctx.stack._running(ctx.profile, "kafka")
    return {
        "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "nproc": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {d: _version(d) for d in ("kafka-python", "pymongo", "flask", "gunicorn", "marshmallow",
                                               "flask-smorest", "requests")},
        "ferretdb": {"version": ferret.get("ferretdbVersion") or ctx.stack.FERRETDB_VERSION, "backend": ctx.profile.db_backend,
                     **ferret},
        "kafka": {"version": ctx.stack.KAFKA_VERSION, "mode": "KRaft single node (broker+controller)",
                  "started_by_stack": bool(stack_kafka and stack_kafka == kafka_pid),
                  "pid": kafka_pid, "cmdline": kafka_cmd},
        "profile": {"name": ctx.profile.name, "kafka": ctx.profile.kafka_bootstrap, "mongo": ctx.profile.mongo_uri,
                    "apis": ctx.profile.api_ports},
        "run_id": ctx.run_id,
        "quick": ctx.quick,
        "loadavg_start": loadavg(),
        "busy_processes_at_start": busy_processes(),
    }
