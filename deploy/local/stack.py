"""The local stack: fetch, start and stop Kafka and FerretDB, and run every Jalin process.

    python deploy/local/stack.py fetch                    # download/build once (cached)
    python deploy/local/stack.py start  --profile test    # start Kafka + FerretDB, wait until they answer
    python deploy/local/stack.py stop   --profile test
    python deploy/local/stack.py status --profile run
    python deploy/local/stack.py run                      # the main job (make run)

Everything fetched is cached under ``$XDG_CACHE_HOME/jalin`` (default ``~/.cache/jalin``), so a
fresh clone on the same machine does not download or build again. Data and logs of a profile
live under ``.local/<profile>/`` in the clone. The ``run`` and ``test`` profiles use different
ports, so the tests can run while the demo is up.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jalin"
KAFKA_VERSION = "4.1.1"
FERRETDB_VERSION = "v1.24.2"
KAFKA_LIBS = CACHE / f"kafka-{KAFKA_VERSION}" / "libs"
# Source edits made before building FerretDB: (file, original text, replacement, occurrences).
# Part of the cache key (FERRETDB_BUILD), so a change here builds a new binary. See fetch_ferretdb.
FERRETDB_PATCHES = (
    # The SQLite backend looks documents up by _id with ``sjson->'$._id'`` while the unique _id
    # index is on ``sjson->"_id"``: the same value, but SQLite matches index expressions by their
    # text, so every find, update and delete by _id scanned the whole table (its cost grew with
    # the collection). ``->'_id'`` is the same path and the expression the index holds.
    ("internal/backends/sqlite/metadata/metadata.go",
     "IDColumn = DefaultColumn + \"->'$._id'\"", "IDColumn = DefaultColumn + \"->'_id'\"", 1),
    # The _id lookup was used only when the filter had no other key, so ``{_id: x, version: {$lt:
    # n}}`` (every guarded read-model update) scanned the table. The handlers apply the whole
    # filter again to what the backend returns, so narrowing by _id first is always safe.
    ("internal/backends/sqlite/collection.go",
     "if params.Filter.Len() == 1 {", "if params.Filter.Len() >= 1 {", 2),
)
FERRETDB_BUILD = "jalin2"
FERRETDB_BIN = CACHE / f"ferretdb-{FERRETDB_VERSION}-{FERRETDB_BUILD}" / "ferretdb"


@dataclass
class Profile:
    """Ports and folders of one local stack."""

    name: str
    kafka_port: int
    controller_port: int
    mongo_port: int
    ferret_debug_port: int
    api_ports: dict = field(default_factory=dict)
    prefix: str = "jalin"
    # FerretDB's storage: "sqlite" (embedded files, the default) or "postgresql" (Debian's
    # PostgreSQL server, started and stopped with the stack). bench/README.md compares the two.
    db_backend: str = "sqlite"
    postgres_port: int = 0

    @property
    def dir(self) -> Path:
        return ROOT / ".local" / self.name

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongo_port}/"


def _port(env: str, default: int) -> int:
    return int(os.environ.get(env, default))


DB_BACKENDS = ("sqlite", "postgresql")


def _backend(env: str) -> str:
    backend = os.environ.get(env, os.environ.get("JALIN_DB_BACKEND", "sqlite"))
    if backend not in DB_BACKENDS:
        sys.exit(f"[stack] error: {env}/JALIN_DB_BACKEND must be one of {', '.join(DB_BACKENDS)}, not {backend!r}")
    return backend


PROFILES = {
    "run": Profile("run", _port("JALIN_KAFKA_PORT", 9092), _port("JALIN_KAFKA_CONTROLLER_PORT", 9093),
                   _port("JALIN_MONGO_PORT", 27017), _port("JALIN_FERRETDB_DEBUG_PORT", 28088),
                   {"partners": _port("JALIN_PARTNERS_PORT", 8001), "agreements": _port("JALIN_AGREEMENTS_PORT", 8002),
                    "evaluation": _port("JALIN_EVALUATION_PORT", 8003)},
                   db_backend=_backend("JALIN_DB_BACKEND"), postgres_port=_port("JALIN_POSTGRES_PORT", 25432)),
    "test": Profile("test", _port("JALIN_TEST_KAFKA_PORT", 19092), _port("JALIN_TEST_KAFKA_CONTROLLER_PORT", 19093),
                    _port("JALIN_TEST_MONGO_PORT", 37017), _port("JALIN_TEST_FERRETDB_DEBUG_PORT", 38088),
                    {"partners": _port("JALIN_TEST_PARTNERS_PORT", 18001),
                     "agreements": _port("JALIN_TEST_AGREEMENTS_PORT", 18002),
                     "evaluation": _port("JALIN_TEST_EVALUATION_PORT", 18003)},
                    db_backend=_backend("JALIN_TEST_DB_BACKEND"),
                    postgres_port=_port("JALIN_TEST_POSTGRES_PORT", 35432)),
    "bench": Profile("bench", _port("JALIN_BENCH_KAFKA_PORT", 29092), _port("JALIN_BENCH_KAFKA_CONTROLLER_PORT", 29093),
                     _port("JALIN_BENCH_MONGO_PORT", 47017), _port("JALIN_BENCH_FERRETDB_DEBUG_PORT", 48088),
                     {"partners": _port("JALIN_BENCH_PARTNERS_PORT", 28001),
                      "agreements": _port("JALIN_BENCH_AGREEMENTS_PORT", 28002),
                      "evaluation": _port("JALIN_BENCH_EVALUATION_PORT", 28003)},
                     db_backend=_backend("JALIN_BENCH_DB_BACKEND"), postgres_port=_port("JALIN_BENCH_POSTGRES_PORT", 45432)),
}


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def need(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if not path:
        sys.exit(f"[stack] error: '{tool}' is not installed or not on PATH; it is needed to {why}.")
    return path


# ------------------------------------------------------------------ fetch

def fetch_kafka() -> None:
    """Resolve the Kafka broker jars from Maven Central into the cache (once)."""
    if (KAFKA_LIBS / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        return
    need("java", "run the Kafka broker")
    mvn = need("mvn", "fetch the Kafka broker from Maven Central")
    say(f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central (once)…")
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="libs-", dir=CACHE))
    subprocess.run([mvn, "-q", "-B", "-f", str(HERE / "pom.xml"), "dependency:copy-dependencies",
                    f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"], check=True)
    KAFKA_LIBS.parent.mkdir(parents=True, exist_ok=True)
    if KAFKA_LIBS.exists():
        shutil.rmtree(KAFKA_LIBS)
    tmp.rename(KAFKA_LIBS)


def fetch_ferretdb() -> None:
    """Build FerretDB from the Go module proxy into the cache (once).

    ``go install …/cmd/ferretdb@v1.24.2`` builds a binary that panics at start: the module as
    published lacks ``build/version/version.txt``, which FerretDB's own build tooling generates.
    We therefore build the same module the same way, after writing that file as FerretDB's
    error message asks (``v1.24.2``), and with the two small fixes in ``FERRETDB_PATCHES`` (lookups
    by _id use the _id index; without them every update scans its collection).
    """
    if FERRETDB_BIN.exists():
        return
    go = need("go", "build FerretDB from the Go module proxy")
    say(f"building FerretDB {FERRETDB_VERSION} with Go (once)…")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    module = f"github.com/FerretDB/FerretDB@{FERRETDB_VERSION}"
    info = json.loads(subprocess.run([go, "mod", "download", "-json", module], check=True, env=env,
                                     capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout)
    work = Path(tempfile.mkdtemp(prefix="ferretdb-src-"))
    src = work / "src"
    shutil.copytree(info["Dir"], src)
    for path in [src, *src.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
    for name, old, new, times in FERRETDB_PATCHES:
        text = (src / name).read_text()
        if text.count(old) != times:
            raise SystemExit(f"FerretDB {FERRETDB_VERSION}: expected {old!r} {times}× in {name}")
        (src / name).write_text(text.replace(old, new))
    FERRETDB_BIN.parent.mkdir(parents=True, exist_ok=True)
    out = FERRETDB_BIN.with_suffix(".tmp")
    subprocess.run([go, "build", "-o", str(out), "./cmd/ferretdb"], check=True, env=env, cwd=src)
    out.rename(FERRETDB_BIN)
    shutil.rmtree(work, ignore_errors=True)


def fetch() -> None:
    fetch_kafka()
    fetch_ferretdb()


# ------------------------------------------------------------------ processes

def _pidfile(profile: Profile, name: str) -> Path:
    return profile.dir / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return True


def _running(profile: Profile, name: str) -> int | None:
    path = _pidfile(profile, name)
    if path.exists():
        try:
            pid = int(path.read_text().strip())
        except ValueError:
            return None
        if _alive(pid):
            return pid
    return None


def _spawn(profile: Profile, name: str, argv: list[str], env: dict | None = None) -> int:
    profile.dir.mkdir(parents=True, exist_ok=True)
    log = open(profile.dir / f"{name}.log", "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})}, start_new_session=True, cwd=ROOT)
    _pidfile(profile, name).write_text(str(proc.pid))
    return proc.pid


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(what: str, check, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # not up yet
            last_error = exc
        time.sleep(0.3)
    tail = ""
    if log and log.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    sys.exit(f"[stack] error: {what} did not become ready within {timeout:.0f}s ({last_error}).\n{tail}")


def start_kafka(profile: Profile) -> None:
    if _running(profile, "kafka"):
        return
    for port in (profile.kafka_port, profile.controller_port):
        if _port_open(port):
            sys.exit(f"[stack] error: port {port} is taken by another program; set the profile's Kafka ports.")
    java = need("java", "run the Kafka broker")
    data = profile.dir / "kafka-data"
    conf = profile.dir / "server.properties"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{profile.controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{profile.kafka_port},CONTROLLER://127.0.0.1:{profile.controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{profile.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data}",
        "num.partitions=3",
        "auto.create.topics.enable=false",
        "log.retention.ms=-1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=3",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "",
    ]))
    classpath = f"{KAFKA_LIBS}/*"
    jvm = [java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
           "-cp", classpath]
    if not (data / "meta.properties").exists():
        cluster_id = subprocess.run(jvm + ["kafka.tools.StorageTool", "random-uuid"], check=True,
                                    capture_output=True, text=True).stdout.strip().splitlines()[-1]
        subprocess.run(jvm + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(conf)],
                       check=True, capture_output=True)
    _spawn(profile, "kafka", jvm + ["kafka.Kafka", str(conf)])
    say(f"Kafka starting on {profile.kafka_bootstrap}")


def _kafka_ready(profile: Profile) -> bool:
    if not _port_open(profile.kafka_port):
        return False
    from kafka import KafkaAdminClient  # the venv's client: a real metadata round trip

    admin = KafkaAdminClient(bootstrap_servers=profile.kafka_bootstrap, request_timeout_ms=3000)
    try:
        admin.list_topics()
        return True
    finally:
        admin.close()


def postgres_bin(tool: str) -> str:
    """A PostgreSQL server program: on PATH, else from Debian's versioned folder."""
    found = shutil.which(tool) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), reverse=True)), None)
    if not found:
        sys.exit(f"[stack] error: '{tool}' is not installed; the postgresql backend needs Debian's PostgreSQL "
                 "server: apt-get install -y postgresql")
    return found


