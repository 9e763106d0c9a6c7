"""Vocabularies, permissions, transitions and named rules of agreements (DOMAIN.md §2, §3, §5).

Every check raises ``DomainError`` carrying a stable rule name (``Rule``) that the API puts in
its problem document; a command sent in the wrong state raises ``InvalidTransition`` (409).
Checks take plain values (or a parent ``Agreement`` read through ``ParentKB``) so this module
never imports the aggregate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Iterable, Mapping, Protocol, Sequence

from shared.domain import DomainError, InvalidTransition, Refusal
from shared.vocabularies import Vocabularies
from shared.vocabularies.funding import dprd_burden, total as funding_total


# --- vocabularies -----------------------------------------------------------------------------

class Category(StrEnum):
    """Kind of cooperation, by who the partner is."""

    KSDD = "KSDD"        # with another region
    KSDPK = "KSDPK"      # with a third party
    KSDPL = "KSDPL"      # with a foreign regional government
    KSDLL = "KSDLL"      # with a foreign institution
    SINERGI = "SINERGI"  # with the central government (Nota Kesepakatan + action plan)


FOREIGN_CATEGORIES = frozenset({Category.KSDPL.value, Category.KSDLL.value})


class KsddType(StrEnum):
    """Whether a KSDD is mandatory (wajib) or voluntary (sukarela)."""

    WAJIB = "wajib"
    SUKARELA = "sukarela"


class DocumentKind(StrEnum):
    """The document an agreement stream holds.

    An ADENDUM is not a stream of its own: it goes through its own small lifecycle on the signed
    KB/PKS it amends (``AddendumStatus``; its signing records ``agreement.amended``).
    """

    KB = "KB"    # Kesepakatan Bersama / MoU / Nota Kesepakatan
    PKS = "PKS"  # Perjanjian Kerja Sama, implements a KB


class Status(StrEnum):
    """Lifecycle states of an agreement."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    UNDER_REVIEW = "UNDER_REVIEW"
    AWAITING_DPRD = "AWAITING_DPRD"
    AWAITING_CENTRAL = "AWAITING_CENTRAL"
    READY_TO_SIGN = "READY_TO_SIGN"
    SIGNED = "SIGNED"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    TERMINATED = "TERMINATED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class AddendumStatus(StrEnum):
    """Lifecycle of an addendum on the agreement it amends (DOMAIN.md §2: an ADENDUM amends a signed
    document; Permendagri 22/2020: a change goes through the procedure again).

    DRAFT → UNDER_REVIEW (TKKSD) → [AWAITING_DPRD] → [AWAITING_CENTRAL] → READY_TO_SIGN → SIGNED;
    an editorial addendum may be signed straight from DRAFT; a negative review returns it to
    DRAFT; WITHDRAWN (by the region) and REJECTED (by the head of region) end it unsigned.
    """

    DRAFT = "DRAFT"
    UNDER_REVIEW = "UNDER_REVIEW"
    AWAITING_DPRD = "AWAITING_DPRD"
    AWAITING_CENTRAL = "AWAITING_CENTRAL"
    READY_TO_SIGN = "READY_TO_SIGN"
    SIGNED = "SIGNED"
    WITHDRAWN = "WITHDRAWN"
    REJECTED = "REJECTED"


ADDENDUM_CLOSED = frozenset({AddendumStatus.SIGNED, AddendumStatus.WITHDRAWN, AddendumStatus.REJECTED})


class Role(StrEnum):
    """Roles of DOMAIN.md §5; ``service`` is the role of service accounts (scheduler, workers)."""

    ADMIN = "admin"
    KERJASAMA = "kerjasama"
    TKKSD = "tkksd"
    PIMPINAN = "pimpinan"
    OPD = "opd"
    AUDITOR = "auditor"
    PUBLIK = "publik"
    SERVICE = "service"


class SignatoryPosition(StrEnum):
    """Position of the official who signs for the region."""

    KEPALA_DAERAH = "kepala_daerah"
    PLT_KEPALA_DAERAH = "plt_kepala_daerah"  # acting head (pelaksana tugas)
    PJ_KEPALA_DAERAH = "pj_kepala_daerah"    # interim head (penjabat)
    WAKIL_KEPALA_DAERAH = "wakil_kepala_daerah"
    SEKRETARIS_DAERAH = "sekretaris_daerah"
    KEPALA_PERANGKAT_DAERAH = "kepala_perangkat_daerah"
    PEJABAT_LAIN = "pejabat_lain"


HEAD_POSITIONS = frozenset({
    SignatoryPosition.KEPALA_DAERAH.value,
    SignatoryPosition.PLT_KEPALA_DAERAH.value,
    SignatoryPosition.PJ_KEPALA_DAERAH.value,
})


class PartnerKind(StrEnum):
    DAERAH_LAIN = "daerah_lain"
    PIHAK_KETIGA = "pihak_ketiga"
    PEMDA_LUAR_NEGERI = "pemda_luar_negeri"
    LEMBAGA_LUAR_NEGERI = "lembaga_luar_negeri"
    PEMERINTAH_PUSAT = "pemerintah_pusat"


class PartnerStatus(StrEnum):
    REGISTERED = "registered"
    VERIFIED = "verified"
    DEACTIVATED = "deactivated"


class AttachmentKind(StrEnum):
    """What an agreement-level document is."""

    SIGNED_SCAN = "signed_scan"
    KAK = "kak"  # kerangka acuan kerja (terms of reference)
    FEASIBILITY_STUDY = "feasibility_study"
    OTHER = "other"


PARTNER_KIND_FOR_CATEGORY: Mapping[str, str] = {
    Category.KSDD.value: PartnerKind.DAERAH_LAIN.value,
    Category.KSDPK.value: PartnerKind.PIHAK_KETIGA.value,
    Category.KSDPL.value: PartnerKind.PEMDA_LUAR_NEGERI.value,
    Category.KSDLL.value: PartnerKind.LEMBAGA_LUAR_NEGERI.value,
    Category.SINERGI.value: PartnerKind.PEMERINTAH_PUSAT.value,
}


