"""The KB cascade: a process manager that records every change of a KB on each PKS under it.

A KB's addendum or termination is a signed fact recorded on the KB's own stream as it is; a PKS
under it may now stick out of the KB (a shorter period, fewer parties) or stand under a KB no
longer in force. This worker consumes the agreements service's own topic and, for each event of
``CASCADING`` on a KB stream, sends one ``RecordParentChange`` per PKS of that KB, which records
``agreement.parent_changed`` on the PKS — a review flag when the PKS now lies outside its KB (see
``Agreement.record_parent_change``).

Why a cascade is never lost nor recorded twice:
- the KB's event is committed first, in the KB's stream; the event store is the relay's outbox,
  so the event reaches Kafka at least once, even if the API process dies right after the commit;
- the ``ConsumerRunner`` commits the Kafka offset only once ``apply`` returned, i.e. after every
  PKS of the KB was handled: a crash in the middle redelivers the event and the cascade runs again;
- ``RecordParentChange`` is idempotent by the causing event's id (the PKS's stream remembers it)
  and reads the KB as of that event's version, so a redelivery, even a late one, records nothing
  twice and always the same fact;
- a PKS written concurrently is tried again; a PKS that keeps failing makes the event fail, which
  the runner dead-letters (the KB's later events wait behind it) for an operator to retry.

The PKS of a KB are found in the event store itself, not in a read model that could lag behind
the KB's event: every agreement stream's first event says whether it is a PKS (a kind never
changes), and only PKS are loaded in full to read their current KB. That costs one read per
agreement per KB change; KB addenda and terminations are rare.

The runner keeps its positions, parked events and dead letters in its database, and its
maintenance works on all of them: so the cascade has a database of its own
(``<prefix>_agreements_kb_cascade``), apart from the partner replica's runner.
"""
from __future__ import annotations

import logging
from typing import Iterator

from shared.application import CommandContext, Repository
from shared.consumer import Projection
from shared.envelope import Actor
from shared.eventstore import ConcurrencyError
from shared.readmodel import UnitOfWork

from services.agreements.commands import RecordParentChange
from services.agreements.domain import Agreement, DocumentKind, EventType
from services.agreements.handlers import AgreementHandlers

log = logging.getLogger("jalin.kb_cascade")

NAME = "agreements-kb-cascade"
DATABASE = "agreements_kb_cascade"  # ``Settings.database(DATABASE)``
CASCADE = Actor(sub="jalin-kb-cascade", role="service", name="Kaskade KB Jalin")
# The events that may change what a PKS depends on (a KB's period, parties or being in force):
# an addendum taking effect and a termination. Expiry needs none: a PKS ends with or before its KB.
CASCADING = frozenset({EventType.AMENDED, EventType.TERMINATED})
CONFLICT_RETRIES = 5


def pks_of(repository: Repository[Agreement], kb_id: str) -> Iterator[Agreement]:
    """Every PKS that names ``kb_id`` as its KB now, read from the event store."""
    for stream_id in repository.store.stream_ids(Agreement.stream_type):
        if stream_id == kb_id:
            continue
        first = repository.store.load(stream_id, 1, 1)
        if not first or first[0]["data"].get("document_kind") != DocumentKind.PKS:
            continue
        pks = repository.load(stream_id)
        if pks.parent_kb_id == kb_id:
            yield pks


def cascade(handlers: AgreementHandlers, event: dict) -> list[str]:
    """Record ``event`` (a KB's) on each PKS of the KB; returns the PKS on which something was recorded."""
    if event["event_type"] not in CASCADING:
        return []
    kb = handlers.repository.load(event["stream_id"], to_version=event["version"])
    if kb.document_kind != DocumentKind.KB:
        return []
    ctx = CommandContext(CASCADE, correlation_id=event.get("correlation_id") or event["event_id"],
                         causation_id=event["event_id"])
    recorded = []
    for pks in pks_of(handlers.repository, kb.stream_id):
        cmd = RecordParentChange(agreement_id=pks.stream_id, parent_kb_id=kb.stream_id,
                                 cause_event_id=event["event_id"], cause_event_type=event["event_type"],
                                 cause_version=event["version"])
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                before = handlers.repository.store.version(pks.stream_id)
                after = handlers.record_parent_change(cmd, ctx)
                break
            except ConcurrencyError:  # the PKS was written meanwhile: read it again
                if attempt == CONFLICT_RETRIES:
                    raise
        if after.version > before:
            recorded.append(pks.stream_id)
    log.info("kb change cascaded", extra={"stream_id": kb.stream_id, "event_type": event["event_type"],
                                          "recorded_on": recorded})
    return recorded


class KbCascade(Projection):
    """The cascade under the ``ConsumerRunner`` (ordering, gaps, redelivery, dead letters).

    Unlike a projection it writes no read model: its output is commands on the PKS streams, each
    idempotent by the causing event, so the runner's at-least-once delivery is all it needs.
    """

    name = "kb_cascade"
    collections = ()

    def __init__(self, handlers: AgreementHandlers):
        self.handlers = handlers

    def handles(self, event_type: str) -> bool:
        return event_type in CASCADING

    def apply(self, event: dict, uow: UnitOfWork) -> None:
        cascade(self.handlers, event)