def _as_postgres_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: under root, run it as the ``postgres`` system user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _postgres_url(profile: Profile) -> str:
    return f"postgres://jalin@127.0.0.1:{profile.postgres_port}/ferretdb"


def start_postgres(profile: Profile) -> None:
    """Start the profile's own PostgreSQL cluster (created on first use) for FerretDB's postgresql backend."""
    if _running(profile, "postgres"):
        return
    if _port_open(profile.postgres_port):
        sys.exit(f"[stack] error: port {profile.postgres_port} is taken by another program.")
    data, sockets = profile.dir / "postgres-data", profile.dir / "postgres-run"
    for folder in (data, sockets):
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        # trust on loopback only: the cluster listens on 127.0.0.1 and a private socket folder.
        subprocess.run(_as_postgres_user([postgres_bin("initdb"), "-D", str(data), "-U", "jalin", "-A", "trust",
                                          "-E", "UTF8", "--no-instructions"]), check=True, capture_output=True)
    _spawn(profile, "postgres", _as_postgres_user([
        postgres_bin("postgres"), "-D", str(data), "-p", str(profile.postgres_port), "-k", str(sockets),
        "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=256MB"]))
    _wait("PostgreSQL", lambda: _postgres_ready(profile), 60, profile.dir / "postgres.log")
    exists = subprocess.run([postgres_bin("psql"), "-h", "127.0.0.1", "-p", str(profile.postgres_port), "-U",
                             "jalin", "-d", "postgres", "-tAc", "SELECT 1 FROM pg_database WHERE datname='ferretdb'"],
                            check=True, capture_output=True, text=True).stdout.strip()
    if exists != "1":
        subprocess.run([postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(profile.postgres_port), "-U", "jalin",
                        "ferretdb"], check=True)
    say(f"PostgreSQL ready on 127.0.0.1:{profile.postgres_port}")