class Rule(StrEnum):
    """Every rule name a command can be refused with."""

    INVALID_TRANSITION = "invalid_transition"
    DATE_IN_FUTURE = "date_in_future"
    DATE_BEFORE_PREVIOUS_STEP = "date_before_previous_step"
    DATE_AFTER_END = "date_after_end"
    DATE_SET_BY_SERVER = "date_set_by_server"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    REVIEWER_IS_AUTHOR = "reviewer_is_author"
    OPD_NOT_RESPONSIBLE = "opd_not_responsible"
    INVALID_VALUE = "invalid_value"
    FIELD_NOT_EDITABLE = "field_not_editable"
    END_BEFORE_START = "end_before_start"
    TERM_EXCEEDS_FIVE_YEARS = "term_exceeds_five_years"
    KSDD_TYPE_INVALID = "ksdd_type_invalid"
    INVALID_AMOUNT = "invalid_amount"
    PARTNERS_REQUIRED = "partners_required"
    CATEGORY_PARTNER_MISMATCH = "category_partner_mismatch"
    PARTNER_NOT_VERIFIED = "partner_not_verified"
    PKS_REQUIRES_SIGNED_KB = "pks_requires_signed_kb"
    PKS_PARTNER_MISMATCH = "pks_partner_mismatch"
    PKS_OUTSIDE_KB_PERIOD = "pks_outside_kb_period"
    PARENT_KB_NOT_ALLOWED = "parent_kb_not_allowed"
    PARENT_KB_NOT_IN_FORCE = "parent_kb_not_in_force"
    NO_PARENT_CHANGE_PENDING = "no_parent_change_pending"
    EXTENSION_REQUIRES_SIGNED_AGREEMENT = "extension_requires_signed_agreement"
    EXTENSION_KIND_MISMATCH = "extension_kind_mismatch"
    EXTENSION_PARTNER_MISMATCH = "extension_partner_mismatch"
    PARTNER_SUCCESSION_INVALID = "partner_succession_invalid"
    EXTENSION_OVERLAPS_OLD_TERM = "extension_overlaps_old_term"
    EXTENSION_GAP_TOO_LONG = "extension_gap_too_long"
    FINAL_EVALUATION_REQUIRED = "final_evaluation_required"
    FINAL_EVALUATION_ALREADY_WAIVED = "final_evaluation_already_waived"
    ONE_LIVE_EXTENSION = "one_live_extension"
    REASON_REQUIRED = "reason_required"
    DPRD_APPROVAL_REQUIRED = "dprd_approval_required"
    CENTRAL_APPROVAL_REQUIRED = "central_approval_required"
    SIGNATORY_NOT_AUTHORISED = "signatory_not_authorised"
    NOT_YET_STARTED = "not_yet_started"
    NOT_YET_ENDED = "not_yet_ended"
    INVALID_ATTACHMENT = "invalid_attachment"
    WORK_PLAN_REQUIRES_PKS = "work_plan_requires_pks"
    ACTIVITY_EXISTS = "activity_exists"
    ACTIVITY_NOT_FOUND = "activity_not_found"
    ACTIVITY_HAS_REPORTS = "activity_has_reports"
    ACTIVITY_OUTSIDE_PERIOD = "activity_outside_period"
    SCHEDULE_END_BEFORE_START = "schedule_end_before_start"
    INVALID_TARGET = "invalid_target"
    INVALID_REALISATION = "invalid_realisation"
    INVALID_PERIOD = "invalid_period"
    PERIOD_OUTSIDE_AGREEMENT = "period_outside_agreement"
    PERIOD_NOT_STARTED = "period_not_started"
    ADDENDUM_IN_PROGRESS = "addendum_in_progress"
    ADDENDUM_NOT_FOUND = "addendum_not_found"
    ADDENDUM_REVIEW_REQUIRED = "addendum_review_required"
    ADDENDUM_CHANGES_REQUIRED = "addendum_changes_required"
    # controlled vocabularies (shared/vocabularies)
    UNKNOWN_URUSAN = "unknown_urusan"
    UNKNOWN_OPD = "unknown_opd"
    UNKNOWN_FUNDING_SOURCE = "unknown_funding_source"
    UNKNOWN_TERMINATION_REASON = "unknown_termination_reason"
    KSDD_WAJIB_REQUIRES_NEIGHBOUR = "ksdd_wajib_requires_neighbour"
    # funding (sources with amounts)
    INVALID_FUNDING = "invalid_funding"
    FUNDING_REQUIRED = "funding_required"
    VALUE_DIFFERS_FROM_FUNDING = "value_differs_from_funding"


def refuse(rule: Rule, detail: str, *, kind: Refusal = Refusal.INVALID,
           fields: Mapping[str, Any] | None = None) -> DomainError:
    """Build the DomainError for ``rule`` (callers ``raise`` it so the flow stays visible)."""
    return DomainError(rule.value, detail, kind=kind, fields=fields)


def to_enum(enum: type[StrEnum], value: Any, field: str) -> str:
    """Return ``value`` as the plain string of a member of ``enum`` or refuse it."""
    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise refuse(Rule.INVALID_VALUE, f"{field} must be one of: {allowed}",
                     fields={field: f"must be one of: {allowed}"}) from None


def is_foreign(category: str) -> bool:
    return category in FOREIGN_CATEGORIES


# --- permissions (DOMAIN.md §5) ---------------------------------------------------------------

_K, _T, _P, _O, _S = Role.KERJASAMA.value, Role.TKKSD.value, Role.PIMPINAN.value, Role.OPD.value, Role.SERVICE.value

