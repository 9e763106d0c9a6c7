"""Work-plan arithmetic of the read side (mirrors the agreements service's published rules:
realisation is cumulative, an activity's progress is min(100, latest realisation / target × 100),
an agreement's progress is the mean over its activities; reports are due per quarter)."""
from __future__ import annotations

from datetime import date, timedelta

REPORT_GRACE_DAYS = 30


def period_key(period: str) -> tuple[int, int]:
    year, quarter = period.split("-TW")
    return int(year), int(quarter)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> date:
    first_of_next = date(year + (quarter == 4), 1 if quarter == 4 else quarter * 3 + 1, 1)
    return first_of_next - timedelta(days=1)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def activity_progress(activity: dict) -> float:
    target = activity.get("target") or 0
    if target <= 0 or activity.get("realisation") is None:
        return 0.0
    return round(min(100.0, activity["realisation"] / target * 100.0), 2)


def agreement_progress(activities: dict) -> float:
    values = [activity_progress(a) for a in activities.values()]
    return round(sum(values) / len(values), 2) if values else 0.0


def report_due_by(activities: dict, agreement_start: date) -> str | None:
    """The earliest date by which a quarterly report is due (quarter end + grace), or None."""
    dues = []
    for activity in activities.values():
        start = max(date.fromisoformat(activity["schedule_start"]), agreement_start)
        end = date.fromisoformat(activity["schedule_end"])
        quarter = next_quarter(*period_key(activity["last_period"])) if activity.get("last_period") \
            else quarter_of(start)
        if quarter_end(*quarter) <= quarter_end(*quarter_of(end)):
            dues.append(quarter_end(*quarter) + timedelta(days=REPORT_GRACE_DAYS))
    return min(dues).isoformat() if dues else None