def _postgres_ready(profile: Profile) -> bool:
    return subprocess.run([postgres_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(profile.postgres_port)],
                          check=False).returncode == 0


def start_ferretdb(profile: Profile) -> None:
    if _running(profile, "ferretdb"):
        return
    if _port_open(profile.mongo_port):
        sys.exit(f"[stack] error: port {profile.mongo_port} is taken by another program.")
    state = profile.dir / "ferretdb-state"
    state.mkdir(parents=True, exist_ok=True)
    if profile.db_backend == "postgresql":
        start_postgres(profile)
        storage = ["--handler=postgresql", f"--postgresql-url={_postgres_url(profile)}"]
    else:
        data = profile.dir / "ferretdb-data"
        data.mkdir(parents=True, exist_ok=True)
        storage = ["--handler=sqlite", f"--sqlite-url=file:{data}/"]
    _spawn(profile, "ferretdb", [
        str(FERRETDB_BIN), *storage, f"--state-dir={state}",
        f"--listen-addr=127.0.0.1:{profile.mongo_port}", f"--debug-addr=127.0.0.1:{profile.ferret_debug_port}",
        "--telemetry=disable", "--log-level=warn",
    ])
    say(f"FerretDB ({profile.db_backend}) starting on {profile.mongo_uri}")


