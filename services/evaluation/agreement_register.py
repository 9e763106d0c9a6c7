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
from datetime import date
from typing import Callable, Protocol

from pymongo.database import Database

from services.evaluation.projections.agreements import COLLECTION as AGREEMENTS


@dataclass(frozen=True)
class AgreementFacts:
    """An agreement as the register last saw it: its status, its lead OPD and its term."""

    agreement_id: str
    status: str  # a services.evaluation.vocabulary.AgreementStatus value
    lead_opd: str | None
    start_date: date | None = None
    end_date: date | None = None
    terminated_on: date | None = None

    @property
    def last_day(self) -> date | None:
        """The last day the agreement is (or was) in force: its end date, or its termination if earlier."""
        if self.end_date is None or self.terminated_on is None:
            return self.end_date
        return min(self.end_date, self.terminated_on)


def _day(value) -> date | None:
    return date.fromisoformat(value) if value else None


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
        doc = self.read_db()[AGREEMENTS].find_one(
            {"_id": agreement_id}, {"status": 1, "lead_opd": 1, "start_date": 1, "end_date": 1, "terminated_on": 1})
        if doc is None:
            return None
        return AgreementFacts(agreement_id=agreement_id, status=doc["status"], lead_opd=doc.get("lead_opd"),
                              start_date=_day(doc.get("start_date")), end_date=_day(doc.get("end_date")),
                              terminated_on=_day(doc.get("terminated_on")))


class InMemoryAgreementRegister:
    """Fake register for unit tests; ``record`` plays the projector."""

    def __init__(self):
        self._facts: dict[str, AgreementFacts] = {}
        self._lock = threading.Lock()

    def record(self, agreement_id: str, status: str, lead_opd: str | None, start_date: date | None,
               end_date: date | None, terminated_on: date | None = None) -> None:
        """Know (or update) ``agreement_id``."""
        with self._lock:
            self._facts[agreement_id] = AgreementFacts(agreement_id, status, lead_opd, start_date, end_date,
                                                       terminated_on)

    def lookup(self, agreement_id: str) -> AgreementFacts | None:
        with self._lock:
            return self._facts.get(agreement_id)
