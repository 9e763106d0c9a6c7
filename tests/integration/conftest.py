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


@pytest.fixture
def mongo(settings):
    client = make_client(settings)
    yield client
    for name in client.list_database_names():
        if name.startswith(settings.prefix):
            client.drop_database(name)
    client.close()


@pytest.fixture
def db(mongo, settings):
    return mongo[settings.database("test")]
