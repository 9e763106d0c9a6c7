"""Which read-model database is live: a pointer document, switched atomically by a rebuild.

``<prefix>_evaluation.read_model`` holds ``{_id: "pointer", generation, database, group_id,
previous, pause}``. The API reads through it (cached for a second), the projector consumes with
its consumer group into its database, and ``jalin replay`` builds a new generation beside it,
then switches the pointer in one update (blue/green, no downtime for reads).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from pymongo import MongoClient
from pymongo.database import Database

from shared.config import Settings

COLLECTION = "read_model"
CONSUMER = "evaluation-projector"


def initial_pointer(settings: Settings) -> dict:
    return {"_id": "pointer", "generation": 0, "database": settings.database("evaluation") + "_read",
            "group_id": f"{settings.prefix}.{CONSUMER}", "previous": None, "pause": None,
            "switched_at": None}


def generation_names(settings: Settings, generation: int) -> tuple[str, str]:
    """Database and consumer group of a read-model generation."""
    if generation == 0:
        base = initial_pointer(settings)
        return base["database"], base["group_id"]
    return (f"{settings.database('evaluation')}_read_g{generation}",
            f"{settings.prefix}.{CONSUMER}.g{generation}")


class ReadModelPointer:
    """Reads and changes the pointer; gives the live read-model database."""

    def __init__(self, client: MongoClient, settings: Settings, cache_seconds: float = 1.0):
        self.client = client
        self.settings = settings
        self._col = client[settings.database("evaluation")][COLLECTION]
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, dict] | None = None
        self._lock = threading.Lock()

    def pointer(self, fresh: bool = False) -> dict:
        with self._lock:
            if not fresh and self._cached and time.monotonic() - self._cached[0] < self.cache_seconds:
                return self._cached[1]
        doc = self._col.find_one({"_id": "pointer"})
        if doc is None:
            self._col.update_one({"_id": "pointer"}, {"$setOnInsert": initial_pointer(self.settings)}, upsert=True)
            doc = self._col.find_one({"_id": "pointer"})
        with self._lock:
            self._cached = (time.monotonic(), doc)
        return doc

    def db(self) -> Database:
        """The live read-model database."""
        return self.client[self.pointer()["database"]]

    def request_pause(self, by: str) -> None:
        self._col.update_one({"_id": "pointer"}, {"$set": {"pause": {"by": by, "at": datetime.now(timezone.utc)}}})

    def clear_pause(self) -> None:
        self._col.update_one({"_id": "pointer"}, {"$set": {"pause": None}})

    def switch(self, generation: int, database: str, group_id: str) -> dict:
        """Make ``database`` live (and resume projecting with ``group_id``), keeping the old as ``previous``."""
        current = self.pointer(fresh=True)
        previous = {k: current[k] for k in ("generation", "database", "group_id")}
        self._col.update_one({"_id": "pointer", "generation": current["generation"]}, {"$set": {
            "generation": generation, "database": database, "group_id": group_id, "previous": previous,
            "pause": None, "switched_at": datetime.now(timezone.utc)}})
        return self.pointer(fresh=True)

    def switch_back(self) -> dict:
        current = self.pointer(fresh=True)
        if not current.get("previous"):
            raise RuntimeError("there is no previous read-model generation to switch back to")
        prev = current["previous"]
        return self.switch(prev["generation"], prev["database"], prev["group_id"])
