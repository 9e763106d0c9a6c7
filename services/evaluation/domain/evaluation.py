"""The ``Evaluation`` aggregate: one monev round of one agreement for one period.

Lifecycle::

    SCHEDULED ──save_answers──▶ IN_PROGRESS ──submit──▶ SUBMITTED ──finalize──▶ FINALIZED
        │                        ▲    │                    │
        │                        │    └──cancel──▶ CANCELLED
        └────────cancel──────────┼─────────────▶ CANCELLED
                                 └──return_for_revision──┘

Who may do what:

* ``kerjasama`` schedules, returns for revision, finalizes and cancels; it may
  also answer and submit any evaluation (the Bagian Kerja Sama runs the workflow and enters
  answers on an assessor's behalf, e.g. from a signed paper form; the envelope records who);
* ``opd`` may answer and submit only evaluations assessed by the OPD (``assessor_kind`` opd)
  of agreements whose lead OPD is the user's own OPD;
* ``tkksd`` may answer and submit only evaluations assessed by the TKKSD;
* everybody else is refused (``role_not_allowed``, 403) — ``admin`` too: it runs the system, not
  the monev workflow (segregation of duties).

Finalisation scores the answers with the rubric version recorded at scheduling and stores
the scores, the weights, the rating and the rubric identity in ``evaluation.finalized``, so a
later rubric change never rewrites a finalised evaluation.
"""
from __future__ import annotations

import copy
import uuid
from datetime import date, datetime
from typing import Any, Mapping

from shared.domain import Aggregate, DomainError, InvalidTransition, NewEvent, Refusal

from .rubric import CHOICE, REFS, SCALE_KINDS, TEXT, Rubric
from .scoring import NothingToScore, score

STREAM_TYPE = "evaluation"
STREAM_PREFIX = "evaluation-"

EVALUATION_SCHEDULED = "evaluation.scheduled"
EVALUATION_ANSWERS_SAVED = "evaluation.answers_saved"
EVALUATION_SUBMITTED = "evaluation.submitted"
EVALUATION_RETURNED = "evaluation.returned"
EVALUATION_FINALIZED = "evaluation.finalized"
EVALUATION_CANCELLED = "evaluation.cancelled"
EVENT_TYPES = (
    EVALUATION_SCHEDULED, EVALUATION_ANSWERS_SAVED, EVALUATION_SUBMITTED,
    EVALUATION_RETURNED, EVALUATION_FINALIZED, EVALUATION_CANCELLED,
)

PERIODS = ("TW1", "TW2", "TW3", "TW4", "TAHUNAN", "AKHIR")
QUARTERS = {"TW1": 1, "TW2": 2, "TW3": 3, "TW4": 4}
ANNUAL, FINAL = "TAHUNAN", "AKHIR"

ASSESSOR_OPD = "opd"
ASSESSOR_KERJASAMA = "kerjasama"
ASSESSOR_TKKSD = "tkksd"
ASSESSOR_KINDS = (ASSESSOR_OPD, ASSESSOR_KERJASAMA, ASSESSOR_TKKSD)

ROLE_KERJASAMA = "kerjasama"
ROLE_OPD = "opd"
ROLE_TKKSD = "tkksd"
MANAGING_ROLES = frozenset({ROLE_KERJASAMA})

MIN_YEAR = 2000
MAX_YEAR = 2100
MAX_REASON_LENGTH = 2000
NEW = "NEW"  # the state name used in errors before the evaluation is scheduled


class Status:
    """Lifecycle states (stored as these plain strings)."""

    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    SUBMITTED = "SUBMITTED"
    FINALIZED = "FINALIZED"
    CANCELLED = "CANCELLED"

    ALL = (SCHEDULED, IN_PROGRESS, SUBMITTED, FINALIZED, CANCELLED)
    CLOSED = (FINALIZED, CANCELLED)


def new_stream_id() -> str:
    """A fresh stream id ``evaluation-<uuid4>``."""
    return f"{STREAM_PREFIX}{uuid.uuid4()}"


def is_valid_stream_id(stream_id: str) -> bool:
    """True for ``evaluation-<uuid>``."""
    if not isinstance(stream_id, str) or not stream_id.startswith(STREAM_PREFIX):
        return False
    try:
        uuid.UUID(stream_id[len(STREAM_PREFIX):])
    except ValueError:
        return False
    return True


