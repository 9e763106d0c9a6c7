"""What the monev write side needs to know about an agreement, behind a port.

Evaluations are scheduled for agreements owned by the agreements service. The evaluation
service does not call it: it reads the register it builds itself from the agreements topic
(the ``agreements`` read model). ``AgreementRegister`` is that dependency as a port, so the
handlers are tested with ``InMemoryAgreementRegister`` and run on ``MongoAgreementRegister``;
both pass the contract suite in tests/integration/test_port_contracts.py.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from pymongo.database import Database

from services.evaluation.projections.agreements import COLLECTION as AGREEMENTS


@dataclass(frozen=True)
class AgreementFacts:
    """An agreement as the register last saw it: its status and its lead OPD."""

    agreement_id: str
    status: str  # a services.evaluation.vocabulary.AgreementStatus value
    lead_opd: str | None


class AgreementRegister(Protocol):
    """Port: the agreements register, looked up by agreement id."""

    def lookup(self, agreement_id: str) -> AgreementFacts | None:
        """The agreement's facts, or None when the register does not know it (yet)."""


class MongoAgreementRegister:
    """``AgreementRegister`` over the live read-model database (``read_db`` follows the pointer,
    so a rebuild's switch is seen)."""

    def __init__(self, read_db: Callable[[], Database]):
        self.read_db = read_db

    def lookup(self, agreement_id: str) -> AgreementFacts | None:
        doc = self.read_db()[AGREEMENTS].find_one({"_id": agreement_id}, {"status": 1, "lead_opd": 1})
        if doc is None:
            return None
        return AgreementFacts(agreement_id=agreement_id, status=doc["status"], lead_opd=doc.get("lead_opd"))


class InMemoryAgreementRegister:
    """Fake register for unit tests; ``record`` plays the projector."""

    def __init__(self):
        self._facts: dict[str, AgreementFacts] = {}
        self._lock = threading.Lock()

    def record(self, agreement_id: str, status: str, lead_opd: str | None) -> None:
        """Know (or update) ``agreement_id``."""
        with self._lock:
            self._facts[agreement_id] = AgreementFacts(agreement_id=agreement_id, status=status, lead_opd=lead_opd)

    def lookup(self, agreement_id: str) -> AgreementFacts | None:
        with self._lock:
            return self._facts.get(agreement_id)