# Who may send each command. ``admin`` is in none of them: it manages configuration and dead letters,
# never the workflow (segregation of duties, DOMAIN.md §5 and issue 11).
COMMAND_ROLES: Mapping[str, frozenset[str]] = {
    "draft": frozenset({_K}),
    "edit_draft": frozenset({_K}),
    "submit": frozenset({_K}),
    "cancel": frozenset({_K}),
    "start_review": frozenset({_T, _K}),
    "return_for_revision": frozenset({_T, _K}),
    "record_review": frozenset({_T}),
    # The TKKSD recommends (record_review); rejecting is the head of region's decision.
    "reject": frozenset({_P}),
    "approve_dprd": frozenset({_P}),
    "approve_central": frozenset({_P}),
    "sign": frozenset({_P}),
    "waive_final_evaluation": frozenset({_P}),
    # An addendum: drafted and withdrawn by the Bagian Kerja Sama, reviewed by the TKKSD,
    # approved, rejected and signed by the leaders.
    "draft_addendum": frozenset({_K}),
    "edit_addendum": frozenset({_K}),
    "submit_addendum": frozenset({_K}),
    "withdraw_addendum": frozenset({_K}),
    "record_addendum_review": frozenset({_T}),
    "approve_addendum_dprd": frozenset({_P}),
    "approve_addendum_central": frozenset({_P}),
    "reject_addendum": frozenset({_P}),
    "sign_addendum": frozenset({_P}),
    "terminate": frozenset({_P, _K}),
    # Time-driven: normally the scheduler (service account); staff may trigger them by hand.
    "activate": frozenset({_K, _S}),
    "expire": frozenset({_K, _S}),
    "raise_expiry_reminder": frozenset({_K, _S}),
    "attach_document": frozenset({_K, _P}),
    # OPD users are further scoped: see check_opd_scope.
    "add_activity": frozenset({_K, _O}),
    "update_activity": frozenset({_K, _O}),
    "remove_activity": frozenset({_K, _O}),
    "file_report": frozenset({_K, _O}),
    # The KB cascade (a service account) records a change of the KB on each of its PKS; the Bagian
    # Kerja Sama acknowledges it after review (with a note).
    "record_parent_change": frozenset({_S}),
    "acknowledge_parent_change": frozenset({_K}),
}


def may(command: str, role: str) -> bool:
    """Whether ``role`` may send ``command`` (before any OPD scoping)."""
    return role in COMMAND_ROLES[command]


def check_role(command: str, role: str) -> None:
    if not may(command, role):
        raise refuse(Rule.ROLE_NOT_ALLOWED, f"role '{role}' may not {command.replace('_', ' ')}", kind=Refusal.FORBIDDEN)


def check_reviewer_not_author(reviewer: str | None, authors: Iterable[str | None]) -> None:
    """Segregation of duties: whoever drafted or last edited the version under review does not record
    the TKKSD review of it (``reviewer`` and ``authors`` are token subjects; an unknown author — a stream
    written before authors were recorded — binds no one)."""
    if reviewer is not None and reviewer in {a for a in authors if a}:
        raise refuse(Rule.REVIEWER_IS_AUTHOR,
                     f"'{reviewer}' drafted or last edited this version and may not record its TKKSD review",
                     kind=Refusal.FORBIDDEN)


def check_opd_scope(role: str, opd: str | None, responsible_opd: str) -> None:
    """An OPD officer acts only on what their own OPD is responsible for."""
    if role == Role.OPD.value and opd != responsible_opd:
        raise refuse(Rule.OPD_NOT_RESPONSIBLE,
                     f"OPD '{opd}' is not responsible here (responsible OPD: '{responsible_opd}')", kind=Refusal.FORBIDDEN)


# --- transitions ------------------------------------------------------------------------------

PRE_SIGNING = frozenset({
    Status.DRAFT, Status.SUBMITTED, Status.UNDER_REVIEW, Status.AWAITING_DPRD,
    Status.AWAITING_CENTRAL, Status.READY_TO_SIGN,
})
IN_FORCE = frozenset({Status.SIGNED, Status.ACTIVE})
# Late reports for the last quarters remain possible after the agreement has ended.
REPORTABLE = IN_FORCE | {Status.EXPIRED, Status.TERMINATED}
DOCUMENTABLE = frozenset(Status) - {Status.REJECTED, Status.CANCELLED}
# States an agreement never leaves: a KB here will not be (or no longer is) in force.
ENDED = frozenset({Status.EXPIRED, Status.TERMINATED, Status.REJECTED, Status.CANCELLED})
# The work plan (rencana kerja) is the PKS's lampiran: drafted with it, frozen while the draft is
# reviewed, approved and signed, then kept up to date while the agreement is in force.
WORK_PLAN_OPEN = IN_FORCE | {Status.DRAFT}

# The states each command (other than ``draft``, which needs a new stream) may be sent in.
COMMAND_STATES: Mapping[str, frozenset[str]] = {
    "edit_draft": frozenset({Status.DRAFT}),
    "submit": frozenset({Status.DRAFT}),
    "start_review": frozenset({Status.SUBMITTED}),
    "return_for_revision": frozenset({Status.SUBMITTED, Status.UNDER_REVIEW}),
    "record_review": frozenset({Status.UNDER_REVIEW}),
    "approve_dprd": frozenset({Status.AWAITING_DPRD}),
    "approve_central": frozenset({Status.AWAITING_CENTRAL}),
    "sign": frozenset({Status.READY_TO_SIGN}),
    "activate": frozenset({Status.SIGNED}),
    "expire": IN_FORCE,
    "terminate": IN_FORCE,
    "waive_final_evaluation": frozenset({Status.SIGNED, Status.ACTIVE, Status.EXPIRED}),
    # An addendum is worked on while the agreement stays in force; one left open when the agreement
    # ends can still be closed.
    "draft_addendum": IN_FORCE,
    "edit_addendum": IN_FORCE,
    "submit_addendum": IN_FORCE,
    "record_addendum_review": IN_FORCE,
    "approve_addendum_dprd": IN_FORCE,
    "approve_addendum_central": IN_FORCE,
    "sign_addendum": IN_FORCE,
    "withdraw_addendum": REPORTABLE,
    "reject_addendum": REPORTABLE,
    "raise_expiry_reminder": IN_FORCE,
    "reject": PRE_SIGNING,
    "cancel": PRE_SIGNING,
    "attach_document": DOCUMENTABLE,
    "add_activity": WORK_PLAN_OPEN,
    "update_activity": WORK_PLAN_OPEN,
    "remove_activity": WORK_PLAN_OPEN,
    "file_report": REPORTABLE,
    # A change of the KB is recorded whatever the PKS's state (the domain ignores ended ones), and
    # an open flag can be acknowledged in any state.
    "record_parent_change": frozenset(Status),
    "acknowledge_parent_change": frozenset(Status),
}


