"""Integration fixtures: the real Kafka broker and FerretDB of the `test` profile."""
import shutil
import socket

import pytest
from pymongo import MongoClient

from shared.config import Settings
from shared.mongo import make_client
from tests.support import load_stack, require_infrastructure, unique_prefix, wait_until


@pytest.fixture(scope="session")
def profile():
    profile = load_stack().PROFILES["test"]
    require_infrastructure(profile)
    return profile


@pytest.fixture
def settings(profile):
    return Settings.from_env({"prefix": unique_prefix("i"), "mongo_uri": profile.mongo_uri,
                              "kafka_bootstrap": profile.kafka_bootstrap, "topic_partitions": 3})


# Databases integration tests create under their prefix (listing all databases is slow on
# FerretDB's SQLite backend once there are hundreds, so they are dropped by name).
TEST_DATABASES = ("test", "ledger", "readside", "agreements", "partners", "evaluation")


@pytest.fixture
def mongo(settings):
    client = make_client(settings)
    yield client
    for name in TEST_DATABASES:
        client.drop_database(settings.database(name))
    client.close()


@pytest.fixture
def db(mongo, settings):
    return mongo[settings.database("test")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgresql_ferretdb():
    """FerretDB on its postgresql backend (the stack's other selectable backend, see bench/README.md),
    started by the stack's own code on free ports for this session, with a fresh PostgreSQL cluster."""
    stack = load_stack()
    profile = stack.Profile("it-postgresql", kafka_port=0, controller_port=0, mongo_port=_free_port(),
                            ferret_debug_port=_free_port(), db_backend="postgresql", postgres_port=_free_port())
    stack.stop(profile)
    for sub in ("ferretdb-state", "postgres-data"):
        shutil.rmtree(profile.dir / sub, ignore_errors=True)
    stack.start_ferretdb(profile)
    client = MongoClient(profile.mongo_uri, serverSelectionTimeoutMS=5000)
    wait_until(lambda: client.admin.command("ping")["ok"] == 1, 60, interval=0.3, what="FerretDB on PostgreSQL")
    yield client
    client.close()
    stack.stop(profile)
