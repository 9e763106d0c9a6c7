"""The agreements service's commands: one frozen dataclass per thing a user (or the scheduler) asks.

A command is built at the edge by its schema's ``post_load`` (``schemas.py``), handled by the
``AgreementHandlers`` method of the same verb (``handlers.py``), which calls the ``Agreement``
method of that verb (``domain/agreement.py``). Grepping a command's name finds all four and
its tests. Commands are plain data: no flask, no marshmallow, no defaults taken from the clock —
a date left ``None`` is filled in by the handler from the server clock (one place for "today").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO, Mapping


@dataclass(frozen=True)
class DraftAgreement:
    """Draft a new agreement (an extension when ``extends_agreement_id`` is given)."""

    category: str
    document_kind: str
    title: str
    partner_ids: tuple[str, ...]
    start_date: date
    end_date: date
    lead_opd: str
    urusan: tuple[str, ...]
    burdens_public: bool
    budgeted_in_apbd: bool
    value: int = 0
    funding_scheme: str | None = None
    purpose: str = ""
    scope: str = ""
    location: str = ""
    our_number: str | None = None
    partner_number: str | None = None
    ksdd_type: str | None = None
    parent_kb_id: str | None = None
    extends_agreement_id: str | None = None
    # An extension's parties replaced by their legal successors: {predecessor_id, successor_id, basis}.
    partner_successions: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class EditDraft:
    """Change fields of a draft; ``changes`` holds only the fields given (a ``None`` there clears one)."""

    agreement_id: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    partner_ids: tuple[str, ...] | None = None
    parent_kb_id: str | None = None


@dataclass(frozen=True)
class SubmitAgreement:
    """Submit a draft for the TKKSD review (the partners are checked again)."""

    agreement_id: str


@dataclass(frozen=True)
class StartReview:
    """The TKKSD takes up the review."""

    agreement_id: str


@dataclass(frozen=True)
class ReturnForRevision:
    """Send a submission back to draft, with what to revise."""

    agreement_id: str
    reason: str


@dataclass(frozen=True)
class RecordReview:
    """Record the TKKSD's finding."""

    agreement_id: str
    recommended: bool
    notes: str = ""
    reviewed_on: date | None = None


@dataclass(frozen=True)
class ApproveDprd:
    """Record the DPRD's approval."""

    agreement_id: str
    approval_ref: str
    approved_on: date | None = None


@dataclass(frozen=True)
class ApproveCentral:
    """Record the central government's approval (foreign cooperation)."""

    agreement_id: str
    approval_ref: str
    approved_on: date | None = None


@dataclass(frozen=True)
class SignAgreement:
    """Record the signing; numbers given here replace the draft's."""

    agreement_id: str
    signatory_name: str
    signatory_position: str
    signed_on: date | None = None
    power_of_attorney_ref: str | None = None
    partner_signatory_name: str | None = None
    partner_signatory_position: str | None = None
    our_number: str | None = None
    partner_number: str | None = None


@dataclass(frozen=True)
class ActivateAgreement:
    """Bring a signed agreement into force once its start date is reached."""

    agreement_id: str
    on: date | None = None


@dataclass(frozen=True)
class RaiseExpiryReminder:
    """The H-90 reminder (raised by the scheduler only)."""

    agreement_id: str
    on: date | None = None


@dataclass(frozen=True)
class ExpireAgreement:
    """Record that an agreement ran out after its end date."""

    agreement_id: str
    on: date | None = None


@dataclass(frozen=True)
class TerminateAgreement:
    """End a signed or active agreement early, with the reason."""

    agreement_id: str
    reason: str
    on: date | None = None


@dataclass(frozen=True)
class RejectAgreement:
    """Reject an agreement before signing."""

    agreement_id: str
    reason: str


@dataclass(frozen=True)
class CancelAgreement:
    """Withdraw an agreement before signing."""

    agreement_id: str
    reason: str


@dataclass(frozen=True)
class AmendAgreement:
    """Record a signed addendum (ADENDUM) whose ``changes`` apply from now on."""

    agreement_id: str
    number: str
    reason: str
    changes: Mapping[str, Any]
    signatory_name: str
    signatory_position: str
    signed_on: date | None = None
    power_of_attorney_ref: str | None = None
    partner_number: str | None = None


@dataclass(frozen=True)
class WaiveFinalEvaluation:
    """The leadership lets this agreement be extended without a finalized final (AKHIR) evaluation."""

    agreement_id: str
    reason: str


@dataclass(frozen=True)
class AttachDocument:
    """Attach an uploaded document (signed scan, KAK, feasibility study, other)."""

    agreement_id: str
    kind: str
    stream: BinaryIO
    filename: str
    media_type: str


@dataclass(frozen=True)
class AddActivity:
    """Add an activity to the work plan of a signed PKS."""

    agreement_id: str
    activity_id: str
    name: str
    indicator: str
    target: float
    unit: str
    schedule_start: date
    schedule_end: date
    responsible_opd: str
    budget: int = 0


@dataclass(frozen=True)
class UpdateActivity:
    """Change fields of an activity; ``changes`` holds only the fields given."""

    agreement_id: str
    activity_id: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class RemoveActivity:
    """Remove an activity that has no reports yet."""

    agreement_id: str
    activity_id: str


@dataclass(frozen=True)
class FileReport:
    """File the implementation report of one activity for one quarter."""

    agreement_id: str
    activity_id: str
    period: str
    realisation: float
    obstacles: str = ""
    solutions: str = ""
    evidence: tuple[str, ...] = ()
    filed_on: date | None = None