def check_state(command: str, status: str | None) -> None:
    """Refuse ``command`` outside its states, naming the missing approval where one is awaited."""
    if status is not None and status in COMMAND_STATES[command]:
        return
    if command in ("approve_central", "sign"):
        if status == Status.AWAITING_DPRD:
            raise refuse(Rule.DPRD_APPROVAL_REQUIRED,
                         f"the DPRD approval must be recorded before '{command}'", kind=Refusal.CONFLICT)
        if status == Status.AWAITING_CENTRAL:
            raise refuse(Rule.CENTRAL_APPROVAL_REQUIRED,
                         f"the central-government approval must be recorded before '{command}'", kind=Refusal.CONFLICT)
    raise InvalidTransition(command, status or "NEW")


# The addendum's own states each addendum command may be sent in (the agreement's are above).
ADDENDUM_COMMAND_STATES: Mapping[str, frozenset[str]] = {
    "edit_addendum": frozenset({AddendumStatus.DRAFT}),
    "submit_addendum": frozenset({AddendumStatus.DRAFT}),
    "record_addendum_review": frozenset({AddendumStatus.UNDER_REVIEW}),
    "approve_addendum_dprd": frozenset({AddendumStatus.AWAITING_DPRD}),
    "approve_addendum_central": frozenset({AddendumStatus.AWAITING_CENTRAL}),
    # An editorial addendum may be signed from DRAFT: see ``sign_addendum``.
    "sign_addendum": frozenset({AddendumStatus.DRAFT, AddendumStatus.READY_TO_SIGN}),
    "withdraw_addendum": frozenset(AddendumStatus) - ADDENDUM_CLOSED,
    "reject_addendum": frozenset(AddendumStatus) - ADDENDUM_CLOSED,
}


def check_addendum_state(command: str, status: str) -> None:
    """Refuse an addendum command outside its addendum states (409), naming an awaited approval."""
    if status in ADDENDUM_COMMAND_STATES[command]:
        return
    if command in ("approve_addendum_central", "sign_addendum"):
        if status == AddendumStatus.AWAITING_DPRD:
            raise refuse(Rule.DPRD_APPROVAL_REQUIRED, f"the DPRD approval of the addendum must be recorded before "
                         f"'{command}'", kind=Refusal.CONFLICT)
        if status == AddendumStatus.AWAITING_CENTRAL:
            raise refuse(Rule.CENTRAL_APPROVAL_REQUIRED, f"the central-government approval of the addendum must be "
                         f"recorded before '{command}'", kind=Refusal.CONFLICT)
    if command == "sign_addendum" and status == AddendumStatus.UNDER_REVIEW:
        raise refuse(Rule.ADDENDUM_REVIEW_REQUIRED, "the TKKSD review of the addendum must be recorded first",
                     kind=Refusal.CONFLICT)
    raise InvalidTransition(command, f"addendum {status}")


# --- addenda: which change goes through the procedure ----------------------------------------

# Fields an addendum may correct without a new review: naming, not substance (a corrected title).
EDITORIAL_FIELDS = frozenset({"title"})
# The terms the DPRD and the central government approved: the period, the money and where it comes
# from, the parties (PP 28/2018: DPRD approval concerns burdens on the public and on the APBD). Some
# are not amendable today (start, parties, burden flags); they are listed so that they go back to the
# DPRD the day an addendum may change them.
APPROVED_TERMS = frozenset({"start_date", "end_date", "value", "funding", "funding_scheme", "partner_ids",
                            "burdens_public"})


def addendum_is_substantive(changes: Iterable[str]) -> bool:
    """Rule ``addendum_is_substantive``: an addendum changing anything but editorial fields (the
    term, value, funding, scope, purpose, urusan, location, lead OPD …) is reviewed by the TKKSD
    before it is signed; a purely editorial one (``EDITORIAL_FIELDS``) may be signed directly. A
    field not listed as editorial counts as substantive, so a new amendable field is safe by default."""
    return bool(set(changes) - EDITORIAL_FIELDS)


def addendum_touches_approved_terms(changes: Iterable[str]) -> bool:
    """Rule ``addendum_touches_approved_terms``: whether the DPRD / central-government approval must be
    asked again (when the amended terms require it): the change touches what they approved
    (``APPROVED_TERMS``); a change of scope or lead OPD only is reviewed by the TKKSD."""
    return bool(set(changes) & APPROVED_TERMS)


def dprd_required(category: str, burdens_public: bool, funding: Sequence[Mapping[str, Any]]) -> bool:
    """DPRD approval (PP 28/2018): when the cooperation burdens the public, when money from the
    region's own APBD is not yet budgeted in the current year's APBD, or when it is foreign.
    Money from the partner, the APBN, CSR/TJSL or grants does not call for it (``funding``: the
    checked sources, see ``check_funding``)."""
    return bool(burdens_public) or dprd_burden(funding) or is_foreign(category)


def central_required(category: str) -> bool:
    """Foreign cooperation also needs the central government's approval."""
    return is_foreign(category)


# --- controlled vocabularies (shared/vocabularies: versioned data with their legal source) ---------

def check_urusan(urusan: Sequence[Any], vocab: Vocabularies, field: str = "urusan") -> list[str]:
    """Every urusan is a code of the UU 23/2014 list (at least one, none twice)."""
    codes = list(urusan)
    if not codes:
        raise refuse(Rule.UNKNOWN_URUSAN, "name at least one urusan pemerintahan", fields={field: "at least one"})
    unknown = vocab.urusan.unknown(codes)
    if unknown:
        raise refuse(Rule.UNKNOWN_URUSAN,
                     f"not an urusan pemerintahan of UU 23/2014: {', '.join(map(str, unknown))}",
                     fields={field: [f"unknown urusan: {u}" for u in unknown]})
    return list(dict.fromkeys(codes))


def check_opd(code: Any, vocab: Vocabularies, field: str) -> str:
    """An OPD code of the region's catalogue (a Setda section is not an OPD: its OPD is SETDA)."""
    if not vocab.opd.has(code):
        raise refuse(Rule.UNKNOWN_OPD, f"{code!r} is not a perangkat daerah of {vocab.opd.meta.get('region_name')}",
                     fields={field: f"unknown OPD: {code}"})
    return code


