"""The scheduler: activates agreements on their start date, raises the H-90 reminder once, and
expires agreements after their end date. Every decision is the domain's, so a tick run twice
(or by two schedulers) records each fact once."""
from __future__ import annotations

import logging
import uuid

from shared.application import CommandContext
from shared.domain import DomainError
from shared.envelope import Actor
from shared.eventstore import ConcurrencyError

from services.agreements.domain import Agreement
from services.agreements.handlers import AgreementHandlers

log = logging.getLogger("jalin.scheduler")
SCHEDULER = Actor(sub="jalin-scheduler", role="service", name="Penjadwal Jalin")
LIVE = ("SIGNED", "ACTIVE")


def due_commands(agreement: Agreement, today) -> list[str]:
    """What the calendar asks of this agreement today, in order."""
    if agreement.status not in LIVE:
        return []
    commands = []
    if agreement.status == "SIGNED" and today >= agreement.start_date:
        commands.append("activate")
    if today > agreement.end_date:
        return commands + ["expire"]
    return commands + ["raise_expiry_reminder"]


def tick(handlers: AgreementHandlers, today=None) -> dict:
    """Apply the calendar to every agreement once; returns counts of what was recorded."""
    today = today or handlers.today()
    done = {"activate": 0, "raise_expiry_reminder": 0, "expire": 0, "conflicts": 0}
    ctx = CommandContext(SCHEDULER, correlation_id=f"scheduler-{today.isoformat()}-{uuid.uuid4().hex[:8]}")
    for stream_id in handlers.repository.store.stream_ids(Agreement.stream_type):
        agreement = handlers.repository.load(stream_id)
        for command in due_commands(agreement, today):
            try:
                events = getattr(agreement, command)(role=SCHEDULER.role, on=today)
                handlers.repository.save(agreement, events, ctx)
                done[command] += 1 if events else 0
            except ConcurrencyError:
                done["conflicts"] += 1  # someone changed it meanwhile: the next tick looks again
                break
            except DomainError as exc:
                log.warning("scheduler skipped", extra={"stream_id": stream_id, "command": command, "rule": exc.rule})
                break
    return done
