"""Work plan (rencana kerja) and implementation reports (laporan pelaksanaan): DOMAIN.md §3.

Reporting periods are quarters, written ``YYYY-TW1`` … ``YYYY-TW4``. A report's realisation is
CUMULATIVE (capaian s.d. periode: everything achieved from the start up to the end of that
quarter), so an activity's progress follows from its latest period alone and filing a period
again corrects it instead of adding to it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from .rules import Rule, check_amount, refuse

_PERIOD = re.compile(r"^(\d{4})-TW([1-4])$")


def period_key(period: str) -> tuple[int, int]:
    """(year, quarter) of a period such as ``2025-TW1``, for ordering; refuses other spellings."""
    match = _PERIOD.match(period) if isinstance(period, str) else None
    if not match:
        raise refuse(Rule.INVALID_PERIOD, f"period '{period}' is not of the form YYYY-TW1 .. YYYY-TW4",
                     fields={"period": "must be YYYY-TW1 .. YYYY-TW4"})
    return int(match.group(1)), int(match.group(2))


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a quarter period."""
    year, quarter = period_key(period)
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def activity_progress(target: float, realisation: float) -> float:
    """Percent achieved: min(100, cumulative realisation / target × 100); 0 without a target."""
    if target <= 0:
        return 0.0
    return min(100.0, max(0.0, realisation / target * 100.0))


def agreement_progress(progresses: Iterable[float]) -> float:
    """Mean of the activities' progress; 0 for a work plan without activities."""
    values = list(progresses)
    return sum(values) / len(values) if values else 0.0


def check_target(target: Any) -> float | int:
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not target > 0:
        raise refuse(Rule.INVALID_TARGET, "the target must be a number greater than zero",
                     fields={"target": "must be > 0"})
    return target


def check_realisation(realisation: Any) -> float | int:
    if isinstance(realisation, bool) or not isinstance(realisation, (int, float)) or not realisation >= 0:
        raise refuse(Rule.INVALID_REALISATION, "the realisation must be a number, zero or more",
                     fields={"realisation": "must be >= 0"})
    return realisation


def check_schedule(start: date, end: date, term_start: date, term_end: date) -> None:
    """An activity runs at least one day, within the agreement's term."""
    if end < start:
        raise refuse(Rule.SCHEDULE_END_BEFORE_START, "schedule_end must not be before schedule_start",
                     fields={"schedule_end": "must be on or after schedule_start"})
    if start < term_start or end > term_end:
        raise refuse(Rule.ACTIVITY_OUTSIDE_PERIOD,
                     f"the schedule must lie within the agreement's term {term_start.isoformat()} to "
                     f"{term_end.isoformat()}",
                     fields={"schedule_start": f">= {term_start.isoformat()}",
                             "schedule_end": f"<= {term_end.isoformat()}"})


def check_activity_fields(values: dict, term_start: date, term_end: date) -> None:
    check_target(values["target"])
    check_amount("budget", values["budget"])
    check_schedule(values["schedule_start"], values["schedule_end"], term_start, term_end)


@dataclass
class Report:
    """One implementation report of an activity for one quarter."""

    period: str
    realisation: float | int
    obstacles: str
    solutions: str
    evidence: list[dict]
    filed_on: date

    def as_dict(self) -> dict:
        return {"period": self.period, "realisation": self.realisation, "obstacles": self.obstacles,
                "solutions": self.solutions, "evidence": [dict(e) for e in self.evidence],
                "filed_on": self.filed_on.isoformat()}


@dataclass
class Activity:
    """One activity of the work plan, with its reports keyed by period."""

    activity_id: str
    name: str
    indicator: str
    target: float | int
    unit: str
    schedule_start: date
    schedule_end: date
    responsible_opd: str
    budget: int
    reports: dict[str, Report] = field(default_factory=dict)

    def latest_report(self) -> Report | None:
        if not self.reports:
            return None
        return self.reports[max(self.reports, key=period_key)]

    @property
    def progress(self) -> float:
        latest = self.latest_report()
        return activity_progress(self.target, latest.realisation if latest else 0)

    def as_dict(self) -> dict:
        return {
            "activity_id": self.activity_id, "name": self.name, "indicator": self.indicator,
            "target": self.target, "unit": self.unit,
            "schedule_start": self.schedule_start.isoformat(), "schedule_end": self.schedule_end.isoformat(),
            "responsible_opd": self.responsible_opd, "budget": self.budget,
            "reports": [self.reports[p].as_dict() for p in sorted(self.reports, key=period_key)],
            "progress": round(self.progress, 2),
        }