def check_termination_reason(code: Any, vocab: Vocabularies) -> str:
    """A termination names one of the grounds of PP 28/2018 (``lainnya`` when none is given)."""
    if not vocab.termination_reasons.has(code):
        raise refuse(Rule.UNKNOWN_TERMINATION_REASON, f"{code!r} is not a termination reason",
                     fields={"reason_code": f"one of: {', '.join(sorted(vocab.termination_reasons.codes))}"})
    return code


def check_ksdd_neighbours(category: str, ksdd_type: str | None, partners: Sequence["PartnerView"],
                          vocab: Vocabularies) -> None:
    """PP 28/2018 Pasal 4: a KSDD wajib is between regions that border each other; every partner
    region must border the configured region in the region table (``regions.json``)."""
    if category != Category.KSDD or ksdd_type != KsddType.WAJIB:
        return
    own = vocab.region_code
    far = [p for p in partners if not (p.region_code and vocab.borders(own, p.region_code))]
    if far:
        names = ", ".join(f"{p.name or p.id} ({p.region_code or 'no region code'})" for p in far)
        raise refuse(Rule.KSDD_WAJIB_REQUIRES_NEIGHBOUR,
                     f"a KSDD wajib is between bordering regions; {names} does not border "
                     f"{vocab.regions.name_of(own)} (choose sukarela)",
                     fields={"ksdd_type": "sukarela: the partner region does not border ours"})


def funding_total(funding: Sequence[Mapping[str, Any]]) -> int:
    """The sum of the funding sources' amounts (the value an agreement left without one takes);
    amounts that are not numbers count as 0 here and are refused by ``check_funding``."""
    return sum(int(item.get("amount") or 0) for item in funding
               if isinstance(item.get("amount"), (int, float)) and not isinstance(item.get("amount"), bool))


def check_funding(funding: Sequence[Mapping[str, Any]], value: Any, vocab: Vocabularies) -> list[dict]:
    """The funding sources (``[{source, amount, budgeted}]``) as recorded, checked against ``value``.

    Each source is a code of ``funding_sources.json`` with a whole amount > 0, at most once. Money
    from the region's own APBD states whether the current year's APBD budgets it (``budgeted``);
    for other sources ``budgeted`` is recorded as None. The value is the sum of the sources: a
    non-zero value needs sources, and a value that differs from their sum is refused.
    """
    check_amount("value", value)
    out, seen = [], set()
    for index, item in enumerate(funding):
        where = f"funding.{index}"
        source = item.get("source")
        if not vocab.funding_sources.has(source):
            raise refuse(Rule.UNKNOWN_FUNDING_SOURCE, f"{source!r} is not a funding source",
                         fields={f"{where}.source": f"one of: {', '.join(sorted(vocab.funding_sources.codes))}"})
        if source in seen:
            raise refuse(Rule.INVALID_FUNDING, f"funding source {source} is listed twice",
                         fields={f"{where}.source": "each source once"})
        seen.add(source)
        amount = item.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise refuse(Rule.INVALID_FUNDING, "a funding source's amount is a whole number of rupiah above zero",
                         fields={f"{where}.amount": "whole rupiah > 0"})
        budgeted = item.get("budgeted")
        if vocab.charges_region(source):
            if not isinstance(budgeted, bool):
                raise refuse(Rule.INVALID_FUNDING, f"state whether the current APBD budgets the {source} share",
                             fields={f"{where}.budgeted": "true or false"})
        else:
            budgeted = None
        out.append({"source": source, "amount": amount, "budgeted": budgeted})
    if value and not out:
        raise refuse(Rule.FUNDING_REQUIRED, "an agreement with a value names its funding sources",
                     fields={"funding": "the sources of the value"})
    if out and funding_total(out) != value:
        raise refuse(Rule.VALUE_DIFFERS_FROM_FUNDING,
                     f"the value {value} differs from the sum of the funding sources ({funding_total(out)})",
                     fields={"value": f"must be {funding_total(out)}"})
    return out


# --- term -------------------------------------------------------------------------------------

MAX_TERM_YEARS = 5


def add_years(day: date, years: int) -> date:
    """The same day and month ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def latest_end(start: date) -> date:
    """The last end date allowed for a term starting on ``start``: start + 5 years."""
    return add_years(start, MAX_TERM_YEARS)


def check_term(start: date, end: date) -> None:
    """End strictly after start, and end no later than start + 5 years (same day and month)."""
    if end <= start:
        raise refuse(Rule.END_BEFORE_START, f"the end date {end.isoformat()} must be after the start date "
                     f"{start.isoformat()}", fields={"end_date": "must be after start_date"})
    limit = latest_end(start)
    if end > limit:
        raise refuse(Rule.TERM_EXCEEDS_FIVE_YEARS,
                     f"the term may last at most {MAX_TERM_YEARS} years: end on or before {limit.isoformat()}",
                     fields={"end_date": f"must be on or before {limit.isoformat()}"})


# --- plain fields -----------------------------------------------------------------------------

def check_ksdd_type(category: str, ksdd_type: str | None) -> str | None:
    """A KSDD says whether it is wajib or sukarela; other categories carry no KSDD type."""
    if category == Category.KSDD:
        if ksdd_type not in {t.value for t in KsddType}:
            raise refuse(Rule.KSDD_TYPE_INVALID, "a KSDD must state ksdd_type: wajib or sukarela",
                         fields={"ksdd_type": "must be wajib or sukarela"})
        return ksdd_type
    if ksdd_type is not None:
        raise refuse(Rule.KSDD_TYPE_INVALID, f"ksdd_type applies only to KSDD, not {category}",
                     fields={"ksdd_type": "only for KSDD"})
    return None


def check_amount(field: str, value: Any) -> int:
    """Money is a whole number of rupiah, zero or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise refuse(Rule.INVALID_AMOUNT, f"{field} must be a whole number of rupiah, zero or more",
                     fields={field: "must be a whole number of rupiah >= 0"})
    return value


