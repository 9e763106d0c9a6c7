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
- An unfavourable TKKSD review is a recommendation to the head of region, not a decision: it
  returns the draft for revision (``agreement.review_recorded`` with ``recommended: false`` and
  ``next_status: DRAFT``; the notes become the revision request). Rejecting stays a separate,
  explicit decision of the leaders (``reject``).
- An ADENDUM has its own small lifecycle on the stream of the signed agreement it amends
  (``draft_addendum`` → ``submit_addendum`` → ``record_addendum_review`` → [DPRD] → [central] →
  ``sign_addendum``); the agreement stays in force meanwhile and only the signing changes its
  terms (``agreement.amended``). One addendum is open at a time; addenda are numbered 1, 2, …
  per agreement. Whether the review and the approvals are needed follows from named rules
  (``rules.addendum_is_substantive``, ``rules.addendum_touches_approved_terms``) and from the
  agreement's own ``dprd_required``/``central_required`` evaluated on the amended terms.
- The H-90 expiry reminder is raised once per end date: a second call returns no events; an
  addendum that moves the end date allows one reminder for the new date.
- An extension (perpanjangan) is a new agreement drafted with ``extends=<old Agreement>``; the
  rules that make it one (same partners or declared successors, the term right after the old one,
  the old one's final evaluation or its waiver) are checked at drafting, editing, submission and
  signing — see ``rules.check_extends``. The waiver is an event on the old agreement
  (``waive_final_evaluation``); that only one extension is live at a time needs an index across
  streams and is the handler's (``rules.check_one_live_extension``).
- A PKS lies within its KB. A PKS's own commands check it (draft, edit, submit, sign, addendum,
  activation); a change of the KB itself (an addendum, a termination) is a signed fact the region
  records as it is, and each of its PKS gets ``agreement.parent_changed`` (``record_parent_change``,
  sent by the KB cascade worker, idempotent by the causing KB event); when the PKS now lies outside
  the KB that flags it for review until the Bagian Kerja Sama acknowledges it
  (``acknowledge_parent_change``, with a note).