def restart_ferretdb(profile: Profile, backend: str, fresh: bool = True) -> None:
    """Switch a running profile's FerretDB to ``backend`` (Kafka keeps running); used by the bench."""
    for name in ("ferretdb", "postgres"):
        _stop_named(profile, name)
    if fresh:
        for sub in ("ferretdb-data", "ferretdb-state", "postgres-data"):
            shutil.rmtree(profile.dir / sub, ignore_errors=True)
    profile.db_backend = backend
    start_ferretdb(profile)
    _wait("FerretDB", lambda: _mongo_ready(profile), 60, profile.dir / "ferretdb.log")


def _mongo_ready(profile: Profile) -> bool:
    from pymongo import MongoClient

    client = MongoClient(profile.mongo_uri, serverSelectionTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    finally:
        client.close()


def infrastructure_problems(profile: Profile) -> list[str]:
    """What of the profile's MongoDB-protocol server and Kafka does not answer (empty: both do)."""
    problems = []
    for what, where, ready in (("MongoDB protocol server", profile.mongo_uri, _mongo_ready),
                               ("Kafka", profile.kafka_bootstrap, _kafka_ready)):
        try:
            if not ready(profile):
                problems.append(f"{what} at {where}: nothing listens")
        except Exception as exc:
            problems.append(f"{what} at {where}: {exc}")
    return problems


def start(profile: Profile, fresh: bool = False) -> None:
    """Start Kafka and FerretDB for ``profile`` and return once both answer real requests."""
    fetch()
    if fresh:
        stop(profile)
        for sub in ("kafka-data", "ferretdb-data", "ferretdb-state", "postgres-data"):
            shutil.rmtree(profile.dir / sub, ignore_errors=True)
    start_ferretdb(profile)
    start_kafka(profile)
    _wait("FerretDB", lambda: _mongo_ready(profile), 60, profile.dir / "ferretdb.log")
    _wait("Kafka", lambda: _kafka_ready(profile), 120, profile.dir / "kafka.log")
    say(f"ready: Kafka {profile.kafka_bootstrap}, MongoDB protocol {profile.mongo_uri}")


# PostgreSQL's SIGTERM waits for its clients to leave; SIGINT is its fast, clean shutdown.
STOP_SIGNALS = {"postgres": signal.SIGINT}


def _stop_pid(pid: int, name: str, timeout: float = 30) -> None:
    try:
        os.killpg(pid, STOP_SIGNALS.get(name, signal.SIGTERM))
    except OSError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        say(f"{name} did not stop in {timeout:.0f}s; killing it")
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def _stop_named(profile: Profile, name: str) -> None:
    pid = _running(profile, name)
    if pid:
        _stop_pid(pid, name)
        say(f"{name} stopped")
    _pidfile(profile, name).unlink(missing_ok=True)


def stop(profile: Profile) -> None:
    """Stop the profile's Kafka, FerretDB and PostgreSQL if any (their stop signal, then SIGKILL after a timeout)."""
    for name in ("kafka", "ferretdb", "postgres"):  # FerretDB before the PostgreSQL it writes to
        _stop_named(profile, name)


def status(profile: Profile) -> int:
    code = 0
    names = ("kafka", "ferretdb", "postgres") if profile.db_backend == "postgresql" else ("kafka", "ferretdb")
    for name in names:
        pid = _running(profile, name)
        print(f"{name:10s} {'running (pid %d)' % pid if pid else 'stopped'}")
        code |= 0 if pid else 1
    return code


# ------------------------------------------------------------------ Jalin processes

def service_env(profile: Profile, prefix: str | None = None) -> dict:
    """The environment every Jalin process of ``profile`` gets."""
    ports = profile.api_ports
    return {
        "JALIN_PREFIX": prefix or profile.prefix,
        "JALIN_MONGO_URI": profile.mongo_uri,
        "JALIN_KAFKA_BOOTSTRAP": profile.kafka_bootstrap,
        "JALIN_PARTNERS_URL": f"http://127.0.0.1:{ports['partners']}",
        "JALIN_AGREEMENTS_URL": f"http://127.0.0.1:{ports['agreements']}",
        "JALIN_EVALUATION_URL": f"http://127.0.0.1:{ports['evaluation']}",
        # each service's APIs wake its relay after a commit (shared.relay.RelayWake)
        "JALIN_RELAY_WAKE": f"unix:{profile.dir}/{{service}}-relay.wake",
        "PYTHONUNBUFFERED": "1",
    }


def process_table(profile: Profile) -> list[tuple[str, list[str], dict]]:
    """Every API (under gunicorn, as in production) and worker of Jalin: (name, argv, extra env)."""
    py = sys.executable
    gunicorn = [py, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    apis = [("partners", "services.partners.app:create_app()"),
            ("agreements", "services.agreements.app:create_app()"),
            ("evaluation", "services.evaluation.app:create_app()")]
    table = [(f"{name}-api", gunicorn + [app], {"JALIN_BIND": f"127.0.0.1:{profile.api_ports[name]}",
                                                  "JALIN_WEB_WORKERS": os.environ.get("JALIN_WEB_WORKERS", "2")})
             for name, app in apis]
    table += [
        ("partners-relay", [py, "-m", "services.partners.workers", "relay"], {}),
        ("agreements-relay", [py, "-m", "services.agreements.workers", "relay"], {}),
        ("agreements-partner-replica", [py, "-m", "services.agreements.workers", "partner-replica"], {}),
        ("agreements-scheduler", [py, "-m", "services.agreements.workers", "scheduler"], {}),
        ("agreements-kb-cascade", [py, "-m", "services.agreements.workers", "kb-cascade"], {}),
        ("evaluation-relay", [py, "-m", "services.evaluation.workers", "relay"], {}),
        ("evaluation-projector", [py, "-m", "services.evaluation.workers", "projector"], {}),
    ]
    return table


class Supervisor:
    """Starts the Jalin processes, restarts one that dies (``watch``), and stops them all on request.

    A process that exits on its own is started again after a backoff that doubles with each quick
    death (1 s, 2 s, 4 s … at most ``MAX_BACKOFF``) and starts over once it has run ``STEADY``
    seconds: a poisoned or crashing worker costs itself, never the rest of the stack.
    """

    MAX_BACKOFF = 30.0
    STEADY = 60.0

    def __init__(self, profile: Profile, prefix: str | None = None, extra_env: dict | None = None):
        self.profile = profile
        self.env = {**service_env(profile, prefix), **(extra_env or {})}
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self._commands: dict[str, tuple[list[str], dict]] = {}
        self._started_at: dict[str, float] = {}
        self._quick_deaths: dict[str, int] = {}
        self._due: dict[str, float] = {}  # name -> when a dead process is started again
        self._stopping = False
        self._lock = threading.Lock()  # a restart and a stop never interleave (no orphan process)

    def start(self, only: list[str] | None = None) -> None:
        self.profile.dir.mkdir(parents=True, exist_ok=True)
        self._stopping = False
        for name, argv, extra in process_table(self.profile):
            if only and name not in only:
                continue
            self._commands[name] = (argv, extra)
            self._launch(name)

    def _launch(self, name: str) -> None:
        argv, extra = self._commands[name]
        self.profile.dir.mkdir(parents=True, exist_ok=True)
        with open(self.profile.dir / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, env={**os.environ, **self.env, **extra},
                                                start_new_session=True)
        self._started_at[name] = time.monotonic()

    def revive(self) -> list[str]:
        """Schedule the restart of processes that exited and start those whose backoff is over;
        return the names started again."""
        with self._lock:
            return [] if self._stopping else self._revive()

    def _revive(self) -> list[str]:
        now, started = time.monotonic(), []
        for name in self.dead():
            if name not in self._due:
                ran = now - self._started_at.get(name, now)
                quick = 0 if ran >= self.STEADY else self._quick_deaths.get(name, 0) + 1
                self._quick_deaths[name] = quick
                backoff = min(self.MAX_BACKOFF, 2.0 ** max(0, quick - 1))
                self._due[name] = now + backoff
                say(f"{name} exited with status {self.procs[name].returncode} after {ran:.0f}s; "
                    f"restarting in {backoff:.0f}s (see {self.profile.dir}/{name}.log)")
            elif now >= self._due[name]:
                del self._due[name]
                self._launch(name)
                self.restarts[name] = self.restarts.get(name, 0) + 1
                started.append(name)
        return started

    def watch(self, stop, interval: float = 0.5) -> None:
        """Restart dead processes until ``stop()`` is true (``stop``: a callable or a threading.Event)."""
        stopped = stop.is_set if hasattr(stop, "is_set") else stop
        while not stopped():
            self.revive()
            time.sleep(interval)

    def wait_ready(self, timeout: float = 60) -> None:
        import urllib.request

        for name, port in self.profile.api_ports.items():
            if f"{name}-api" not in self.procs:
                continue

            def ready(port=port, name=name):
                if self.procs[f"{name}-api"].poll() is not None:
                    raise RuntimeError(f"{name}-api exited")
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    return response.status == 200

            _wait(f"{name}-api", ready, timeout, self.profile.dir / f"{name}-api.log")

    def stop(self, timeout: float = 30) -> None:
        with self._lock:
            self._stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + timeout
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]


def run(profile: Profile) -> None:
    """The main job: infrastructure, every service and worker, the Muaro Jambi demo, URLs; a process
    that dies is restarted (``Supervisor.watch``); Ctrl-C stops everything.

    The demo (``cli/demo.py``) is loaded through the public APIs once everything answers; it is
    idempotent, so a second start adds nothing. ``JALIN_DEMO=0 make run`` (or ``false``/``off``/
    ``no``) skips it.
    """
    start(profile)
    supervisor = Supervisor(profile)
    stopping = {"flag": False}

    def on_signal(_signum, _frame):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    watcher = threading.Thread(target=supervisor.watch, args=(lambda: stopping["flag"],), daemon=True,
                               name="supervisor")
    try:
        supervisor.start()
        watcher.start()  # from now on a process that dies is restarted, the rest runs on
        supervisor.wait_ready()
        ports = profile.api_ports
        if os.environ.get("JALIN_DEMO", "1").strip().lower() in ("0", "false", "off", "no"):
            say("demo data skipped (JALIN_DEMO=0)")
        else:
            if str(ROOT) not in sys.path:
                sys.path.insert(0, str(ROOT))
            from cli.demo import DemoError, Stopped, describe, load_demo
            from shared.config import Settings

            say("loading the Kabupaten Muaro Jambi demo through the APIs (JALIN_DEMO=0 skips this)…")
            try:
                summary = load_demo({name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
                                    Settings.from_env({"prefix": profile.prefix}), stop=lambda: stopping["flag"],
                                    log=lambda message: say(message))
                for line in describe(summary).splitlines():
                    say(line)
            except Stopped:
                say("demo loading interrupted")
            except (DemoError, OSError) as exc:  # the services keep running without (all of) the demo
                say(f"demo loading failed: {exc} — the services keep running; see {profile.dir}/*.log")
        say("Jalin is running (Ctrl-C stops everything):")
        say(f"  dashboard   http://127.0.0.1:{ports['evaluation']}/dashboard/")
        for name in ("partners", "agreements", "evaluation"):
            say(f"  {name:11s} http://127.0.0.1:{ports[name]}/api/v1/openapi.json")
        say(f"  logs        {profile.dir}/*.log")
        say("  a token:    .venv/bin/jalin token --role kerjasama")
        while not stopping["flag"]:
            time.sleep(0.5)
    finally:
        say("stopping…")
        stopping["flag"] = True
        supervisor.stop()
        stop(profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("fetch", "start", "stop", "status", "run"))
    parser.add_argument("--profile", choices=tuple(PROFILES), default="run")
    parser.add_argument("--fresh", action="store_true", help="start with empty Kafka and DB data")
    parser.add_argument("--db-backend", choices=DB_BACKENDS,
                        help="FerretDB's storage (default: the profile's, from JALIN_DB_BACKEND or sqlite)")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    if args.db_backend:
        profile.db_backend = args.db_backend
    if args.command == "fetch":
        fetch()
    elif args.command == "start":
        start(profile, fresh=args.fresh)
    elif args.command == "stop":
        stop(profile)
    elif args.command == "status":
        return status(profile)
    elif args.command == "run":
        run(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