def check_act_date(field: str, day: date, *, today: date, previous: tuple[str, date] | None = None,
                   end: date | None = None) -> date:
    """The date of an act (signed, approved, reviewed, filed, terminated) given by the client: in the
    past at most up to today (the region's date, from the server clock), not before the previous
    dated step of the same agreement, and — for acts about a term (``end`` given) — not after the
    term's end, so every recorded history is in order and within its term."""
    if day > today:
        raise refuse(Rule.DATE_IN_FUTURE, f"{field} {day.isoformat()} is after today ({today.isoformat()})",
                     fields={field: [f"on or before {today.isoformat()}"]})
    if previous is not None and day < previous[1]:
        raise refuse(Rule.DATE_BEFORE_PREVIOUS_STEP,
                     f"{field} {day.isoformat()} is before the {previous[0]} ({previous[1].isoformat()})",
                     fields={field: [f"on or after {previous[1].isoformat()}"]})
    if end is not None and day > end:
        raise refuse(Rule.DATE_AFTER_END, f"{field} {day.isoformat()} is after the end of the term ({end.isoformat()})",
                     fields={field: [f"on or before {end.isoformat()}"]})
    return day


def check_scheduler_day(on: date | None, role: str, today: date) -> date:
    """The day a scheduler command (activate, expire, reminder) is judged on: the server's today,
    or a day the scheduler itself (role ``service``) gives — never one chosen by a person."""
    if on is None:
        return today
    if role != "service":
        raise refuse(Rule.DATE_SET_BY_SERVER, "only the scheduler may give the day; leave 'on' out",
                     kind=Refusal.FORBIDDEN, fields={"on": ["set by the server"]})
    if on > today:
        raise refuse(Rule.DATE_IN_FUTURE, f"on {on.isoformat()} is after today ({today.isoformat()})",
                     fields={"on": [f"on or before {today.isoformat()}"]})
    return on


def check_reason(reason: str | None, field: str = "reason") -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise refuse(Rule.REASON_REQUIRED, f"{field} must not be empty", fields={field: "required"})
    return reason.strip()


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
FILE_META_KEYS = ("file_id", "filename", "size", "media_type", "sha256")


def check_file_meta(meta: Mapping[str, Any], field: str = "file") -> dict:
    """Return the attachment's metadata (file_id, filename, size, media_type, sha256) or refuse it."""
    problems = {}
    for key in ("file_id", "filename", "media_type"):
        if not isinstance(meta.get(key), str) or not meta.get(key):
            problems[key] = "required text"
    size = meta.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        problems["size"] = "must be a whole number of bytes >= 0"
    if not isinstance(meta.get("sha256"), str) or not _SHA256.match(meta["sha256"]):
        problems["sha256"] = "must be 64 lowercase hex digits"
    if problems:
        raise refuse(Rule.INVALID_ATTACHMENT, f"{field} metadata is incomplete or invalid",
                     fields={f"{field}.{k}": v for k, v in problems.items()})
    return {key: meta[key] for key in FILE_META_KEYS}


# --- partners ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartnerView:
    """What the agreements service knows of a partner from its local replica."""

    id: str
    name: str
    kind: str
    status: str
    country: str = "ID"
    region_code: str | None = None

    @classmethod
    def of(cls, value: "PartnerView | Mapping[str, Any]") -> "PartnerView":
        if isinstance(value, PartnerView):
            return value
        return cls(id=value["id"], name=value.get("name", ""), kind=value["kind"],
                   status=value["status"], country=value.get("country") or "ID",
                   region_code=value.get("region_code"))


def check_partner_kinds(category: str, partners: Sequence[PartnerView]) -> None:
    """Each category has one kind of partner (KSDD: daerah_lain, KSDPK: pihak_ketiga, ...)."""
    if not partners:
        raise refuse(Rule.PARTNERS_REQUIRED, "an agreement needs at least one partner",
                     fields={"partner_ids": "at least one partner"})
    expected = PARTNER_KIND_FOR_CATEGORY[category]
    wrong = [p.id for p in partners if p.kind != expected]
    if wrong:
        raise refuse(Rule.CATEGORY_PARTNER_MISMATCH,
                     f"a {category} agreement needs partners of kind {expected}: {', '.join(wrong)} are not",
                     fields={"partner_ids": f"must all be of kind {expected}"})


def check_partners_verified(partner_ids: Iterable[str], partners: Sequence[PartnerView]) -> None:
    """Every party must be verified (an unknown or deactivated partner is not)."""
    by_id = {p.id: p for p in partners}
    bad = [pid for pid in partner_ids
           if pid not in by_id or by_id[pid].status != PartnerStatus.VERIFIED]
    if bad:
        raise refuse(Rule.PARTNER_NOT_VERIFIED, f"partners not verified or deactivated: {', '.join(bad)}",
                     fields={"partner_ids": bad})


# --- PKS and its KB ---------------------------------------------------------------------------

class ParentKB(Protocol):
    """What the rules read of a parent KB (an ``Agreement``)."""

    stream_id: str
    document_kind: str | None
    category: str | None
    status: str | None
    partner_ids: list[str]
    start_date: date | None
    end_date: date | None


def check_parent_kb(parent: ParentKB, *, category: str, partner_ids: Sequence[str], start: date, end: date,
                    require_signed: bool) -> None:
    """A PKS implements a KB of its category, with its partners, within its period.

    Partners: every PKS partner must be a party to the KB (equal sets for the usual bilateral
    KB; a multi-party KB may have a PKS with some of its parties).
    """
    if parent.document_kind != DocumentKind.KB or parent.category != category:
        raise refuse(Rule.PKS_REQUIRES_SIGNED_KB, f"the parent {parent.stream_id} is not a {category} KB",
                     fields={"parent_kb_id": f"must be a {category} KB"})
    if require_signed and parent.status not in IN_FORCE:
        raise refuse(Rule.PKS_REQUIRES_SIGNED_KB,
                     f"the parent KB must be SIGNED or ACTIVE, it is {parent.status}",
                     fields={"parent_kb_id": "must be SIGNED or ACTIVE"})
    if parent.status in ENDED:  # while drafting: a KB that has ended will never be in force again
        raise refuse(Rule.PARENT_KB_NOT_IN_FORCE, f"the parent KB has ended ({parent.status})",
                     fields={"parent_kb_id": "must not have ended"})
    outside = sorted(set(partner_ids) - set(parent.partner_ids))
    if outside:
        raise refuse(Rule.PKS_PARTNER_MISMATCH,
                     f"partners not party to the KB: {', '.join(outside)}", fields={"partner_ids": outside})
    if start < parent.start_date or end > parent.end_date:
        raise refuse(Rule.PKS_OUTSIDE_KB_PERIOD,
                     f"the PKS must lie within the KB period {parent.start_date.isoformat()} to "
                     f"{parent.end_date.isoformat()}",
                     fields={"start_date": f">= {parent.start_date.isoformat()}",
                             "end_date": f"<= {parent.end_date.isoformat()}"})


