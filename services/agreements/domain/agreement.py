"""The Agreement aggregate (naskah kerja sama): one KB or PKS from draft to its end (DOMAIN.md §2–3).

Usage: ``Agreement(new_agreement_id()).draft(...)`` starts a stream; later commands run on
``Agreement.rebuild(stream_id, envelopes)``. Every command takes the actor's ``role`` (and
``opd`` for OPD officers), checks permissions first (403), then the state (409), then its
named rules, and only then emits, so a refused command leaves the aggregate unchanged.

Choices worth knowing:
- States advance by themselves: a favourable TKKSD review leads to AWAITING_DPRD when DPRD
  approval is required, else READY_TO_SIGN; the DPRD approval leads to AWAITING_CENTRAL for
  foreign cooperation, else READY_TO_SIGN. There is no separate "mark ready" command. The
  next state is written into the event, so replays never depend on today's rules.
- An unfavourable review REJECTS the agreement (a revision goes through ``return_for_revision``).
- An ADENDUM is recorded on the signed agreement it amends (``amend`` → ``agreement.amended``),
  numbered 1, 2, … per agreement, and changes the amended terms in place.
- The H-90 expiry reminder is raised once per end date: a second call returns no events; an
  addendum that moves the end date allows one reminder for the new date.
- An extension (perpanjangan) is a new agreement drafted with ``extends=<old Agreement>``; the
  rules that make it one (same partners or declared successors, the term right after the old one,
  the old one's final evaluation or its waiver) are checked at drafting, editing, submission and
  signing — see ``rules.check_extends``. The waiver is an event on the old agreement
  (``waive_final_evaluation``); that only one extension is live at a time needs an index across
  streams and is the handler's (``rules.check_one_live_extension``).
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, Mapping, Sequence

from shared.domain import Aggregate, InvalidTransition, NewEvent, Refusal

import services.agreements.domain.rules as rules
from .rules import AttachmentKind, Category, DocumentKind, PartnerSuccession, PartnerView, Rule, Status, refuse
from .workplan import (
    Activity, Report, agreement_progress, check_activity_fields, check_realisation, period_bounds,
)


class EventType:
    """Every event type the agreement stream holds."""

    DRAFTED = "agreement.drafted"
    DRAFT_EDITED = "agreement.draft_edited"
    SUBMITTED = "agreement.submitted"
    REVIEW_STARTED = "agreement.review_started"
    RETURNED_FOR_REVISION = "agreement.returned_for_revision"
    REVIEW_RECORDED = "agreement.review_recorded"
    DPRD_APPROVED = "agreement.dprd_approved"
    CENTRAL_APPROVED = "agreement.central_approved"
    SIGNED = "agreement.signed"
    ACTIVATED = "agreement.activated"
    EXPIRED = "agreement.expired"
    TERMINATED = "agreement.terminated"
    REJECTED = "agreement.rejected"
    CANCELLED = "agreement.cancelled"
    EXPIRY_REMINDER_RAISED = "agreement.expiry_reminder_raised"
    AMENDED = "agreement.amended"
    FINAL_EVALUATION_WAIVED = "agreement.final_evaluation_waived"
    DOCUMENT_ATTACHED = "agreement.document_attached"
    ACTIVITY_ADDED = "agreement.activity_added"
    ACTIVITY_UPDATED = "agreement.activity_updated"
    ACTIVITY_REMOVED = "agreement.activity_removed"
    REPORT_FILED = "agreement.report_filed"


EVENT_TYPES: tuple[str, ...] = tuple(v for k, v in vars(EventType).items() if k.isupper())

REMINDER_DAYS = 90

EDITABLE_FIELDS = (
    "title", "our_number", "partner_number", "urusan", "purpose", "scope", "location", "lead_opd",
    "start_date", "end_date", "value", "funding_scheme", "burdens_public", "budgeted_in_apbd", "ksdd_type",
)
AMENDABLE_FIELDS = (
    "title", "urusan", "purpose", "scope", "location", "lead_opd", "end_date", "value", "funding_scheme",
)
ACTIVITY_FIELDS = (
    "name", "indicator", "target", "unit", "schedule_start", "schedule_end", "responsible_opd", "budget",
)
_DATE_FIELDS = frozenset({"start_date", "end_date", "schedule_start", "schedule_end"})


def new_agreement_id() -> str:
    """A fresh stream id ``agreement-<uuid>``."""
    return f"{Agreement.stream_type}-{uuid.uuid4()}"


def _encode(value: Any) -> Any:
    """Plain JSON value of a field (dates as ISO strings, sequences as lists)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(name: str, value: Any) -> Any:
    if name in _DATE_FIELDS and value is not None:
        return date.fromisoformat(value)
    if isinstance(value, list):
        return list(value)
    return value


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _check_field_names(changes: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise refuse(Rule.FIELD_NOT_EDITABLE, f"these fields cannot be changed here: {', '.join(unknown)}",
                     fields={name: "cannot be changed" for name in unknown})


def _parent_kb_id(parent: Agreement | None, *, category: str, document_kind: str, current: str | None,
                  partner_ids: Sequence[str], start: date, end: date, require_signed: bool) -> str | None:
    """Check a PKS against its KB and return the KB's id (None when no KB applies).

    ``current`` is the KB id already on record: a SINERGI PKS without one needs no KB.
    """
    if document_kind != DocumentKind.PKS:
        if parent is not None:
            raise refuse(Rule.PARENT_KB_NOT_ALLOWED, "only a PKS has a parent KB",
                         fields={"parent_kb_id": "only for a PKS"})
        return None
    if parent is None:
        if category == Category.SINERGI and current is None:
            return None
        raise refuse(Rule.PKS_REQUIRES_SIGNED_KB, "a PKS needs its parent KB", fields={"parent_kb_id": "required"})
    if current is not None and parent.stream_id != current:
        raise ValueError(f"{parent.stream_id} is not the parent KB on record ({current})")
    rules.check_parent_kb(parent, category=category, partner_ids=partner_ids, start=start, end=end,
                          require_signed=require_signed)
    return parent.stream_id


class Agreement(Aggregate):
    """A KB or PKS: its terms, workflow, signing, addenda, work plan and reports."""

    stream_type = "agreement"

    def __init__(self, stream_id: str):
        super().__init__(stream_id)
        self.status: str | None = None
        self.category: str | None = None
        self.ksdd_type: str | None = None
        self.document_kind: str | None = None
        self.title = ""
        self.our_number: str | None = None
        self.partner_number: str | None = None
        self.urusan: list[str] = []
        self.purpose = ""
        self.scope = ""
        self.location = ""
        self.lead_opd: str | None = None
        self.start_date: date | None = None
        self.end_date: date | None = None
        self.value = 0
        self.funding_scheme: str | None = None
        self.burdens_public = False
        self.budgeted_in_apbd = False
        self.partner_ids: list[str] = []
        self.parent_kb_id: str | None = None
        self.extends_agreement_id: str | None = None
        self.partner_successions: list[PartnerSuccession] = []
        self.final_evaluation_waiver: dict | None = None
        self.revision_requests: list[dict] = []
        # Token subjects of who drafted and who last edited the draft (None on streams written before
        # authors were recorded): neither may record the TKKSD review of that version.
        self.drafted_by: str | None = None
        self.last_edited_by: str | None = None
        self.review: dict | None = None
        self.dprd_approval: dict | None = None
        self.central_approval: dict | None = None
        self.signing: dict | None = None
        self.activated_on: date | None = None
        self.expired_on: date | None = None
        self.termination: dict | None = None
        self.rejection_reason: str | None = None
        self.cancellation_reason: str | None = None
        self.expiry_reminder: dict | None = None
        self.amendments: list[dict] = []
        self.documents: list[dict] = []
        self.activities: dict[str, Activity] = {}

    # --- derived facts -----------------------------------------------------------------------

    @property
    def is_foreign(self) -> bool:
        return self.category is not None and rules.is_foreign(self.category)

    @property
    def dprd_required(self) -> bool:
        return rules.dprd_required(self.category, self.burdens_public, self.budgeted_in_apbd)

    @property
    def central_required(self) -> bool:
        return rules.central_required(self.category)

    @property
    def has_work_plan(self) -> bool:
        """A PKS carries a work plan; so does a SINERGI Nota Kesepakatan, which has no PKS."""
        return self.document_kind == DocumentKind.PKS or self.category == Category.SINERGI

    def activity_progress(self, activity_id: str) -> float:
        return self._activity(activity_id).progress

    @property
    def progress(self) -> float:
        return agreement_progress(a.progress for a in self.activities.values())

    def _state_after_review(self) -> str:
        if self.dprd_required:
            return Status.AWAITING_DPRD.value
        return self._state_after_dprd()

    def _state_after_dprd(self) -> str:
        return Status.AWAITING_CENTRAL.value if self.central_required else Status.READY_TO_SIGN.value

    def _activity(self, activity_id: str) -> Activity:
        try:
            return self.activities[activity_id]
        except KeyError:
            raise refuse(Rule.ACTIVITY_NOT_FOUND, f"no activity '{activity_id}' in the work plan",
                         kind=Refusal.NOT_FOUND) from None

    def _check_parent(self, parent: Agreement | None, *, end: date) -> None:
        """A PKS's KB must be in force and still cover it (at submission, signing and amendment)."""
        _parent_kb_id(parent, category=self.category, document_kind=self.document_kind, current=self.parent_kb_id,
                      partner_ids=self.partner_ids, start=self.start_date, end=end, require_signed=True)

    def _check_extends(self, old: Agreement | None, *, partner_ids: Sequence[str], start: date) -> None:
        """An extension still fits the agreement it extends, as that one is now (it may have been
        amended or terminated since the draft)."""
        if self.extends_agreement_id is None:
            return
        if old is None or old.stream_id != self.extends_agreement_id:
            raise ValueError(f"{self.stream_id} extends {self.extends_agreement_id}: that agreement is needed")
        rules.check_extends(old, category=self.category, document_kind=self.document_kind, partner_ids=partner_ids,
                            successions=self.partner_successions, start=start)

    def _check_work_plan(self, command: str, role: str, opd: str | None) -> None:
        rules.check_role(command, role)
        rules.check_state(command, self.status)
        if not self.has_work_plan:
            raise refuse(Rule.WORK_PLAN_REQUIRES_PKS, "a work plan belongs to a PKS (or a SINERGI nota kesepakatan)",
                         kind=Refusal.CONFLICT)
        rules.check_opd_scope(role, opd, self.lead_opd)

    def _check_activities_within(self, start: date, end: date) -> None:
        """A new term must still hold every activity of the work plan."""
        for activity in self.activities.values():
            if activity.schedule_start < start:
                raise refuse(Rule.ACTIVITY_OUTSIDE_PERIOD,
                             f"activity '{activity.activity_id}' is scheduled before the new start date",
                             fields={"start_date": f"<= {activity.schedule_start.isoformat()}"})
            if activity.schedule_end > end:
                raise refuse(Rule.ACTIVITY_OUTSIDE_PERIOD,
                             f"activity '{activity.activity_id}' is scheduled after the new end date",
                             fields={"end_date": f">= {activity.schedule_end.isoformat()}"})

    # --- drafting ----------------------------------------------------------------------------

    def draft(
        self, *, role: str, actor: str, category: str, document_kind: str, title: str,
        partners: Sequence[PartnerView | Mapping],
        start_date: date, end_date: date, lead_opd: str, urusan: Sequence[str], burdens_public: bool,
        budgeted_in_apbd: bool, value: int = 0, funding_scheme: str | None = None, purpose: str = "",
        scope: str = "", location: str = "", our_number: str | None = None, partner_number: str | None = None,
        ksdd_type: str | None = None, parent_kb: Agreement | None = None, extends: Agreement | None = None,
        partner_successions: Sequence[PartnerSuccession | Mapping] = (),
    ) -> list[NewEvent]:
        """``DraftAgreement``: Start a new agreement in DRAFT (only on an empty stream).

        A PKS names its KB (``parent_kb``; optional for SINERGI); the KB need not be signed yet
        while drafting but must be by submission. ``extends`` makes this an extension of a
        SIGNED, ACTIVE or EXPIRED agreement of the same category and document kind, with its
        partners (or their legal successors, ``partner_successions``), starting after its end. ``actor``
        (the drafter's token subject) is recorded as the author.
        """
        rules.check_role("draft", role)
        if self.status is not None:
            raise InvalidTransition("draft", self.status)
        category = rules.to_enum(Category, category, "category")
        document_kind = rules.to_enum(DocumentKind, document_kind, "document_kind")
        ksdd_type = rules.check_ksdd_type(category, ksdd_type)
        rules.check_term(start_date, end_date)
        rules.check_amount("value", value)
        views = [PartnerView.of(p) for p in partners]
        rules.check_partner_kinds(category, views)
        partner_ids = [p.id for p in views]
        parent_kb_id = _parent_kb_id(parent_kb, category=category, document_kind=document_kind, current=None,
                                     partner_ids=partner_ids, start=start_date, end=end_date, require_signed=False)
        successions = [PartnerSuccession.of(s) for s in partner_successions]
        if extends is not None:
            rules.check_extends(extends, category=category, document_kind=document_kind, partner_ids=partner_ids,
                                successions=successions, start=start_date)
        else:
            rules.check_successions(successions, old_partner_ids=None, partner_ids=partner_ids)
        return [self._emit(EventType.DRAFTED, {
            "category": category, "ksdd_type": ksdd_type, "document_kind": document_kind, "title": title,
            "our_number": our_number, "partner_number": partner_number, "urusan": list(urusan),
            "purpose": purpose, "scope": scope, "location": location, "lead_opd": lead_opd,
            "start_date": start_date.isoformat(), "end_date": end_date.isoformat(), "value": value,
            "funding_scheme": funding_scheme, "burdens_public": bool(burdens_public),
            "budgeted_in_apbd": bool(budgeted_in_apbd), "partner_ids": partner_ids, "parent_kb_id": parent_kb_id,
            "extends_agreement_id": extends.stream_id if extends is not None else None,
            "partner_successions": [s.as_dict() for s in successions],
            "author": actor,
        })]

    def edit_draft(self, *, role: str, actor: str, changes: Mapping[str, Any],
                   partners: Sequence[PartnerView | Mapping] | None = None,
                   parent_kb: Agreement | None = None, extends: Agreement | None = None) -> list[NewEvent]:
        """``EditDraft``: Change fields of a DRAFT (``EDITABLE_FIELDS``; ``partners`` replaces the parties).

        Category and document kind are fixed: cancel and draft again to change them (so are the
        extended agreement and the declared successions; an extension's edit is checked against
        ``extends``). Returns no events when nothing actually changes. ``actor`` becomes the draft's
        last editor.
        """
        rules.check_role("edit_draft", role)
        rules.check_state("edit_draft", self.status)
        _check_field_names(changes, EDITABLE_FIELDS)
        merged = {name: getattr(self, name) for name in EDITABLE_FIELDS}
        merged.update(changes)
        merged["ksdd_type"] = rules.check_ksdd_type(self.category, merged["ksdd_type"])
        rules.check_term(merged["start_date"], merged["end_date"])
        self._check_activities_within(merged["start_date"], merged["end_date"])
        rules.check_amount("value", merged["value"])
        partner_ids = self.partner_ids
        if partners is not None:
            views = [PartnerView.of(p) for p in partners]
            rules.check_partner_kinds(self.category, views)
            partner_ids = [p.id for p in views]
        parent_kb_id = self.parent_kb_id
        if parent_kb is not None:  # re-link (or first link, for a SINERGI PKS) to this KB
            parent_kb_id = _parent_kb_id(parent_kb, category=self.category, document_kind=self.document_kind,
                                         current=None, partner_ids=partner_ids, start=merged["start_date"],
                                         end=merged["end_date"], require_signed=False)
        self._check_extends(extends, partner_ids=partner_ids, start=merged["start_date"])
        merged["partner_ids"], merged["parent_kb_id"] = partner_ids, parent_kb_id
        diff = {name: _encode(value) for name, value in merged.items()
                if _encode(value) != _encode(getattr(self, name))}
        if not diff:
            return []
        return [self._emit(EventType.DRAFT_EDITED, {"changes": diff, "author": actor})]

    # --- workflow ----------------------------------------------------------------------------

    def submit(self, *, role: str, partners: Sequence[PartnerView | Mapping],
               parent_kb: Agreement | None = None, extends: Agreement | None = None,
               final_evaluations: Sequence[Mapping[str, Any]] = ()) -> list[NewEvent]:
        """``SubmitAgreement``: DRAFT → SUBMITTED; all parties verified, a PKS's KB signed (``partners``:
        current views). An extension still fits ``extends`` and that agreement's final evaluation is
        finalized (``final_evaluations``: its finalized AKHIR evaluations) or waived; the submission
        records which."""
        rules.check_role("submit", role)
        rules.check_state("submit", self.status)
        views = [PartnerView.of(p) for p in partners]
        rules.check_partners_verified(self.partner_ids, views)
        rules.check_partner_kinds(self.category, [p for p in views if p.id in self.partner_ids])
        self._check_parent(parent_kb, end=self.end_date)
        data = {"dprd_required": self.dprd_required, "central_required": self.central_required}
        if self.extends_agreement_id is not None:
            self._check_extends(extends, partner_ids=self.partner_ids, start=self.start_date)
            data["final_evaluation"] = rules.check_final_evaluation(extends, final_evaluations)
        return [self._emit(EventType.SUBMITTED, data)]

    def start_review(self, *, role: str) -> list[NewEvent]:
        """``StartReview``: SUBMITTED → UNDER_REVIEW (the TKKSD takes it up)."""
        rules.check_role("start_review", role)
        rules.check_state("start_review", self.status)
        return [self._emit(EventType.REVIEW_STARTED, {})]

    def return_for_revision(self, *, role: str, reason: str) -> list[NewEvent]:
        """``ReturnForRevision``: SUBMITTED or UNDER_REVIEW → DRAFT, with what to revise."""
        rules.check_role("return_for_revision", role)
        rules.check_state("return_for_revision", self.status)
        return [self._emit(EventType.RETURNED_FOR_REVISION, {"reason": rules.check_reason(reason)})]

    def record_review(self, *, role: str, actor: str, recommended: bool, notes: str, reviewed_on: date,
                      today: date) -> list[NewEvent]:
        """``RecordReview``: The TKKSD's finding: recommended → next approval or READY_TO_SIGN; not → REJECTED
        (with notes). ``actor``, the reviewer's token subject, must not be the draft's author or last editor."""
        rules.check_role("record_review", role)
        rules.check_state("record_review", self.status)
        rules.check_reviewer_not_author(actor, (self.drafted_by, self.last_edited_by))
        rules.check_act_date("reviewed_on", reviewed_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        if not recommended:
            notes = rules.check_reason(notes, "notes")
        next_status = self._state_after_review() if recommended else Status.REJECTED.value
        return [self._emit(EventType.REVIEW_RECORDED, {
            "recommended": bool(recommended), "notes": notes or "", "reviewed_on": reviewed_on.isoformat(),
            "next_status": next_status,
        })]

    def approve_dprd(self, *, role: str, approval_ref: str, approved_on: date, today: date) -> list[NewEvent]:
        """``ApproveDprd``: AWAITING_DPRD → AWAITING_CENTRAL (foreign) or READY_TO_SIGN."""
        rules.check_role("approve_dprd", role)
        rules.check_state("approve_dprd", self.status)
        rules.check_act_date("approved_on", approved_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        return [self._emit(EventType.DPRD_APPROVED, {
            "approval_ref": approval_ref, "approved_on": approved_on.isoformat(),
            "next_status": self._state_after_dprd(),
        })]

    def approve_central(self, *, role: str, approval_ref: str, approved_on: date, today: date) -> list[NewEvent]:
        """``ApproveCentral``: AWAITING_CENTRAL → READY_TO_SIGN (foreign cooperation only)."""
        rules.check_role("approve_central", role)
        rules.check_state("approve_central", self.status)
        rules.check_act_date("approved_on", approved_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        return [self._emit(EventType.CENTRAL_APPROVED, {
            "approval_ref": approval_ref, "approved_on": approved_on.isoformat(),
            "next_status": Status.READY_TO_SIGN.value,
        })]

    def sign(
        self, *, role: str, signatory_name: str, signatory_position: str, signed_on: date, today: date,
        power_of_attorney_ref: str | None = None, partner_signatory_name: str | None = None,
        partner_signatory_position: str | None = None, our_number: str | None = None,
        partner_number: str | None = None, parent_kb: Agreement | None = None, extends: Agreement | None = None,
    ) -> list[NewEvent]:
        """``SignAgreement``: READY_TO_SIGN → SIGNED (even when the start date has passed: ``activate`` is separate).

        Numbers given here (often assigned at signing) replace the draft's. An extension must
        still fit the agreement it extends as that one is now (it may have been amended or
        terminated meanwhile); its final evaluation, checked at submission, cannot be undone.
        """
        rules.check_role("sign", role)
        rules.check_state("sign", self.status)
        rules.check_act_date("signed_on", signed_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        # A stream imported or written under older rules could sit in READY_TO_SIGN without them.
        if self.dprd_required and self.dprd_approval is None:
            raise refuse(Rule.DPRD_APPROVAL_REQUIRED, "no DPRD approval is recorded", kind=Refusal.CONFLICT)
        if self.central_required and self.central_approval is None:
            raise refuse(Rule.CENTRAL_APPROVAL_REQUIRED, "no central-government approval is recorded", kind=Refusal.CONFLICT)
        rules.check_signatory(self.document_kind, signatory_position, power_of_attorney_ref)
        self._check_parent(parent_kb, end=self.end_date)
        self._check_extends(extends, partner_ids=self.partner_ids, start=self.start_date)
        partner_signatory = None
        if partner_signatory_name:
            partner_signatory = {"name": partner_signatory_name, "position": partner_signatory_position}
        return [self._emit(EventType.SIGNED, {
            "signed_on": signed_on.isoformat(),
            "signatory": {"name": signatory_name, "position": signatory_position,
                          "power_of_attorney_ref": power_of_attorney_ref or None},
            "partner_signatory": partner_signatory,
            "our_number": our_number if our_number is not None else self.our_number,
            "partner_number": partner_number if partner_number is not None else self.partner_number,
        })]

    def activate(self, *, role: str, on: date) -> list[NewEvent]:
        """``ActivateAgreement``: SIGNED → ACTIVE once the start date is reached.

        ``activated_on`` is the day the agreement came into force — its start date, or its signing
        date when it was signed later — not the day the scheduler noticed (``on``), so a scheduler
        that was down for a week records the same fact as one that ran on time.
        """
        rules.check_role("activate", role)
        rules.check_state("activate", self.status)
        if on < self.start_date:
            raise refuse(Rule.NOT_YET_STARTED, f"the agreement starts on {self.start_date.isoformat()}", kind=Refusal.CONFLICT)
        in_force = max(self.start_date, date.fromisoformat(self.signing["signed_on"]))
        return [self._emit(EventType.ACTIVATED, {"activated_on": min(in_force, on).isoformat()})]

    def expire(self, *, role: str, on: date) -> list[NewEvent]:
        """``ExpireAgreement``: SIGNED/ACTIVE → EXPIRED once the end date has passed (``on`` > end date).

        ``expired_on`` is the first day after the end date, whenever the scheduler notices.
        """
        rules.check_role("expire", role)
        rules.check_state("expire", self.status)
        if on <= self.end_date:
            raise refuse(Rule.NOT_YET_ENDED, f"the agreement runs until {self.end_date.isoformat()}", kind=Refusal.CONFLICT)
        return [self._emit(EventType.EXPIRED, {"expired_on": (self.end_date + timedelta(days=1)).isoformat(),
                                               "end_date": self.end_date.isoformat()})]

    def terminate(self, *, role: str, reason: str, on: date, today: date) -> list[NewEvent]:
        """``TerminateAgreement``: SIGNED/ACTIVE → TERMINATED: ended early, with the reason."""
        rules.check_role("terminate", role)
        rules.check_state("terminate", self.status)
        rules.check_act_date("on", on, today=today, previous=self.previous_step(), end=self.end_date)
        return [self._emit(EventType.TERMINATED,
                           {"reason": rules.check_reason(reason), "terminated_on": on.isoformat()})]

    def reject(self, *, role: str, reason: str) -> list[NewEvent]:
        """``RejectAgreement``: Any state before SIGNED → REJECTED."""
        rules.check_role("reject", role)
        rules.check_state("reject", self.status)
        return [self._emit(EventType.REJECTED, {"reason": rules.check_reason(reason)})]

    def cancel(self, *, role: str, reason: str) -> list[NewEvent]:
        """``CancelAgreement``: Any state before SIGNED → CANCELLED (withdrawn by the region)."""
        rules.check_role("cancel", role)
        rules.check_state("cancel", self.status)
        return [self._emit(EventType.CANCELLED, {"reason": rules.check_reason(reason)})]

    def raise_expiry_reminder(self, *, role: str, on: date) -> list[NewEvent]:
        """``RaiseExpiryReminder``: H-90: from 90 days before the end date up to the end date, once per end
        date; else []."""
        rules.check_role("raise_expiry_reminder", role)
        rules.check_state("raise_expiry_reminder", self.status)
        days_left = (self.end_date - on).days
        already = self.expiry_reminder is not None and self.expiry_reminder["end_date"] == self.end_date.isoformat()
        if already or not 0 <= days_left <= REMINDER_DAYS:
            return []
        return [self._emit(EventType.EXPIRY_REMINDER_RAISED, {
            "raised_on": on.isoformat(), "end_date": self.end_date.isoformat(), "days_left": days_left,
        })]

    def amend(
        self, *, role: str, number: str, signed_on: date, today: date, reason: str, changes: Mapping[str, Any],
        signatory_name: str, signatory_position: str, power_of_attorney_ref: str | None = None,
        partner_number: str | None = None, parent_kb: Agreement | None = None,
    ) -> list[NewEvent]:
        """``AmendAgreement``: Record a signed ADENDUM: ``changes`` of ``AMENDABLE_FIELDS`` apply from now on.

        The addendum is signed under the same rules as the agreement itself; a changed end
        date keeps the five-year limit, the activities' schedules and (for a PKS) the KB period.
        """
        rules.check_role("amend", role)
        rules.check_state("amend", self.status)
        reason = rules.check_reason(reason)
        _check_field_names(changes, AMENDABLE_FIELDS)
        rules.check_signatory(self.document_kind, signatory_position, power_of_attorney_ref)
        if "value" in changes:
            rules.check_amount("value", changes["value"])
        if "end_date" in changes:
            end = changes["end_date"]
            rules.check_term(self.start_date, end)
            self._check_activities_within(self.start_date, end)
            self._check_parent(parent_kb, end=end)
        # Signed while the term runs, and not after a new end date it sets itself.
        new_end = changes.get("end_date")
        rules.check_act_date("signed_on", signed_on, today=today, previous=self.previous_step(),
                             end=min(self.end_date, new_end) if new_end else self.end_date)
        previous = {name: _encode(getattr(self, name)) for name in changes}
        return [self._emit(EventType.AMENDED, {
            "addendum_no": len(self.amendments) + 1, "number": number, "partner_number": partner_number,
            "signed_on": signed_on.isoformat(), "reason": reason,
            "signatory": {"name": signatory_name, "position": signatory_position,
                          "power_of_attorney_ref": power_of_attorney_ref or None},
            "changes": {name: _encode(value) for name, value in changes.items()}, "previous": previous,
        })]

    def waive_final_evaluation(self, *, role: str, reason: str, today: date) -> list[NewEvent]:
        """``WaiveFinalEvaluation``: the leadership decides that this agreement may be extended without a
        finalized final (AKHIR) evaluation, and says why; recorded once, dated by the server."""
        rules.check_role("waive_final_evaluation", role)
        rules.check_state("waive_final_evaluation", self.status)
        reason = rules.check_reason(reason)
        if self.final_evaluation_waiver is not None:
            raise refuse(Rule.FINAL_EVALUATION_ALREADY_WAIVED,
                         f"the final evaluation was waived on {self.final_evaluation_waiver['waived_on']}",
                         kind=Refusal.CONFLICT)
        return [self._emit(EventType.FINAL_EVALUATION_WAIVED, {"reason": reason, "waived_on": today.isoformat()})]

    def attach_document(self, *, role: str, kind: str, file: Mapping[str, Any]) -> list[NewEvent]:
        """``AttachDocument``: Attach a document (signed scan, KAK, feasibility study, other) in any state but
        REJECTED/CANCELLED."""
        rules.check_role("attach_document", role)
        rules.check_state("attach_document", self.status)
        kind = rules.to_enum(AttachmentKind, kind, "kind")
        return [self._emit(EventType.DOCUMENT_ATTACHED, {"kind": kind, "file": rules.check_file_meta(file)})]

    # --- work plan and reports ---------------------------------------------------------------

    def add_activity(
        self, *, role: str, opd: str | None = None, activity_id: str, name: str, indicator: str,
        target: float | int, unit: str, schedule_start: date, schedule_end: date, responsible_opd: str,
        budget: int = 0,
    ) -> list[NewEvent]:
        """``AddActivity``: Add an activity to the work plan of a PKS being drafted or in force (OPD
        officers: the lead OPD's only)."""
        self._check_work_plan("add_activity", role, opd)
        if activity_id in self.activities:
            raise refuse(Rule.ACTIVITY_EXISTS, f"activity '{activity_id}' already exists", kind=Refusal.CONFLICT)
        values = {"name": name, "indicator": indicator, "target": target, "unit": unit,
                  "schedule_start": schedule_start, "schedule_end": schedule_end,
                  "responsible_opd": responsible_opd, "budget": budget}
        check_activity_fields(values, self.start_date, self.end_date)
        return [self._emit(EventType.ACTIVITY_ADDED,
                           {"activity_id": activity_id, **{k: _encode(v) for k, v in values.items()}})]

    def update_activity(self, *, role: str, opd: str | None = None, activity_id: str,
                        changes: Mapping[str, Any]) -> list[NewEvent]:
        """``UpdateActivity``: Change fields of an activity (``ACTIVITY_FIELDS``); no events when nothing changes."""
        self._check_work_plan("update_activity", role, opd)
        activity = self._activity(activity_id)
        _check_field_names(changes, ACTIVITY_FIELDS)
        merged = {name: getattr(activity, name) for name in ACTIVITY_FIELDS}
        merged.update(changes)
        check_activity_fields(merged, self.start_date, self.end_date)
        diff = {k: _encode(v) for k, v in changes.items() if _encode(v) != _encode(getattr(activity, k))}
        if not diff:
            return []
        return [self._emit(EventType.ACTIVITY_UPDATED, {"activity_id": activity_id, "changes": diff})]

    def remove_activity(self, *, role: str, opd: str | None = None, activity_id: str) -> list[NewEvent]:
        """``RemoveActivity``: Remove an activity that has no reports yet (reports are evidence and stay)."""
        self._check_work_plan("remove_activity", role, opd)
        if self._activity(activity_id).reports:
            raise refuse(Rule.ACTIVITY_HAS_REPORTS, f"activity '{activity_id}' has reports and cannot be removed",
                         kind=Refusal.CONFLICT)
        return [self._emit(EventType.ACTIVITY_REMOVED, {"activity_id": activity_id})]

    def file_report(
        self, *, role: str, opd: str | None = None, activity_id: str, period: str, realisation: float | int,
        obstacles: str = "", solutions: str = "", evidence: Sequence[Mapping[str, Any]] = (), filed_on: date,
        today: date,
    ) -> list[NewEvent]:
        """``FileReport``: File the implementation report of one activity for one quarter (``YYYY-TWn``).

        ``realisation`` is cumulative up to the end of the period; filing a period again
        replaces that period's report. OPD officers report for their own activities only.
        """
        rules.check_role("file_report", role)
        rules.check_state("file_report", self.status)
        if not self.has_work_plan:
            raise refuse(Rule.WORK_PLAN_REQUIRES_PKS, "a work plan belongs to a PKS (or a SINERGI nota kesepakatan)",
                         kind=Refusal.CONFLICT)
        activity = self._activity(activity_id)
        rules.check_opd_scope(role, opd, activity.responsible_opd)
        signing = ("signing", date.fromisoformat(self.signing["signed_on"])) if self.signing else None
        rules.check_act_date("filed_on", filed_on, today=today, previous=signing)
        first, last = period_bounds(period)
        if last < self.start_date or first > self.end_date:
            raise refuse(Rule.PERIOD_OUTSIDE_AGREEMENT, f"{period} lies outside the agreement's term",
                         fields={"period": "must overlap the agreement's term"})
        if filed_on < first:
            raise refuse(Rule.PERIOD_NOT_STARTED, f"{period} has not started on {filed_on.isoformat()}",
                         fields={"period": "must have started"})
        check_realisation(realisation)
        files = [rules.check_file_meta(meta, f"evidence[{i}]") for i, meta in enumerate(evidence)]
        return [self._emit(EventType.REPORT_FILED, {
            "activity_id": activity_id, "period": period, "realisation": realisation, "obstacles": obstacles,
            "solutions": solutions, "evidence": files, "filed_on": filed_on.isoformat(),
        })]

    # --- state changes (the only place state is written) -------------------------------------

    def when_agreement_drafted(self, data: Mapping[str, Any]) -> None:
        for name in ("category", "ksdd_type", "document_kind", "partner_ids", "parent_kb_id",
                     "extends_agreement_id", *EDITABLE_FIELDS):
            setattr(self, name, _decode(name, data[name]))
        self.drafted_by = data.get("author")
        # Drafts recorded before successions existed carry none.
        self.partner_successions = [PartnerSuccession.of(s) for s in data.get("partner_successions", ())]
        self.status = Status.DRAFT.value

    def when_agreement_draft_edited(self, data: Mapping[str, Any]) -> None:
        for name, value in data["changes"].items():
            setattr(self, name, _decode(name, value))
        self.last_edited_by = data.get("author")

    def when_agreement_submitted(self, data: Mapping[str, Any]) -> None:
        self.status = Status.SUBMITTED.value

    def when_agreement_review_started(self, data: Mapping[str, Any]) -> None:
        self.status = Status.UNDER_REVIEW.value

    def when_agreement_returned_for_revision(self, data: Mapping[str, Any]) -> None:
        self.revision_requests.append({"reason": data["reason"]})
        self.status = Status.DRAFT.value

    def when_agreement_review_recorded(self, data: Mapping[str, Any]) -> None:
        self.review = {"recommended": data["recommended"], "notes": data["notes"], "reviewed_on": data["reviewed_on"]}
        if data["next_status"] == Status.REJECTED:
            self.rejection_reason = data["notes"]
        self.status = data["next_status"]

    def when_agreement_dprd_approved(self, data: Mapping[str, Any]) -> None:
        self.dprd_approval = {"approval_ref": data["approval_ref"], "approved_on": data["approved_on"]}
        self.status = data["next_status"]

    def when_agreement_central_approved(self, data: Mapping[str, Any]) -> None:
        self.central_approval = {"approval_ref": data["approval_ref"], "approved_on": data["approved_on"]}
        self.status = data["next_status"]

    def when_agreement_signed(self, data: Mapping[str, Any]) -> None:
        self.signing = {"signed_on": data["signed_on"], "signatory": dict(data["signatory"]),
                        "partner_signatory": dict(data["partner_signatory"]) if data["partner_signatory"] else None}
        self.our_number, self.partner_number = data["our_number"], data["partner_number"]
        self.status = Status.SIGNED.value

    def when_agreement_activated(self, data: Mapping[str, Any]) -> None:
        self.activated_on = date.fromisoformat(data["activated_on"])
        self.status = Status.ACTIVE.value

    def when_agreement_expired(self, data: Mapping[str, Any]) -> None:
        self.expired_on = date.fromisoformat(data["expired_on"])
        self.status = Status.EXPIRED.value

    def when_agreement_terminated(self, data: Mapping[str, Any]) -> None:
        self.termination = {"reason": data["reason"], "terminated_on": data["terminated_on"]}
        self.status = Status.TERMINATED.value

    def when_agreement_rejected(self, data: Mapping[str, Any]) -> None:
        self.rejection_reason = data["reason"]
        self.status = Status.REJECTED.value

    def when_agreement_cancelled(self, data: Mapping[str, Any]) -> None:
        self.cancellation_reason = data["reason"]
        self.status = Status.CANCELLED.value

    def when_agreement_expiry_reminder_raised(self, data: Mapping[str, Any]) -> None:
        self.expiry_reminder = {"raised_on": data["raised_on"], "end_date": data["end_date"]}

    def when_agreement_amended(self, data: Mapping[str, Any]) -> None:
        for name, value in data["changes"].items():
            setattr(self, name, _decode(name, value))
        self.amendments.append({key: data[key] for key in (
            "addendum_no", "number", "partner_number", "signed_on", "reason", "signatory", "changes", "previous")})

    def when_agreement_final_evaluation_waived(self, data: Mapping[str, Any]) -> None:
        self.final_evaluation_waiver = {"reason": data["reason"], "waived_on": data["waived_on"]}

    def when_agreement_document_attached(self, data: Mapping[str, Any]) -> None:
        self.documents.append({"kind": data["kind"], "file": dict(data["file"])})

    def when_agreement_activity_added(self, data: Mapping[str, Any]) -> None:
        self.activities[data["activity_id"]] = Activity(
            activity_id=data["activity_id"], **{name: _decode(name, data[name]) for name in ACTIVITY_FIELDS})

    def when_agreement_activity_updated(self, data: Mapping[str, Any]) -> None:
        activity = self.activities[data["activity_id"]]
        for name, value in data["changes"].items():
            setattr(activity, name, _decode(name, value))

    def when_agreement_activity_removed(self, data: Mapping[str, Any]) -> None:
        del self.activities[data["activity_id"]]

    def when_agreement_report_filed(self, data: Mapping[str, Any]) -> None:
        self.activities[data["activity_id"]].reports[data["period"]] = Report(
            period=data["period"], realisation=data["realisation"], obstacles=data["obstacles"],
            solutions=data["solutions"], evidence=[dict(e) for e in data["evidence"]],
            filed_on=date.fromisoformat(data["filed_on"]))

    # --- views -------------------------------------------------------------------------------

    def previous_step(self) -> tuple[str, date] | None:
        """The latest dated act recorded so far (TKKSD review, approvals, signing, addenda, activation,
        termination): a new act may not be dated before it."""
        acts = [(name, record[key]) for name, record, key in (
            ("TKKSD review", self.review, "reviewed_on"), ("DPRD approval", self.dprd_approval, "approved_on"),
            ("central-government approval", self.central_approval, "approved_on"),
            ("signing", self.signing, "signed_on"), ("termination", self.termination, "terminated_on"),
        ) if record and record.get(key)]
        acts += [(f"addendum {a['number']}", a["signed_on"]) for a in self.amendments]
        if self.activated_on:
            acts.append(("activation", self.activated_on.isoformat()))
        if not acts:
            return None
        name, day = max(acts, key=lambda act: act[1])
        return name, date.fromisoformat(day)

    def snapshot(self) -> dict:
        """The whole state as a JSON-able dict (GET responses, audit "as of" views)."""
        return {
            "id": self.stream_id, "version": self.version, "status": self.status,
            "category": self.category, "ksdd_type": self.ksdd_type, "document_kind": self.document_kind,
            "is_foreign": self.is_foreign, "title": self.title,
            "our_number": self.our_number, "partner_number": self.partner_number, "urusan": list(self.urusan),
            "purpose": self.purpose, "scope": self.scope, "location": self.location, "lead_opd": self.lead_opd,
            "start_date": _iso(self.start_date), "end_date": _iso(self.end_date), "value": self.value,
            "funding_scheme": self.funding_scheme, "burdens_public": self.burdens_public,
            "budgeted_in_apbd": self.budgeted_in_apbd, "partner_ids": list(self.partner_ids),
            "parent_kb_id": self.parent_kb_id, "extends_agreement_id": self.extends_agreement_id,
            "partner_successions": [s.as_dict() for s in self.partner_successions],
            "final_evaluation_waiver": dict(self.final_evaluation_waiver) if self.final_evaluation_waiver else None,
            "dprd_required": self.dprd_required if self.category else None,
            "central_required": self.central_required if self.category else None,
            "revision_requests": [dict(r) for r in self.revision_requests],
            "review": dict(self.review) if self.review else None,
            "dprd_approval": dict(self.dprd_approval) if self.dprd_approval else None,
            "central_approval": dict(self.central_approval) if self.central_approval else None,
            "signing": _deepcopy(self.signing), "activated_on": _iso(self.activated_on),
            "expired_on": _iso(self.expired_on), "termination": dict(self.termination) if self.termination else None,
            "rejection_reason": self.rejection_reason, "cancellation_reason": self.cancellation_reason,
            "expiry_reminder": dict(self.expiry_reminder) if self.expiry_reminder else None,
            "amendments": _deepcopy(self.amendments), "documents": _deepcopy(self.documents),
            "activities": [a.as_dict() for a in self.activities.values()],
            "progress": round(self.progress, 2),
        }

    as_dict = snapshot


def _deepcopy(value: Any) -> Any:
    """Copy nested dicts/lists so a snapshot never aliases the aggregate's state."""
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value