# -- answer rules --------------------------------------------------------------------------
def check_answers(rubric: Rubric, answers: Any) -> dict[str, Any]:
    """Validate answers against ``rubric`` and return them normalised.

    ``None`` (and an empty text or reference list) clears a draft answer. Rules:
    ``invalid_answers`` (not a mapping / empty), ``unknown_indicator``,
    ``answer_outside_scale`` (a scale or choice answer that is not one of its option keys),
    ``invalid_answer`` (malformed text or evidence references). ``fields`` names every
    faulty indicator.
    """
    if not isinstance(answers, Mapping) or not answers:
        raise DomainError("invalid_answers", "answers must be a non-empty object of indicator id → answer")
    unknown = {str(k): "unknown indicator" for k in answers if not isinstance(k, str) or rubric.indicator(k) is None}
    if unknown:
        raise DomainError("unknown_indicator", f"not in rubric {rubric.rubric_id} v{rubric.rubric_version}: "
                          + ", ".join(sorted(unknown)), fields=unknown)

    normalised: dict[str, Any] = {}
    outside: dict[str, str] = {}
    malformed: dict[str, str] = {}
    for indicator_id, value in answers.items():
        indicator = rubric.indicator(indicator_id)
        assert indicator is not None
        if value is None:
            normalised[indicator_id] = None
        elif indicator.kind in SCALE_KINDS or indicator.kind == CHOICE:
            if isinstance(value, str) and indicator.option(value) is not None:
                normalised[indicator_id] = value
            else:
                outside[indicator_id] = "expected one of: " + ", ".join(indicator.option_keys)
        elif indicator.kind == TEXT:
            if not isinstance(value, str):
                malformed[indicator_id] = "expected text"
            elif len(value.strip()) > indicator.max_length:
                malformed[indicator_id] = f"at most {indicator.max_length} characters"
            else:
                normalised[indicator_id] = value.strip() or None
        elif indicator.kind == REFS:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
                malformed[indicator_id] = "expected a list of non-empty references"
            elif len(value) > indicator.max_items:
                malformed[indicator_id] = f"at most {indicator.max_items} references"
            else:
                refs = list(dict.fromkeys(v.strip() for v in value))  # drop repeats, keep order
                normalised[indicator_id] = refs or None
    if outside:
        raise DomainError("answer_outside_scale", "answer(s) outside the indicator's scale: " + ", ".join(sorted(outside)),
                          fields={**outside, **malformed})
    if malformed:
        raise DomainError("invalid_answer", "malformed answer(s): " + ", ".join(sorted(malformed)), fields=malformed)
    return normalised


def period_bounds(period: str, year: int, term_start: date, term_end: date) -> tuple[date, date]:
    """The first and last day of the term that ``period`` of ``year`` evaluates: a quarter (TW1–TW4) or
    the calendar year (TAHUNAN) cut to the term, or the whole term (AKHIR). First after last: the
    period lies outside the term."""
    if period in QUARTERS:
        quarter = QUARTERS[period]
        first = date(year, 3 * quarter - 2, 1)
        last = date(year, 12, 31) if quarter == 4 else date.fromordinal(date(year, 3 * quarter + 1, 1).toordinal() - 1)
    elif period == ANNUAL:
        first, last = date(year, 1, 1), date(year, 12, 31)
    else:
        first, last = term_start, term_end
    return max(first, term_start), min(last, term_end)


def check_period(period: str, year: int, due: date, *, term_start: date, term_end: date, today: date) -> None:
    """Scheduling rules of a period (issue 11): it lies within the agreement's term
    (``period_outside_term``; an AKHIR evaluation is of the year the term ends); a quarter is not
    evaluated before it has started (``period_not_started``); and the period has ended by today or
    ends by the due date (``period_not_ended``), so an evaluation is never due before there is
    something to evaluate. ``term_end`` is the last day in force (the termination day if earlier)."""
    first, last = period_bounds(period, year, term_start, term_end)
    if first > last or (period == FINAL and year != term_end.year):
        raise DomainError("period_outside_term", f"{period} {year} lies outside the agreement's term "
                          f"{term_start.isoformat()} to {term_end.isoformat()}",
                          fields={"period": [f"within {term_start.isoformat()} to {term_end.isoformat()}"]})
    if period in QUARTERS and today < first:
        raise DomainError("period_not_started", f"{period} {year} starts on {first.isoformat()}, after today "
                          f"({today.isoformat()})", kind=Refusal.CONFLICT,
                          fields={"period": [f"starts on {first.isoformat()}"]})
    if last >= today and last > due:
        raise DomainError("period_not_ended", f"{period} {year} ends on {last.isoformat()}, after the due date "
                          f"{due.isoformat()}", fields={"due_date": [f"on or after {last.isoformat()}"]})