"""
from __future__ import annotations

import copy
import uuid
from datetime import date, timedelta
from typing import Any, Mapping, Sequence

from shared.domain import Aggregate, InvalidTransition, NewEvent, Refusal
from shared.vocabularies import Vocabularies, default as default_vocabularies
from shared.vocabularies.funding import LEGACY_FLAG, legacy_funding

import services.agreements.domain.rules as rules
from .rules import AddendumStatus, AttachmentKind, Category, DocumentKind, PartnerSuccession, PartnerView, Rule, Status, refuse
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
    FINAL_EVALUATION_WAIVED = "agreement.final_evaluation_waived"
    ADDENDUM_DRAFTED = "agreement.addendum_drafted"
    ADDENDUM_EDITED = "agreement.addendum_edited"
    ADDENDUM_SUBMITTED = "agreement.addendum_submitted"
    ADDENDUM_REVIEW_RECORDED = "agreement.addendum_review_recorded"
    ADDENDUM_DPRD_APPROVED = "agreement.addendum_dprd_approved"
    ADDENDUM_CENTRAL_APPROVED = "agreement.addendum_central_approved"
    ADDENDUM_WITHDRAWN = "agreement.addendum_withdrawn"
    ADDENDUM_REJECTED = "agreement.addendum_rejected"
    AMENDED = "agreement.amended"  # an addendum signed: its changes apply from now on
    DOCUMENT_ATTACHED = "agreement.document_attached"
    PARENT_CHANGED = "agreement.parent_changed"
    PARENT_CHANGE_ACKNOWLEDGED = "agreement.parent_change_acknowledged"
    ACTIVITY_ADDED = "agreement.activity_added"
    ACTIVITY_UPDATED = "agreement.activity_updated"
    ACTIVITY_REMOVED = "agreement.activity_removed"
    REPORT_FILED = "agreement.report_filed"


EVENT_TYPES: tuple[str, ...] = tuple(v for k, v in vars(EventType).items() if k.isupper())

REMINDER_DAYS = 90

EDITABLE_FIELDS = (
    "title", "our_number", "partner_number", "urusan", "purpose", "scope", "location", "lead_opd",
    "start_date", "end_date", "value", "funding", "funding_scheme", "burdens_public", "ksdd_type",
)
AMENDABLE_FIELDS = (
    "title", "urusan", "purpose", "scope", "location", "lead_opd", "end_date", "value", "funding", "funding_scheme",
)
# Schema versions of the events whose shape changed (older ones are lifted by ``upcasters.py``):
# 2 = funding as sources with amounts instead of the ``budgeted_in_apbd`` flag (issue 11).
TERMS_SCHEMA_VERSION = 2
ACTIVITY_FIELDS = (
    "name", "indicator", "target", "unit", "schedule_start", "schedule_end", "responsible_opd", "budget",
)
_DATE_FIELDS = frozenset({"start_date", "end_date", "schedule_start", "schedule_end"})
# What of a KB its PKS depend on: a change of any of these is recorded on each PKS.
KB_TERMS_FOR_PKS = ("start_date", "end_date", "partner_ids", "status")


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
        return [dict(v) if isinstance(v, Mapping) else v for v in value]
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
        self.funding: list[dict] = []
        # Set only for agreements drafted before funding sources (their old ``budgeted_in_apbd``):
        # their funding follows their value, as the flag did.
        self.legacy_budgeted: bool | None = None
        self.burdens_public = False
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
        # addendum number (as text) → [drafted by, last edited by]: token subjects, not shown in snapshots
        self.addendum_authors: dict[str, list[str | None]] = {}
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
        self.addenda: list[dict] = []     # every addendum, in any state
        self.amendments: list[dict] = []  # the signed ones, as applied
        self.documents: list[dict] = []
        self.activities: dict[str, Activity] = {}
        self.parent_changes: list[dict] = []

    # --- derived facts -----------------------------------------------------------------------

    @property
    def is_foreign(self) -> bool:
        return self.category is not None and rules.is_foreign(self.category)

    @property
    def dprd_required(self) -> bool:
        return rules.dprd_required(self.category, self.burdens_public, self.funding)

    @property
    def central_required(self) -> bool:
        return rules.central_required(self.category)

    @property
    def has_work_plan(self) -> bool:
        """A PKS carries a work plan; so does a SINERGI Nota Kesepakatan, which has no PKS."""
        return self.document_kind == DocumentKind.PKS or self.category == Category.SINERGI

    @property
    def parent_change_pending(self) -> bool:
        """A change of the KB that left this PKS outside it is recorded and not yet acknowledged (the
        review flag)."""
        return any(change["outside_kb"] and change["acknowledged"] is None for change in self.parent_changes)

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

    def _check_parent(self, parent: Agreement | None, *, start: date | None = None, end: date | None = None,
                      partner_ids: Sequence[str] | None = None) -> None:
        """A PKS's KB must be in force and still cover it (at submission, signing and amendment);
        ``start``/``end``/``partner_ids`` are the PKS's terms as they would become."""
        _parent_kb_id(parent, category=self.category, document_kind=self.document_kind, current=self.parent_kb_id,
                      partner_ids=self.partner_ids if partner_ids is None else partner_ids,
                      start=start or self.start_date, end=end or self.end_date, require_signed=True)

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
        funding: Sequence[Mapping[str, Any]] = (), value: int | None = None, funding_scheme: str | None = None,
        purpose: str = "", scope: str = "", location: str = "", our_number: str | None = None,
        partner_number: str | None = None, ksdd_type: str | None = None, parent_kb: Agreement | None = None,
        extends: Agreement | None = None, partner_successions: Sequence[PartnerSuccession | Mapping] = (),
        vocab: Vocabularies | None = None,
    ) -> list[NewEvent]:
        """``DraftAgreement``: Start a new agreement in DRAFT (only on an empty stream).

        A PKS names its KB (``parent_kb``; optional for SINERGI); the KB need not be signed yet
        while drafting but must be by submission. ``extends`` makes this an extension of a
        SIGNED, ACTIVE or EXPIRED agreement of the same category and document kind, with its
        partners (or their legal successors, ``partner_successions``), starting after its end.
        ``funding`` lists the sources with amounts; ``value`` (their sum when left out) must equal it.
        Urusan, lead OPD and funding sources are codes of the controlled vocabularies (``vocab``,
        default: packaged). ``actor``
        (the drafter's token subject) is recorded as the author.
        """
        vocab = vocab or default_vocabularies()
        rules.check_role("draft", role)
        if self.status is not None:
            raise InvalidTransition("draft", self.status)
        category = rules.to_enum(Category, category, "category")
        document_kind = rules.to_enum(DocumentKind, document_kind, "document_kind")
        ksdd_type = rules.check_ksdd_type(category, ksdd_type)
        rules.check_term(start_date, end_date)
        urusan = rules.check_urusan(urusan, vocab)
        rules.check_opd(lead_opd, vocab, "lead_opd")
        if value is None:
            value = rules.funding_total(funding)
        funding = rules.check_funding(funding, value, vocab)
        views = [PartnerView.of(p) for p in partners]
        rules.check_partner_kinds(category, views)
        rules.check_ksdd_neighbours(category, ksdd_type, views, vocab)
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
            "funding": funding, "funding_scheme": funding_scheme, "burdens_public": bool(burdens_public),
            "partner_ids": partner_ids, "parent_kb_id": parent_kb_id,
            "extends_agreement_id": extends.stream_id if extends is not None else None,
            "partner_successions": [s.as_dict() for s in successions],
            "author": actor,
        }, TERMS_SCHEMA_VERSION)]

    def edit_draft(self, *, role: str, actor: str, changes: Mapping[str, Any],
                   partners: Sequence[PartnerView | Mapping] | None = None,
                   parent_kb: Agreement | None = None, extends: Agreement | None = None,
                   vocab: Vocabularies | None = None) -> list[NewEvent]:
        """``EditDraft``: Change fields of a DRAFT (``EDITABLE_FIELDS``; ``partners`` replaces the parties).

        Category and document kind are fixed: cancel and draft again to change them (so are the
        extended agreement and the declared successions; an extension's edit is checked against
        ``extends``). Returns no events when nothing actually changes. ``actor`` becomes the draft's
        last editor.
        """
        vocab = vocab or default_vocabularies()
        rules.check_role("edit_draft", role)
        rules.check_state("edit_draft", self.status)
        _check_field_names(changes, EDITABLE_FIELDS)
        merged = {name: getattr(self, name) for name in EDITABLE_FIELDS}
        merged.update(changes)
        if "funding" in changes and "value" not in changes:  # the value follows the new sources
            merged["value"] = rules.funding_total(merged["funding"])
        merged["ksdd_type"] = rules.check_ksdd_type(self.category, merged["ksdd_type"])
        rules.check_term(merged["start_date"], merged["end_date"])
        self._check_activities_within(merged["start_date"], merged["end_date"])
        merged["urusan"] = rules.check_urusan(merged["urusan"], vocab)
        rules.check_opd(merged["lead_opd"], vocab, "lead_opd")
        merged["funding"] = rules.check_funding(merged["funding"], merged["value"], vocab)
        partner_ids = self.partner_ids
        if partners is not None:
            views = [PartnerView.of(p) for p in partners]
            rules.check_partner_kinds(self.category, views)
            rules.check_ksdd_neighbours(self.category, merged["ksdd_type"], views, vocab)
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
        return [self._emit(EventType.DRAFT_EDITED, {"changes": diff, "author": actor}, TERMS_SCHEMA_VERSION)]

    # --- workflow ----------------------------------------------------------------------------

    def submit(self, *, role: str, partners: Sequence[PartnerView | Mapping],
               parent_kb: Agreement | None = None, extends: Agreement | None = None,
               final_evaluations: Sequence[Mapping[str, Any]] = (), vocab: Vocabularies | None = None) -> list[NewEvent]:
        """``SubmitAgreement``: DRAFT → SUBMITTED; all parties verified, a PKS's KB signed (``partners``:
        current views), a KSDD wajib only with bordering regions. An extension still fits ``extends``
        and that agreement's final evaluation is finalized (``final_evaluations``: its finalized AKHIR
        evaluations) or waived; the submission records which."""
        vocab = vocab or default_vocabularies()
        rules.check_role("submit", role)
        rules.check_state("submit", self.status)
        views = [PartnerView.of(p) for p in partners]
        rules.check_partners_verified(self.partner_ids, views)
        parties = [p for p in views if p.id in self.partner_ids]
        rules.check_partner_kinds(self.category, parties)
        rules.check_ksdd_neighbours(self.category, self.ksdd_type, parties, vocab)
        self._check_parent(parent_kb)
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
        """``RecordReview``: The TKKSD's recommendation: favourable → next approval or READY_TO_SIGN;
        unfavourable → back to DRAFT for revision, its notes (required) being what to revise. The
        head of region may still ``reject`` the draft. ``actor``, the reviewer's token subject, must not be
        the draft's author or last editor."""
        rules.check_role("record_review", role)
        rules.check_state("record_review", self.status)
        rules.check_reviewer_not_author(actor, (self.drafted_by, self.last_edited_by))
        rules.check_act_date("reviewed_on", reviewed_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        if not recommended:
            notes = rules.check_reason(notes, "notes")
        next_status = self._state_after_review() if recommended else Status.DRAFT.value
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
        self._check_parent(parent_kb)
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

    def activate(self, *, role: str, on: date, parent_kb: Agreement | None = None) -> list[NewEvent]:
        """``ActivateAgreement``: SIGNED → ACTIVE once the start date is reached (a PKS: while its KB,
        ``parent_kb``, is in force and still covers it — ``parent_kb_not_in_force`` otherwise).

        ``activated_on`` is the day the agreement came into force — its start date, or its signing
        date when it was signed later — not the day the scheduler noticed (``on``), so a scheduler
        that was down for a week records the same fact as one that ran on time.
        """
        rules.check_role("activate", role)
        rules.check_state("activate", self.status)
        if on < self.start_date:
            raise refuse(Rule.NOT_YET_STARTED, f"the agreement starts on {self.start_date.isoformat()}", kind=Refusal.CONFLICT)
        if self.parent_kb_id is not None:
            if parent_kb is not None and parent_kb.stream_id != self.parent_kb_id:
                raise ValueError(f"{parent_kb.stream_id} is not the parent KB on record ({self.parent_kb_id})")
            rules.check_parent_kb_in_force(parent_kb, category=self.category, partner_ids=self.partner_ids,
                                           start=self.start_date, end=self.end_date)
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

    def terminate(self, *, role: str, reason: str, on: date, today: date, reason_code: str = "lainnya",
                  vocab: Vocabularies | None = None) -> list[NewEvent]:
        """``TerminateAgreement``: SIGNED/ACTIVE → TERMINATED: ended early, with the ground
        (``reason_code`` from ``termination_reasons.json``) and its explanation (``reason``)."""
        vocab = vocab or default_vocabularies()
        rules.check_role("terminate", role)
        rules.check_state("terminate", self.status)
        rules.check_act_date("on", on, today=today, previous=self.previous_step(), end=self.end_date)
        reason_code = rules.check_termination_reason(reason_code, vocab)
        return [self._emit(EventType.TERMINATED, {"reason": rules.check_reason(reason), "reason_code": reason_code,
                                                  "terminated_on": on.isoformat()})]

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

    # --- addenda ------------------------------------------------------------------------------

    @property
    def open_addendum(self) -> dict | None:
        """The addendum in progress (at most one), or None."""
        return next((a for a in self.addenda if a["status"] not in rules.ADDENDUM_CLOSED), None)

    def _addendum(self, command: str, role: str, addendum_no: int) -> dict:
        """The addendum ``addendum_no`` once the actor, the agreement's state and the addendum's allow
        ``command``."""
        rules.check_role(command, role)
        rules.check_state(command, self.status)
        addendum = next((a for a in self.addenda if a["addendum_no"] == addendum_no), None)
        if addendum is None:
            raise refuse(Rule.ADDENDUM_NOT_FOUND, f"no addendum {addendum_no} on this agreement",
                         kind=Refusal.NOT_FOUND)
        rules.check_addendum_state(command, addendum["status"])
        return addendum

    def _check_addendum_changes(self, changes: Mapping[str, Any], parent_kb: Agreement | None,
                                vocab: Vocabularies | None = None) -> dict:
        """The changes an addendum proposes, checked against the agreement as it is now: amendable
        fields only, codes of the controlled vocabularies, funding that adds up to the value, a lawful
        term that still holds the work plan and (for a PKS) lies within its KB."""
        if not changes:
            raise refuse(Rule.ADDENDUM_CHANGES_REQUIRED, "an addendum changes at least one term",
                         fields={"changes": "at least one field"})
        _check_field_names(changes, AMENDABLE_FIELDS)
        vocab = vocab or default_vocabularies()
        changes = dict(changes)
        if "urusan" in changes:
            changes["urusan"] = rules.check_urusan(changes["urusan"], vocab)
        if "lead_opd" in changes:
            rules.check_opd(changes["lead_opd"], vocab, "lead_opd")
        if "value" in changes or "funding" in changes:
            funding = changes.get("funding", self.funding)
            value = changes.get("value", rules.funding_total(funding))
            changes["funding"] = rules.check_funding(funding, value, vocab)
            changes["value"] = value
        if "end_date" in changes:
            end = changes["end_date"]
            rules.check_term(self.start_date, end)
            self._check_activities_within(self.start_date, end)
        if {"start_date", "end_date", "partner_ids"} & set(changes):  # the PKS still lies within its KB
            self._check_parent(parent_kb, start=changes.get("start_date"), end=changes.get("end_date"),
                               partner_ids=changes.get("partner_ids"))
        return dict(changes)

    def _addendum_requirements(self, changes: Mapping[str, Any]) -> dict:
        """Which steps an addendum with ``changes`` needs: the TKKSD review when it is substantive; the
        DPRD / central approval when it touches the approved terms and the agreement, as amended,
        requires that approval under the same rules as at its drafting (``dprd_required``,
        ``central_required`` of the amended terms)."""
        substantive = rules.addendum_is_substantive(changes)
        asks_again = substantive and rules.addendum_touches_approved_terms(changes)
        amended = copy.copy(self)  # shallow: only the changed attributes are rebound, on the copy
        for name, value in changes.items():
            setattr(amended, name, _decode(name, _encode(value)))
        return {"substantive": substantive, "dprd_required": bool(asks_again and amended.dprd_required),
                "central_required": bool(asks_again and amended.central_required)}

    @staticmethod
    def _addendum_changes(addendum: Mapping[str, Any]) -> dict:
        return {name: _decode(name, value) for name, value in addendum["changes"].items()}

    def draft_addendum(self, *, role: str, reason: str, changes: Mapping[str, Any], actor: str | None = None,
                       parent_kb: Agreement | None = None, vocab: Vocabularies | None = None) -> list[NewEvent]:
        """``DraftAddendum``: Open addendum n+1 on a SIGNED/ACTIVE agreement: the proposed ``changes`` (of
        ``AMENDABLE_FIELDS``) and why. Nothing changes in the agreement until it is signed; only one
        addendum is open at a time."""
        rules.check_role("draft_addendum", role)
        rules.check_state("draft_addendum", self.status)
        if self.open_addendum is not None:
            raise refuse(Rule.ADDENDUM_IN_PROGRESS,
                         f"addendum {self.open_addendum['addendum_no']} is in progress: sign, withdraw or reject it "
                         "first", kind=Refusal.CONFLICT)
        reason = rules.check_reason(reason)
        changes = self._check_addendum_changes(changes, parent_kb, vocab)
        number = max((a["addendum_no"] for a in self.addenda), default=0) + 1
        return [self._emit(EventType.ADDENDUM_DRAFTED, {
            "addendum_no": number, "reason": reason, "changes": {k: _encode(v) for k, v in changes.items()},
            **self._addendum_requirements(changes), "author": actor,
        })]

    def edit_addendum(self, *, role: str, addendum_no: int, changes: Mapping[str, Any] | None = None,
                      reason: str | None = None, actor: str | None = None, parent_kb: Agreement | None = None,
                      vocab: Vocabularies | None = None) -> list[NewEvent]:
        """``EditAddendum``: Revise an addendum in DRAFT: ``changes`` (when given) replace the proposed
        changes as a whole, ``reason`` (when given) the reason. No events when nothing changes."""
        addendum = self._addendum("edit_addendum", role, addendum_no)
        new_changes = self._check_addendum_changes(changes, parent_kb, vocab) if changes is not None else \
            self._addendum_changes(addendum)
        new_reason = rules.check_reason(reason) if reason is not None else addendum["reason"]
        encoded = {k: _encode(v) for k, v in new_changes.items()}
        if encoded == addendum["changes"] and new_reason == addendum["reason"]:
            return []
        return [self._emit(EventType.ADDENDUM_EDITED, {
            "addendum_no": addendum_no, "reason": new_reason, "changes": encoded,
            **self._addendum_requirements(new_changes), "author": actor,
        })]

    def submit_addendum(self, *, role: str, addendum_no: int) -> list[NewEvent]:
        """``SubmitAddendum``: DRAFT → UNDER_REVIEW: the TKKSD reviews the addendum (an editorial one may
        be reviewed too, though it need not be)."""
        self._addendum("submit_addendum", role, addendum_no)
        return [self._emit(EventType.ADDENDUM_SUBMITTED, {"addendum_no": addendum_no})]

    def record_addendum_review(self, *, role: str, addendum_no: int, recommended: bool, notes: str,
                               reviewed_on: date, today: date, actor: str | None = None) -> list[NewEvent]:
        """``RecordAddendumReview``: The TKKSD's recommendation on the addendum: favourable → the approvals
        the amended terms require, else READY_TO_SIGN; unfavourable → back to DRAFT for revision (notes
        required). ``actor``, the reviewer's token subject, must not have drafted or last edited it."""
        addendum = self._addendum("record_addendum_review", role, addendum_no)
        rules.check_reviewer_not_author(actor, self.addendum_authors.get(str(addendum_no), ()))
        rules.check_act_date("reviewed_on", reviewed_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        if not recommended:
            notes = rules.check_reason(notes, "notes")
        needs = self._addendum_requirements(self._addendum_changes(addendum))
        if not recommended:
            next_status = AddendumStatus.DRAFT
        elif needs["dprd_required"]:
            next_status = AddendumStatus.AWAITING_DPRD
        elif needs["central_required"]:
            next_status = AddendumStatus.AWAITING_CENTRAL
        else:
            next_status = AddendumStatus.READY_TO_SIGN
        return [self._emit(EventType.ADDENDUM_REVIEW_RECORDED, {
            "addendum_no": addendum_no, "recommended": bool(recommended), "notes": notes or "",
            "reviewed_on": reviewed_on.isoformat(), "next_status": next_status.value,
            "dprd_required": needs["dprd_required"], "central_required": needs["central_required"],
        })]

    def approve_addendum_dprd(self, *, role: str, addendum_no: int, approval_ref: str, approved_on: date,
                              today: date) -> list[NewEvent]:
        """``ApproveAddendumDprd``: AWAITING_DPRD → AWAITING_CENTRAL (when required) or READY_TO_SIGN."""
        addendum = self._addendum("approve_addendum_dprd", role, addendum_no)
        rules.check_act_date("approved_on", approved_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        next_status = AddendumStatus.AWAITING_CENTRAL if addendum["central_required"] else AddendumStatus.READY_TO_SIGN
        return [self._emit(EventType.ADDENDUM_DPRD_APPROVED, {
            "addendum_no": addendum_no, "approval_ref": approval_ref, "approved_on": approved_on.isoformat(),
            "next_status": next_status.value,
        })]

    def approve_addendum_central(self, *, role: str, addendum_no: int, approval_ref: str, approved_on: date,
                                 today: date) -> list[NewEvent]:
        """``ApproveAddendumCentral``: AWAITING_CENTRAL → READY_TO_SIGN."""
        self._addendum("approve_addendum_central", role, addendum_no)
        rules.check_act_date("approved_on", approved_on, today=today, previous=self.previous_step(),
                             end=self.end_date)
        return [self._emit(EventType.ADDENDUM_CENTRAL_APPROVED, {
            "addendum_no": addendum_no, "approval_ref": approval_ref, "approved_on": approved_on.isoformat(),
            "next_status": AddendumStatus.READY_TO_SIGN.value,
        })]

    def sign_addendum(
        self, *, role: str, addendum_no: int, number: str, signed_on: date, today: date, signatory_name: str,
        signatory_position: str, power_of_attorney_ref: str | None = None, partner_number: str | None = None,
        parent_kb: Agreement | None = None,
    ) -> list[NewEvent]:
        """``SignAddendum``: The addendum is signed (READY_TO_SIGN, or DRAFT when purely editorial) and its
        changes apply from now on (``agreement.amended``).

        Signed under the same rules as the agreement itself; the changes are checked again against
        the agreement and its KB as they are now, and the approvals again against the amended terms.
        """
        addendum = self._addendum("sign_addendum", role, addendum_no)
        changes = self._addendum_changes(addendum)
        needs = self._addendum_requirements(changes)
        if addendum["status"] == AddendumStatus.DRAFT and needs["substantive"]:
            raise refuse(Rule.ADDENDUM_REVIEW_REQUIRED,
                         "a substantive addendum is reviewed by the TKKSD before it is signed (submit it)",
                         kind=Refusal.CONFLICT)
        if needs["dprd_required"] and addendum["dprd_approval"] is None:
            raise refuse(Rule.DPRD_APPROVAL_REQUIRED, "the amended terms need the DPRD's approval",
                         kind=Refusal.CONFLICT)
        if needs["central_required"] and addendum["central_approval"] is None:
            raise refuse(Rule.CENTRAL_APPROVAL_REQUIRED, "the amended terms need the central government's approval",
                         kind=Refusal.CONFLICT)
        # Signed while the term runs, and not after a new end date it sets itself.
        new_end = changes.get("end_date")
        rules.check_act_date("signed_on", signed_on, today=today, previous=self.previous_step(),
                             end=min(self.end_date, new_end) if new_end else self.end_date)
        rules.check_signatory(self.document_kind, signatory_position, power_of_attorney_ref)
        self._check_addendum_changes(changes, parent_kb)
        previous = {name: _encode(getattr(self, name)) for name in changes}
        return [self._emit(EventType.AMENDED, {
            "addendum_no": addendum_no, "number": number, "partner_number": partner_number,
            "signed_on": signed_on.isoformat(), "reason": addendum["reason"],
            "signatory": {"name": signatory_name, "position": signatory_position,
                          "power_of_attorney_ref": power_of_attorney_ref or None},
            "changes": dict(addendum["changes"]), "previous": previous,
        })]

    # --- the KB's changes, seen from its PKS ---------------------------------------------------

    def record_parent_change(self, *, role: str, kb_before: Agreement, kb_after: Agreement,
                             cause_event_id: str, cause_event_type: str) -> list[NewEvent]:
        """``RecordParentChange``: Record on this PKS that its KB changed (``kb_before`` → ``kb_after``,
        the KB just before and just after the causing event); when the PKS now lies outside the KB
        (``outside_kb``: the KB is no longer in force, or no longer covers its period or parties) the
        PKS is flagged for review until acknowledged. A change it still fits in is recorded only.

        Returns no events — so a redelivered or repeated cascade is harmless — when this cause is
        already recorded, when this is not a PKS of that KB, when the PKS has ended, or when the
        event changed nothing a PKS depends on (``KB_TERMS_FOR_PKS``, e.g. an addendum to the title).
        """
        rules.check_role("record_parent_change", role)
        rules.check_state("record_parent_change", self.status)
        if kb_after.stream_id != kb_before.stream_id:
            raise ValueError("kb_before and kb_after must be the same KB")
        if (self.document_kind != DocumentKind.PKS or self.parent_kb_id != kb_after.stream_id
                or self.status in rules.ENDED
                or any(change["cause"]["event_id"] == cause_event_id for change in self.parent_changes)):
            return []
        terms = {name: (_encode(getattr(kb_before, name)), _encode(getattr(kb_after, name))) for name in KB_TERMS_FOR_PKS}
        changes = {name: {"before": before, "after": after} for name, (before, after) in terms.items() if before != after}
        if not changes:
            return []
        problems = rules.parent_kb_problems(kb_after, category=self.category, partner_ids=self.partner_ids,
                                            start=self.start_date, end=self.end_date)
        return [self._emit(EventType.PARENT_CHANGED, {
            "parent_kb_id": kb_after.stream_id,
            "cause": {"event_id": cause_event_id, "event_type": cause_event_type, "version": kb_after.version},
            "changes": changes, "outside_kb": bool(problems), "problems": problems,
        })]

    def acknowledge_parent_change(self, *, role: str, note: str) -> list[NewEvent]:
        """``AcknowledgeParentChange``: The Bagian Kerja Sama has reviewed the KB's changes recorded on this
        PKS (what it will do about them goes in ``note``): the review flag is cleared."""
        rules.check_role("acknowledge_parent_change", role)
        rules.check_state("acknowledge_parent_change", self.status)
        pending = [change["cause"]["event_id"] for change in self.parent_changes
                   if change["outside_kb"] and change["acknowledged"] is None]
        if not pending:
            raise refuse(Rule.NO_PARENT_CHANGE_PENDING, "no change of the KB waits for review on this agreement",
                         kind=Refusal.CONFLICT)
        return [self._emit(EventType.PARENT_CHANGE_ACKNOWLEDGED,
                           {"note": rules.check_reason(note, "note"), "causes": pending})]

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

    def withdraw_addendum(self, *, role: str, addendum_no: int, reason: str) -> list[NewEvent]:
        """``WithdrawAddendum``: The region withdraws an unsigned addendum (any open state)."""
        self._addendum("withdraw_addendum", role, addendum_no)
        return [self._emit(EventType.ADDENDUM_WITHDRAWN,
                           {"addendum_no": addendum_no, "reason": rules.check_reason(reason)})]

    def reject_addendum(self, *, role: str, addendum_no: int, reason: str) -> list[NewEvent]:
        """``RejectAddendum``: The head of region rejects an unsigned addendum (any open state)."""
        self._addendum("reject_addendum", role, addendum_no)
        return [self._emit(EventType.ADDENDUM_REJECTED,
                           {"addendum_no": addendum_no, "reason": rules.check_reason(reason)})]

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
        budget: int = 0, vocab: Vocabularies | None = None,
    ) -> list[NewEvent]:
        """``AddActivity``: Add an activity to the work plan of a PKS being drafted or in force (OPD
        officers: the lead OPD's only)."""
        self._check_work_plan("add_activity", role, opd)
        rules.check_opd(responsible_opd, default_vocabularies() if vocab is None else vocab, "responsible_opd")
        if activity_id in self.activities:
            raise refuse(Rule.ACTIVITY_EXISTS, f"activity '{activity_id}' already exists", kind=Refusal.CONFLICT)
        values = {"name": name, "indicator": indicator, "target": target, "unit": unit,
                  "schedule_start": schedule_start, "schedule_end": schedule_end,
                  "responsible_opd": responsible_opd, "budget": budget}
        check_activity_fields(values, self.start_date, self.end_date)
        return [self._emit(EventType.ACTIVITY_ADDED,
                           {"activity_id": activity_id, **{k: _encode(v) for k, v in values.items()}})]

    def update_activity(self, *, role: str, opd: str | None = None, activity_id: str,
                        changes: Mapping[str, Any], vocab: Vocabularies | None = None) -> list[NewEvent]:
        """``UpdateActivity``: Change fields of an activity (``ACTIVITY_FIELDS``); no events when nothing changes."""
        self._check_work_plan("update_activity", role, opd)
        activity = self._activity(activity_id)
        _check_field_names(changes, ACTIVITY_FIELDS)
        if "responsible_opd" in changes:
            rules.check_opd(changes["responsible_opd"], vocab or default_vocabularies(), "responsible_opd")
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
        self.legacy_budgeted = data.get(LEGACY_FLAG)
        self.status = Status.DRAFT.value

    def when_agreement_draft_edited(self, data: Mapping[str, Any]) -> None:
        self._apply_terms(data["changes"])
        self.last_edited_by = data.get("author")

    def _apply_terms(self, changes: Mapping[str, Any]) -> None:
        """Changed terms (a draft edit or an addendum); an agreement from before funding sources
        keeps its funding derived from its value and old flag until sources are given."""
        for name, value in changes.items():
            if name == LEGACY_FLAG:
                self.legacy_budgeted = value
            else:
                setattr(self, name, _decode(name, value))
        if "funding" in changes:
            self.legacy_budgeted = None
        elif self.legacy_budgeted is not None and ("value" in changes or LEGACY_FLAG in changes):
            self.funding = legacy_funding(self.value, self.legacy_budgeted)

    def when_agreement_submitted(self, data: Mapping[str, Any]) -> None:
        self.status = Status.SUBMITTED.value

    def when_agreement_review_started(self, data: Mapping[str, Any]) -> None:
        self.status = Status.UNDER_REVIEW.value

    def when_agreement_returned_for_revision(self, data: Mapping[str, Any]) -> None:
        self.revision_requests.append({"reason": data["reason"], "negative_review": False})
        self.status = Status.DRAFT.value

    def when_agreement_review_recorded(self, data: Mapping[str, Any]) -> None:
        self.review = {"recommended": data["recommended"], "notes": data["notes"], "reviewed_on": data["reviewed_on"]}
        if data["next_status"] == Status.DRAFT:  # a negative recommendation: revise the draft
            self.revision_requests.append({"reason": data["notes"], "negative_review": True})
        if data["next_status"] == Status.REJECTED:  # streams recorded before reviews returned drafts
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
        self.termination = {"reason": data["reason"], "reason_code": data.get("reason_code", "lainnya"),
                            "terminated_on": data["terminated_on"]}
        self.status = Status.TERMINATED.value

    def when_agreement_rejected(self, data: Mapping[str, Any]) -> None:
        self.rejection_reason = data["reason"]
        self.status = Status.REJECTED.value

    def when_agreement_cancelled(self, data: Mapping[str, Any]) -> None:
        self.cancellation_reason = data["reason"]
        self.status = Status.CANCELLED.value

    def when_agreement_expiry_reminder_raised(self, data: Mapping[str, Any]) -> None:
        self.expiry_reminder = {"raised_on": data["raised_on"], "end_date": data["end_date"]}

    def when_agreement_addendum_drafted(self, data: Mapping[str, Any]) -> None:
        self.addenda.append({
            "addendum_no": data["addendum_no"], "status": AddendumStatus.DRAFT.value, "reason": data["reason"],
            "changes": dict(data["changes"]), "substantive": data["substantive"],
            "dprd_required": data["dprd_required"], "central_required": data["central_required"],
            "revision_requests": [], "review": None, "dprd_approval": None, "central_approval": None,
            "number": None, "signed_on": None, "closing_reason": None,
        })
        self.addendum_authors[str(data["addendum_no"])] = [data.get("author"), None]

    def _addendum_record(self, data: Mapping[str, Any]) -> dict:
        return next(a for a in self.addenda if a["addendum_no"] == data["addendum_no"])

    def when_agreement_addendum_edited(self, data: Mapping[str, Any]) -> None:
        self._addendum_record(data).update({k: data[k] for k in (
            "reason", "substantive", "dprd_required", "central_required")}, changes=dict(data["changes"]))
        self.addendum_authors.setdefault(str(data["addendum_no"]), [None, None])[1] = data.get("author")

    def when_agreement_addendum_submitted(self, data: Mapping[str, Any]) -> None:
        self._addendum_record(data)["status"] = AddendumStatus.UNDER_REVIEW.value

    def when_agreement_addendum_review_recorded(self, data: Mapping[str, Any]) -> None:
        addendum = self._addendum_record(data)
        addendum.update(status=data["next_status"], dprd_required=data["dprd_required"],
                        central_required=data["central_required"],
                        review={k: data[k] for k in ("recommended", "notes", "reviewed_on")})
        if data["next_status"] == AddendumStatus.DRAFT:
            addendum["revision_requests"].append({"reason": data["notes"], "negative_review": True})

    def when_agreement_addendum_dprd_approved(self, data: Mapping[str, Any]) -> None:
        self._addendum_record(data).update(status=data["next_status"], dprd_approval={
            "approval_ref": data["approval_ref"], "approved_on": data["approved_on"]})

    def when_agreement_addendum_central_approved(self, data: Mapping[str, Any]) -> None:
        self._addendum_record(data).update(status=data["next_status"], central_approval={
            "approval_ref": data["approval_ref"], "approved_on": data["approved_on"]})

    def when_agreement_addendum_withdrawn(self, data: Mapping[str, Any]) -> None:
        self._addendum_record(data).update(status=AddendumStatus.WITHDRAWN.value, closing_reason=data["reason"])

    def when_agreement_addendum_rejected(self, data: Mapping[str, Any]) -> None:
        self._addendum_record(data).update(status=AddendumStatus.REJECTED.value, closing_reason=data["reason"])

    def when_agreement_amended(self, data: Mapping[str, Any]) -> None:
        self._apply_terms(data["changes"])
        self.amendments.append({key: data[key] for key in (
            "addendum_no", "number", "partner_number", "signed_on", "reason", "signatory", "changes", "previous")})
        addendum = next((a for a in self.addenda if a["addendum_no"] == data["addendum_no"]), None)
        if addendum is None:  # recorded in one step, before addenda had a lifecycle
            addendum = {"addendum_no": data["addendum_no"], "reason": data["reason"], "changes": dict(data["changes"]),
                        "substantive": rules.addendum_is_substantive(data["changes"]), "dprd_required": False,
                        "central_required": False, "revision_requests": [], "review": None, "dprd_approval": None,
                        "central_approval": None, "closing_reason": None}
            self.addenda.append(addendum)
        addendum.update(status=AddendumStatus.SIGNED.value, number=data["number"], signed_on=data["signed_on"])

    def when_agreement_parent_changed(self, data: Mapping[str, Any]) -> None:
        self.parent_changes.append({key: _deepcopy(data[key]) for key in (
            "parent_kb_id", "cause", "changes", "outside_kb", "problems")} | {"acknowledged": None})

    def when_agreement_parent_change_acknowledged(self, data: Mapping[str, Any]) -> None:
        for change in self.parent_changes:
            if change["cause"]["event_id"] in data["causes"]:
                change["acknowledged"] = {"note": data["note"]}

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
        for addendum in self.addenda:  # the steps of addenda, signed or not, happened too
            acts += [(f"{name} of addendum {addendum['addendum_no']}", record[key]) for name, record, key in (
                ("TKKSD review", addendum["review"], "reviewed_on"),
                ("DPRD approval", addendum["dprd_approval"], "approved_on"),
                ("central-government approval", addendum["central_approval"], "approved_on"),
            ) if record]
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
            "funding": _deepcopy(self.funding), "funding_scheme": self.funding_scheme,
            "burdens_public": self.burdens_public, "partner_ids": list(self.partner_ids),
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
            "amendments": _deepcopy(self.amendments), "addenda": _deepcopy(self.addenda),
            "documents": _deepcopy(self.documents),
            "activities": [a.as_dict() for a in self.activities.values()],
            "progress": round(self.progress, 2),
            "parent_change_pending": self.parent_change_pending, "parent_changes": _deepcopy(self.parent_changes),
        }

    as_dict = snapshot


def _deepcopy(value: Any) -> Any:
    """Copy nested dicts/lists so a snapshot never aliases the aggregate's state."""
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value
