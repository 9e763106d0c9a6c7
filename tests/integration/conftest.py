"""Integration fixtures: the real Kafka broker and FerretDB of the `test` profile."""
import pytest

from shared.config import Settings
from shared.mongo import make_client
from tests.support import load_stack, require_infrastructure, unique_prefix


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
