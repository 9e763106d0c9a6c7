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

    An ADENDUM is not a stream of its own: it is recorded on the signed KB/PKS it amends
    (``Agreement.amend`` → ``agreement.amended``).
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
    "reject": frozenset({_T, _P}),
    "approve_dprd": frozenset({_P}),
    "approve_central": frozenset({_P}),
    "sign": frozenset({_P}),
    "amend": frozenset({_P}),
    "waive_final_evaluation": frozenset({_P}),
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
    "amend": IN_FORCE,
    "waive_final_evaluation": frozenset({Status.SIGNED, Status.ACTIVE, Status.EXPIRED}),
    "raise_expiry_reminder": IN_FORCE,
    "reject": PRE_SIGNING,
    "cancel": PRE_SIGNING,
    "attach_document": DOCUMENTABLE,
    "add_activity": WORK_PLAN_OPEN,
    "update_activity": WORK_PLAN_OPEN,
    "remove_activity": WORK_PLAN_OPEN,
    "file_report": REPORTABLE,
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


def dprd_required(category: str, burdens_public: bool, budgeted_in_apbd: bool) -> bool:
    """DPRD approval: when the public is burdened, the APBD does not budget it, or it is foreign."""
    return bool(burdens_public) or not budgeted_in_apbd or is_foreign(category)


def central_required(category: str) -> bool:
    """Foreign cooperation also needs the central government's approval."""
    return is_foreign(category)


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

    @classmethod
    def of(cls, value: "PartnerView | Mapping[str, Any]") -> "PartnerView":
        if isinstance(value, PartnerView):
            return value
        return cls(id=value["id"], name=value.get("name", ""), kind=value["kind"],
                   status=value["status"], country=value.get("country") or "ID")


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
