"""The evaluation service's view of the agreements service's published vocabulary.

The read side consumes agreement events; it does not import the agreements service's code (each
service deploys alone). It reads the agreements service's published contract instead
(``services/agreements/contract.json``: the ``status`` and ``category`` values carried in
``agreement.*`` events), which ``tests/unit/evaluation/test_vocabulary.py`` holds equal to that
service's own enums — a status or category cannot be added on one side only. Everything in this
service that names an agreement status or category imports it from here.
"""
from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

CONTRACT_FILE = Path(__file__).resolve().parents[1] / "agreements" / "contract.json"
CONTRACT = json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))

AgreementStatus = StrEnum("AgreementStatus", {s: s for s in CONTRACT["statuses"]})
Category = StrEnum("Category", {c: c for c in CONTRACT["categories"]})
AddendumStatus = StrEnum("AddendumStatus", {s: s for s in CONTRACT["addendum_statuses"]})

S = AgreementStatus
# Signed and after: what the public sees, what is evaluated and what open data publishes.
SIGNED_OR_LATER: tuple[str, ...] = (S.SIGNED, S.ACTIVE, S.EXPIRED, S.TERMINATED)
# In force or about to be: what "live" counts and H-90 reminders are about.
LIVE: tuple[str, ...] = (S.SIGNED, S.ACTIVE)
EVALUABLE = SIGNED_OR_LATER
FOREIGN: tuple[str, ...] = tuple(Category(c) for c in CONTRACT["foreign_categories"])
STATUSES: tuple[str, ...] = tuple(S)
# An addendum still under way (drafted, reviewed or approved, not yet signed, withdrawn or rejected).
ADDENDUM_OPEN: tuple[str, ...] = tuple(a for a in AddendumStatus if a not in ("SIGNED", "WITHDRAWN", "REJECTED"))
CATEGORIES: tuple[str, ...] = tuple(Category)


def cooperation_scope(category: str | None) -> str:
    """``luar_negeri`` for foreign cooperation (KSDPL, KSDLL), else ``dalam_negeri``."""
    return "luar_negeri" if category in FOREIGN else "dalam_negeri"
