"""MongoDB client factory (MongoDB in production, FerretDB locally; same pymongo code)."""
from __future__ import annotations

from pymongo import MongoClient

from shared.config import Settings


def make_client(settings: Settings, **overrides) -> MongoClient:
    """A client with short server-selection timeouts (fail fast, let callers retry) and aware datetimes."""
    options = dict(serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, socketTimeoutMS=60000, tz_aware=True,
                   uuidRepresentation="standard", appname=f"{settings.prefix}")
    options.update(overrides)
    return MongoClient(settings.mongo_uri, **options)