def check_parent_kb_in_force(parent: ParentKB | None, *, category: str, partner_ids: Sequence[str], start: date,
                             end: date) -> None:
    """A PKS comes into force only while its KB is in force (SIGNED or ACTIVE) and still covers it:
    a KB terminated, expired or shortened by an addendum since the PKS was signed stops its activation."""
    if parent is None or parent.status not in IN_FORCE:
        status = parent.status if parent is not None else "unknown"
        raise refuse(Rule.PARENT_KB_NOT_IN_FORCE, f"the parent KB is not in force (it is {status})",
                     kind=Refusal.CONFLICT, fields={"parent_kb_id": "must be SIGNED or ACTIVE"})
    check_parent_kb(parent, category=category, partner_ids=partner_ids, start=start, end=end, require_signed=True)


def parent_kb_problems(parent: ParentKB, *, category: str, partner_ids: Sequence[str], start: date,
                       end: date) -> list[str]:
    """The rules a PKS breaks against its KB as the KB is now (empty: it still lies within it)."""
    problems = []
    if parent.status not in IN_FORCE:
        problems.append(Rule.PARENT_KB_NOT_IN_FORCE.value)
    if parent.category != category:
        problems.append(Rule.PKS_REQUIRES_SIGNED_KB.value)
    if set(partner_ids) - set(parent.partner_ids):
        problems.append(Rule.PKS_PARTNER_MISMATCH.value)
    if start < parent.start_date or end > parent.end_date:
        problems.append(Rule.PKS_OUTSIDE_KB_PERIOD.value)
    return problems


# --- extensions (perpanjangan) ----------------------------------------------------------------
#
# An extension is a new agreement drafted with ``extends_agreement_id``; it goes through the whole
# procedure again (DOMAIN.md §2). What makes it an extension rather than a new cooperation:
# - ``extension_requires_signed_agreement`` / ``extension_kind_mismatch``: it renews a SIGNED,
#   ACTIVE or EXPIRED agreement of the same category and document kind;
# - ``extension_partner_mismatch``: the same parties, except where a party's legal successor takes
#   its place, declared on the draft with its legal basis (``partner_succession_invalid``);
# - ``extension_overlaps_old_term`` / ``extension_gap_too_long``: it starts after the old end, at
#   most ``MAX_EXTENSION_GAP_DAYS`` days later;
# - ``final_evaluation_required``: the old agreement's final (AKHIR) evaluation is finalized, or
#   its waiver is recorded on the old agreement, before the extension is submitted;
# - ``one_live_extension``: an agreement has at most one extension that is not REJECTED/CANCELLED.

EXTENDABLE = frozenset({Status.SIGNED, Status.ACTIVE, Status.EXPIRED})
DEAD = frozenset({Status.REJECTED, Status.CANCELLED})
# The same span as the H-90 reminder: a procedure started at the reminder and delayed by as much
# again still continues the old cooperation; later than that it is a new one (draft it without
# ``extends_agreement_id``).
MAX_EXTENSION_GAP_DAYS = 90
FINAL_PERIOD = "AKHIR"  # the evaluation service's name of the final period (its events carry it)


class OldAgreement(ParentKB, Protocol):
    """What the extension rules read of the agreement being extended (an ``Agreement``)."""

    final_evaluation_waiver: dict | None


@dataclass(frozen=True)
class PartnerSuccession:
    """A party of the old agreement replaced in the extension by its legal successor (a ministry
    renamed and reorganised by presidential regulation, a merged company, a regency split off),
    with the legal basis that says so."""

    predecessor_id: str
    successor_id: str
    basis: str

    @classmethod
    def of(cls, value: "PartnerSuccession | Mapping[str, Any]") -> "PartnerSuccession":
        if isinstance(value, PartnerSuccession):
            return value
        return cls(predecessor_id=value["predecessor_id"], successor_id=value["successor_id"],
                   basis=value.get("basis") or "")

    def as_dict(self) -> dict:
        return {"predecessor_id": self.predecessor_id, "successor_id": self.successor_id, "basis": self.basis}


def check_extension(old: ParentKB, *, category: str, document_kind: str) -> None:
    """An extension (perpanjangan) renews a signed agreement of the same category and kind."""
    if old.status not in EXTENDABLE:
        raise refuse(Rule.EXTENSION_REQUIRES_SIGNED_AGREEMENT,
                     f"only a SIGNED, ACTIVE or EXPIRED agreement can be extended; {old.stream_id} is {old.status}",
                     fields={"extends_agreement_id": "must be SIGNED, ACTIVE or EXPIRED"})
    if old.category != category or old.document_kind != document_kind:
        raise refuse(Rule.EXTENSION_KIND_MISMATCH,
                     f"an extension keeps the category and document kind ({old.category} {old.document_kind})",
                     fields={"category": old.category, "document_kind": old.document_kind})