def missing_answers(rubric: Rubric, answers: Mapping[str, Any]) -> list[str]:
    """Required indicators of ``rubric`` that have no answer, in rubric order."""
    return [i for i in rubric.required_ids if answers.get(i) in (None, "", [])]


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None  # a moment is not a due date; refuse rather than guess a time zone
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise DomainError("reason_required", "a reason is required", fields={"reason": "required"})
    if len(reason.strip()) > MAX_REASON_LENGTH:
        raise DomainError("reason_too_long", f"at most {MAX_REASON_LENGTH} characters",
                          fields={"reason": f"at most {MAX_REASON_LENGTH} characters"})
    return reason.strip()


class Evaluation(Aggregate):
    """One monev evaluation (stream ``evaluation-<uuid>``)."""

    stream_type = STREAM_TYPE

    def __init__(self, stream_id: str):
        super().__init__(stream_id)
        self.status: str | None = None
        self.agreement_id: str | None = None
        self.agreement_lead_opd: str | None = None
        self.period: str | None = None
        self.year: int | None = None
        self.due_date: date | None = None
        self.assessor_kind: str | None = None
        self.rubric_id: str | None = None
        self.rubric_version: int | None = None
        self.answers: dict[str, Any] = {}
        self.submission_count = 0
        self.return_reasons: list[str] = []
        self.result: dict | None = None
        self.cancel_reason: str | None = None
        self.cancelled_from: str | None = None

    # -- queries ----------------------------------------------------------------------------
    def overdue(self, today: date) -> bool:
        """Scheduled, not finalised or cancelled, and its due date is before ``today``."""
        if isinstance(today, datetime):
            today = today.date()
        if self.status is None or self.status in Status.CLOSED or self.due_date is None:
            return False
        return self.due_date < today

    def missing(self, rubric: Rubric) -> list[str]:
        """Required indicators still unanswered."""
        return missing_answers(rubric, self.answers)

    def snapshot(self) -> dict:
        """The whole state as a JSON-serialisable dict."""
        return {
            "stream_id": self.stream_id,
            "stream_type": self.stream_type,
            "version": self.version,
            "status": self.status,
            "agreement_id": self.agreement_id,
            "agreement_lead_opd": self.agreement_lead_opd,
            "period": self.period,
            "year": self.year,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "assessor_kind": self.assessor_kind,
            "rubric_id": self.rubric_id,
            "rubric_version": self.rubric_version,
            "answers": copy.deepcopy(self.answers),
            "submission_count": self.submission_count,
            "return_reasons": list(self.return_reasons),
            "result": copy.deepcopy(self.result),
            "cancel_reason": self.cancel_reason,
            "cancelled_from": self.cancelled_from,
        }

    # -- guards -----------------------------------------------------------------------------
    def _require_scheduled(self, command: str) -> None:
        if self.status is None:
            raise InvalidTransition(command, NEW, rule="not_scheduled")

    def _require_status(self, command: str, *allowed: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(command, self.status or NEW)

    @staticmethod
    def _require_manager(command: str, role: str) -> None:
        if role not in MANAGING_ROLES:
            raise DomainError("role_not_allowed", f"role {role!r} may not {command} an evaluation", kind=Refusal.FORBIDDEN)

    def _require_assessor(self, command: str, role: str, opd: str | None) -> None:
        if role in MANAGING_ROLES:
            return
        if role == ROLE_OPD and self.assessor_kind == ASSESSOR_OPD:
            if not isinstance(opd, str) or opd.strip() != self.agreement_lead_opd:
                raise DomainError("opd_not_responsible",
                                  "only the agreement's lead OPD may fill in this evaluation", kind=Refusal.FORBIDDEN)
            return
        if role == ROLE_TKKSD and self.assessor_kind == ASSESSOR_TKKSD:
            return
        raise DomainError("role_not_allowed",
                          f"role {role!r} may not {command} an evaluation assessed by {self.assessor_kind}", kind=Refusal.FORBIDDEN)

    def _require_rubric(self, rubric: Rubric) -> None:
        if not isinstance(rubric, Rubric):
            raise TypeError("rubric must be a Rubric")
        if (rubric.rubric_id, rubric.rubric_version) != (self.rubric_id, self.rubric_version):
            raise DomainError(
                "rubric_mismatch",
                f"this evaluation uses rubric {self.rubric_id} v{self.rubric_version}, "
                f"not {rubric.rubric_id} v{rubric.rubric_version}",
                kind=Refusal.CONFLICT,
            )

    # -- commands ---------------------------------------------------------------------------
    def schedule(self, *, role: str, agreement_id: str, agreement_lead_opd: str, period: str, year: int,
                 due_date: date | str, assessor_kind: str, rubric: Rubric, term_start: date, term_end: date,
                 today: date) -> list[NewEvent]:
        """Plan an evaluation of ``agreement_id`` for ``period``/``year`` with ``rubric``; the period must
        fit the agreement's term (``term_start`` to ``term_end``) and ``today`` (``check_period``).
        Uniqueness among evaluations is the handler's (it spans streams)."""
        self._require_manager("schedule", role)
        if self.status is not None:
            raise InvalidTransition("schedule", self.status, rule="already_scheduled")
        if not isinstance(rubric, Rubric):
            raise TypeError("rubric must be a Rubric")

        problems: list[tuple[str, str, str]] = []  # (rule, field, message)
        if not is_valid_stream_id(self.stream_id):
            problems.append(("invalid_stream_id", "stream_id", f"expected {STREAM_PREFIX}<uuid>"))
        if not isinstance(agreement_id, str) or not agreement_id.strip():
            problems.append(("agreement_required", "agreement_id", "required"))
        if not isinstance(agreement_lead_opd, str) or not agreement_lead_opd.strip():
            problems.append(("lead_opd_required", "agreement_lead_opd", "required"))
        if period not in PERIODS:
            problems.append(("unknown_period", "period", "expected one of: " + ", ".join(PERIODS)))
        if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
            problems.append(("invalid_year", "year", f"expected a year between {MIN_YEAR} and {MAX_YEAR}"))
        due = _to_date(due_date)
        if due is None:
            problems.append(("invalid_due_date", "due_date", "expected a date (YYYY-MM-DD)"))
        if assessor_kind not in ASSESSOR_KINDS:
            problems.append(("unknown_assessor_kind", "assessor_kind", "expected one of: " + ", ".join(ASSESSOR_KINDS)))
        if problems:
            rule, _, _ = problems[0]
            raise DomainError(rule, "cannot schedule: " + ", ".join(f for _, f, _ in problems),
                              fields={f: m for _, f, m in problems})

        assert due is not None
        check_period(period, year, due, term_start=term_start, term_end=term_end, today=today)
        return [self._emit(EVALUATION_SCHEDULED, {
            "agreement_id": agreement_id.strip(),
            "agreement_lead_opd": agreement_lead_opd.strip(),
            "period": period,
            "year": year,
            "due_date": due.isoformat(),
            "assessor_kind": assessor_kind,
            "rubric_id": rubric.rubric_id,
            "rubric_version": rubric.rubric_version,
        })]

    def save_answers(self, answers: Mapping[str, Any], *, role: str, rubric: Rubric,
                     opd: str | None = None) -> list[NewEvent]:
        """Merge draft answers (``None`` clears one); SCHEDULED/IN_PROGRESS → IN_PROGRESS."""
        self._require_scheduled("save_answers")
        self._require_assessor("answer", role, opd)
        self._require_status("save_answers", Status.SCHEDULED, Status.IN_PROGRESS)
        self._require_rubric(rubric)
        normalised = check_answers(rubric, answers)
        return [self._emit(EVALUATION_ANSWERS_SAVED, {"answers": normalised})]

    def submit(self, *, role: str, rubric: Rubric, opd: str | None = None) -> list[NewEvent]:
        """Hand in the answers; every required indicator must be answered. IN_PROGRESS → SUBMITTED."""
        self._require_scheduled("submit")
        self._require_assessor("submit", role, opd)
        self._require_status("submit", Status.IN_PROGRESS)
        self._require_rubric(rubric)
        missing = self.missing(rubric)
        if missing:
            raise DomainError("evaluation_incomplete", "unanswered required indicator(s): " + ", ".join(missing),
                              fields={i: "answer required" for i in missing})
        return [self._emit(EVALUATION_SUBMITTED, {"submission_number": self.submission_count + 1})]

    def return_for_revision(self, reason: str, *, role: str) -> list[NewEvent]:
        """Send a submission back to its assessor. SUBMITTED → IN_PROGRESS."""
        self._require_scheduled("return_for_revision")
        self._require_manager("return", role)
        self._require_status("return_for_revision", Status.SUBMITTED)
        return [self._emit(EVALUATION_RETURNED, {"reason": _reason(reason)})]

    def finalize(self, *, role: str, rubric: Rubric) -> list[NewEvent]:
        """Score the submission and record the result for good. SUBMITTED → FINALIZED."""
        self._require_scheduled("finalize")
        self._require_manager("finalize", role)
        if self.status == Status.FINALIZED:
            raise InvalidTransition("finalize", self.status, rule="already_finalized")
        self._require_status("finalize", Status.SUBMITTED)
        self._require_rubric(rubric)
        missing = self.missing(rubric)
        if missing:
            raise DomainError("evaluation_incomplete", "unanswered required indicator(s): " + ", ".join(missing),
                              fields={i: "answer required" for i in missing})
        try:
            result = score(rubric, self.answers)
        except NothingToScore as exc:
            raise DomainError("nothing_to_score", str(exc)) from exc
        return [self._emit(EVALUATION_FINALIZED, {**result.as_data(), "answers": copy.deepcopy(self.answers)})]

    def cancel(self, reason: str, *, role: str) -> list[NewEvent]:
        """Call the evaluation off. SCHEDULED/IN_PROGRESS → CANCELLED."""
        self._require_scheduled("cancel")
        self._require_manager("cancel", role)
        self._require_status("cancel", Status.SCHEDULED, Status.IN_PROGRESS)
        return [self._emit(EVALUATION_CANCELLED, {"reason": _reason(reason), "from_status": self.status})]

    # -- state changes ----------------------------------------------------------------------
    def when_evaluation_scheduled(self, data: Mapping[str, Any]) -> None:
        self.status = Status.SCHEDULED
        self.agreement_id = data["agreement_id"]
        self.agreement_lead_opd = data["agreement_lead_opd"]
        self.period = data["period"]
        self.year = data["year"]
        self.due_date = date.fromisoformat(data["due_date"])
        self.assessor_kind = data["assessor_kind"]
        self.rubric_id = data["rubric_id"]
        self.rubric_version = data["rubric_version"]

    def when_evaluation_answers_saved(self, data: Mapping[str, Any]) -> None:
        self.status = Status.IN_PROGRESS
        for indicator_id, value in data["answers"].items():
            if value is None:
                self.answers.pop(indicator_id, None)
            else:
                self.answers[indicator_id] = copy.deepcopy(value)

    def when_evaluation_submitted(self, data: Mapping[str, Any]) -> None:
        self.status = Status.SUBMITTED
        self.submission_count = data.get("submission_number", self.submission_count + 1)

    def when_evaluation_returned(self, data: Mapping[str, Any]) -> None:
        self.status = Status.IN_PROGRESS
        self.return_reasons.append(data["reason"])

    def when_evaluation_finalized(self, data: Mapping[str, Any]) -> None:
        self.status = Status.FINALIZED
        self.result = {k: copy.deepcopy(v) for k, v in data.items() if k != "answers"}
        if "answers" in data:
            self.answers = copy.deepcopy(dict(data["answers"]))

    def when_evaluation_cancelled(self, data: Mapping[str, Any]) -> None:
        self.cancelled_from = data.get("from_status", self.status)
        self.status = Status.CANCELLED
        self.cancel_reason = data["reason"]
