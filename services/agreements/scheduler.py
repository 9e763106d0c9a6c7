"""The scheduler: activates agreements on their start date, raises the H-90 reminder once, and
expires agreements after their end date. Every decision is the domain's, so a tick run twice
(or by two schedulers) records each fact once."""
from __future__ import annotations

import logging
import uuid
from datetime import date

from shared.application import CommandContext, VersionMismatch
from shared.domain import DomainError
from shared.envelope import Actor
from shared.eventstore import ConcurrencyError

from services.agreements.commands import ActivateAgreement, ExpireAgreement, RaiseExpiryReminder
from services.agreements.domain import Agreement, Status
from services.agreements.handlers import AgreementHandlers

log = logging.getLogger("jalin.scheduler")
SCHEDULER = Actor(sub="jalin-scheduler", role="service", name="Penjadwal Jalin")
LIVE = (Status.SIGNED, Status.ACTIVE)
CalendarCommand = ActivateAgreement | RaiseExpiryReminder | ExpireAgreement


def due_commands(agreement: Agreement, today: date) -> list[CalendarCommand]:
    """What the calendar asks of this agreement today, in order."""
    if agreement.status not in LIVE:
        return []
    commands: list[CalendarCommand] = []
    if agreement.status == Status.SIGNED and today >= agreement.start_date:
        commands.append(ActivateAgreement(agreement.stream_id, on=today))
    if today > agreement.end_date:
        return commands + [ExpireAgreement(agreement.stream_id, on=today)]
    return commands + [RaiseExpiryReminder(agreement.stream_id, on=today)]


def _handle(handlers: AgreementHandlers, cmd: CalendarCommand, ctx: CommandContext,
            expected: int) -> tuple[str, Agreement]:
    """Run one calendar command through its handler; returns the name it is counted under."""
    match cmd:
        case ActivateAgreement():
            return "activate", handlers.activate(cmd, ctx, expected)
        case RaiseExpiryReminder():
            return "raise_expiry_reminder", handlers.raise_expiry_reminder(cmd, ctx, expected)
        case ExpireAgreement():
            return "expire", handlers.expire(cmd, ctx, expected)
    raise TypeError(f"not a calendar command: {cmd!r}")


def tick(handlers: AgreementHandlers, today: date | None = None, refused: set | None = None) -> dict:
    """Apply the calendar to every agreement once; returns counts of what was recorded.

    A command the domain refuses (a PKS whose KB is no longer in force is not activated) is
    skipped and the agreement's other due commands still run (it still expires at its end).
    Nothing changed, so the next tick refuses it again: ``refused`` — kept by the caller across
    ticks — remembers (stream, version, command, rule) so each refusal is logged once, not every tick.
    """
    today = today or handlers.today()
    refused = set() if refused is None else refused
    done = {"activate": 0, "raise_expiry_reminder": 0, "expire": 0, "conflicts": 0, "refused": 0}
    ctx = CommandContext(SCHEDULER, correlation_id=f"scheduler-{today.isoformat()}-{uuid.uuid4().hex[:8]}")
    for stream_id in handlers.repository.store.stream_ids(Agreement.stream_type):
        agreement = handlers.repository.load(stream_id)
        for cmd in due_commands(agreement, today):
            # Each command expects the version the calendar was read at: if anyone else wrote
            # meanwhile, this agreement waits for the next tick.
            before = agreement.version
            try:
                counted, agreement = _handle(handlers, cmd, ctx, expected=before)
                done[counted] += 1 if agreement.version > before else 0
            except (ConcurrencyError, VersionMismatch):
                done["conflicts"] += 1  # someone changed it meanwhile: the next tick looks again
                break
            except DomainError as exc:
                done["refused"] += 1
                key = (stream_id, before, type(cmd).__name__, exc.rule)
                if key not in refused:
                    refused.add(key)
                    log.warning("scheduler skipped", extra={"stream_id": stream_id, "command": type(cmd).__name__,
                                                            "rule": exc.rule, "detail": exc.detail})
    return done
