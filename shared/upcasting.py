"""Schema evolution: stored events never change; upcasters lift old shapes on read."""
from __future__ import annotations

from typing import Callable, Mapping

UpcastFn = Callable[[dict], dict]


class Upcasters:
    """A registry of ``(event_type, from_schema_version) -> function(data) -> data``.

    ``upcast`` applies them in a chain until no upcaster matches, so version 1 data is lifted
    to 2, then to 3, and so on. The returned envelope is a copy; the stored one (and its hash)
    stays as it was.
    """

    def __init__(self, steps: Mapping[tuple[str, int], UpcastFn] | None = None):
        self._steps: dict[tuple[str, int], UpcastFn] = dict(steps or {})

    def register(self, event_type: str, from_version: int):
        """Decorator registering an upcaster from ``from_version`` to ``from_version + 1``."""
        def decorate(fn: UpcastFn) -> UpcastFn:
            self._steps[(event_type, from_version)] = fn
            return fn
        return decorate

    def upcast(self, envelope: dict) -> dict:
        key = (envelope["event_type"], envelope.get("schema_version", 1))
        if key not in self._steps:
            return envelope
        lifted = dict(envelope)
        while key in self._steps:
            lifted["data"] = self._steps[key](dict(lifted["data"]))
            lifted["schema_version"] = key[1] + 1
            key = (lifted["event_type"], lifted["schema_version"])
        return lifted
