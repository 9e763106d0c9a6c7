"""MongoDB client factory (MongoDB in production, FerretDB locally; same pymongo code)."""
from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.write_concern import WriteConcern

from shared.config import Settings

# Durability per data class (README, "Durability"). Event stores hold the only copy of what was
# decided: acknowledged by a majority, in the journal. Read models can be rebuilt from Kafka: one
# node, not waiting for the journal; the consumer runner's own records (positions, parked events,
# dead letters) are written last in each batch with ``JOURNALED``, and a journaled write makes every
# earlier write of the same server durable too, so a read model is never behind the Kafka offsets
# the runner commits after it. FerretDB accepts and ignores write concerns (its SQLite settings
# are per instance: see bench/README.md).
EVENT_STORE_WRITES = WriteConcern(w="majority", j=True)
READ_MODEL_WRITES = WriteConcern(w=1, j=False)
JOURNALED = WriteConcern(j=True)


def make_client(settings: Settings, **overrides) -> MongoClient:
    """A client with short server-selection timeouts (fail fast, let callers retry) and aware datetimes."""
    options = dict(serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, socketTimeoutMS=60000, tz_aware=True,
                   uuidRepresentation="standard", appname=f"{settings.prefix}")
    options.update(overrides)
    return MongoClient(settings.mongo_uri, **options)


def event_store_database(client: MongoClient, name: str) -> Database:
    """A service's own database (event store = outbox, idempotency keys) with the strongest writes."""
    return client.get_database(name, write_concern=EVENT_STORE_WRITES)


def read_model_database(client: MongoClient, name: str) -> Database:
    """A database of read models (rebuildable from Kafka) with the cheaper write path."""
    return client.get_database(name, write_concern=READ_MODEL_WRITES)
