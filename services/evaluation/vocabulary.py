"""The evaluation service's view of the agreements service's published vocabulary.

The read side consumes agreement events; it does not import the agreements service's code (each
service deploys alone). These values are the agreements service's published contract (the
``status``/``category`` values carried in ``agreement.*`` events, README "Events"); the unit test
``tests/unit/evaluation/test_vocabulary.py`` holds them equal to that service's own enums, so a
new status or category cannot be added on one side only. Everything in this service that names
an agreement status or category imports it from here.
"""
from __future__ import annotations

from enum import StrEnum


class AgreementStatus(StrEnum):
    """Lifecycle states of an agreement (DOMAIN.md §2)."""

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


class Category(StrEnum):
    """Kinds of cooperation, by who the partner is."""

    KSDD = "KSDD"
    KSDPK = "KSDPK"
    KSDPL = "KSDPL"
    KSDLL = "KSDLL"
    SINERGI = "SINERGI"


S = AgreementStatus
# Signed and after: what the public sees, what is evaluated and what open data publishes.
SIGNED_OR_LATER: tuple[str, ...] = (S.SIGNED, S.ACTIVE, S.EXPIRED, S.TERMINATED)
# In force or about to be: what "live" counts and H-90 reminders are about.
LIVE: tuple[str, ...] = (S.SIGNED, S.ACTIVE)
EVALUABLE = SIGNED_OR_LATER
FOREIGN: tuple[str, ...] = (Category.KSDPL, Category.KSDLL)
STATUSES: tuple[str, ...] = tuple(S)
CATEGORIES: tuple[str, ...] = tuple(Category)


def cooperation_scope(category: str | None) -> str:
    """``luar_negeri`` for foreign cooperation (KSDPL, KSDLL), else ``dalam_negeri``."""
    return "luar_negeri" if category in FOREIGN else "dalam_negeri"