def check_successions(successions: Sequence[PartnerSuccession], *, old_partner_ids: Sequence[str] | None,
                      partner_ids: Sequence[str]) -> None:
    """A declared succession replaces one party of the old agreement (``old_partner_ids``; None: this
    is no extension) by one party of the new that was not a party before, on a stated legal basis."""
    if not successions:
        return
    if old_partner_ids is None:
        raise refuse(Rule.PARTNER_SUCCESSION_INVALID, "a partner succession is declared only on an extension",
                     fields={"partner_successions": "only with extends_agreement_id"})
    old, new = set(old_partner_ids), set(partner_ids)
    predecessors = [s.predecessor_id for s in successions]
    successors = [s.successor_id for s in successions]
    problems = {}
    for i, s in enumerate(successions):
        if s.predecessor_id not in old or s.predecessor_id in new:
            problems[f"partner_successions.{i}.predecessor_id"] = "must be a party of the old agreement only"
        if s.successor_id not in new or s.successor_id in old:
            problems[f"partner_successions.{i}.successor_id"] = "must be a new party of the extension"
        if not s.basis.strip():
            problems[f"partner_successions.{i}.basis"] = "the legal basis of the succession is required"
    if len(set(predecessors)) != len(predecessors) or len(set(successors)) != len(successors):
        problems["partner_successions"] = "each party succeeds or is succeeded once"
    if problems:
        raise refuse(Rule.PARTNER_SUCCESSION_INVALID, "the declared partner succession does not fit the parties",
                     fields=problems)


def check_extension_partners(old_partner_ids: Sequence[str], partner_ids: Sequence[str],
                             successions: Sequence[PartnerSuccession] = ()) -> None:
    """The extension binds the same parties as the old agreement, each predecessor replaced by its
    declared successor."""
    check_successions(successions, old_partner_ids=old_partner_ids, partner_ids=partner_ids)
    successor_of = {s.predecessor_id: s.successor_id for s in successions}
    expected = {successor_of.get(p, p) for p in old_partner_ids}
    if expected != set(partner_ids):
        missing, extra = sorted(expected - set(partner_ids)), sorted(set(partner_ids) - expected)
        raise refuse(Rule.EXTENSION_PARTNER_MISMATCH,
                     "an extension binds the same partners as the agreement it extends (or their declared legal "
                     f"successors); missing: {', '.join(missing) or '-'}; not a party before: {', '.join(extra) or '-'}",
                     fields={"partner_ids": [f"expected: {', '.join(sorted(expected))}"]})


def latest_extension_start(old_end: date) -> date:
    """The last start date an extension of an agreement ending on ``old_end`` may have."""
    return old_end + timedelta(days=1 + MAX_EXTENSION_GAP_DAYS)


def check_extension_term(old_end: date, start: date) -> None:
    """The extension starts after the old term (no overlap), at most ``MAX_EXTENSION_GAP_DAYS`` days
    after the day following the old end."""
    first = old_end + timedelta(days=1)
    if start < first:
        raise refuse(Rule.EXTENSION_OVERLAPS_OLD_TERM,
                     f"the extension starts on {start.isoformat()}, within the old term ending on "
                     f"{old_end.isoformat()}; it may start on {first.isoformat()} at the earliest",
                     fields={"start_date": [f"on or after {first.isoformat()}"]})
    last = latest_extension_start(old_end)
    if start > last:
        raise refuse(Rule.EXTENSION_GAP_TOO_LONG,
                     f"the extension starts {(start - first).days} days after the old term ended "
                     f"({old_end.isoformat()}); at most {MAX_EXTENSION_GAP_DAYS} days may lie between them",
                     fields={"start_date": [f"on or before {last.isoformat()}"]})


def check_extends(old: OldAgreement, *, category: str, document_kind: str, partner_ids: Sequence[str],
                  successions: Sequence[PartnerSuccession], start: date) -> None:
    """Every rule of an extension that the two agreements decide by themselves (draft, edit, submit,
    signing); the final evaluation and the one live extension need lookups (see below)."""
    check_extension(old, category=category, document_kind=document_kind)
    check_extension_partners(old.partner_ids, partner_ids, successions)
    check_extension_term(old.end_date, start)


def check_final_evaluation(old: OldAgreement, finalized_final_evaluations: Sequence[Mapping[str, Any]]) -> dict:
    """Before an extension is submitted, the old agreement's AKHIR evaluation is finalized or waived;
    returns what satisfied the rule (recorded in the submission)."""
    if finalized_final_evaluations:
        latest = max(finalized_final_evaluations, key=lambda e: (e.get("finalized_at") or "", e["id"]))
        return {"evaluation_id": latest["id"]}
    if old.final_evaluation_waiver:
        return {"waived": True, "waived_on": old.final_evaluation_waiver["waived_on"]}
    raise refuse(Rule.FINAL_EVALUATION_REQUIRED,
                 f"{old.stream_id} has no finalized {FINAL_PERIOD} evaluation and no recorded waiver: finalize its "
                 "final evaluation, or have the leadership waive it, before submitting the extension",
                 kind=Refusal.CONFLICT, fields={"extends_agreement_id": [f"needs a finalized {FINAL_PERIOD} evaluation"]})


def check_one_live_extension(old_id: str, live_extension_id: str | None) -> None:
    """At most one extension of an agreement is live (not REJECTED or CANCELLED) at a time."""
    if live_extension_id is not None:
        raise refuse(Rule.ONE_LIVE_EXTENSION,
                     f"{old_id} already has a live extension, {live_extension_id}: reject or cancel it first",
                     kind=Refusal.CONFLICT, fields={"extends_agreement_id": [f"already extended by {live_extension_id}"]})


# --- signing ----------------------------------------------------------------------------------

def check_signatory(document_kind: str, position: str, power_of_attorney_ref: str | None) -> None:
    """A KB is signed by the (acting) Kepala Daerah in person; a PKS also by a holder of a surat kuasa."""
    to_enum(SignatoryPosition, position, "signatory_position")
    if document_kind == DocumentKind.KB:
        if power_of_attorney_ref:
            raise refuse(Rule.SIGNATORY_NOT_AUTHORISED, "a KB cannot be signed under a power of attorney",
                         fields={"power_of_attorney_ref": "only for a PKS"})
        if position not in HEAD_POSITIONS:
            raise refuse(Rule.SIGNATORY_NOT_AUTHORISED, "a KB is signed by the Kepala Daerah or the acting head",
                         fields={"signatory_position": "must be kepala_daerah, plt_kepala_daerah or pj_kepala_daerah"})
    elif position not in HEAD_POSITIONS and not power_of_attorney_ref:
        raise refuse(Rule.SIGNATORY_NOT_AUTHORISED,
                     "an official other than the (acting) Kepala Daerah signs a PKS only with a power of attorney",
                     fields={"power_of_attorney_ref": "required for this signatory"})
