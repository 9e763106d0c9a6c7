"""The evaluation service's view of the agreements service's published vocabulary.

The read side consumes agreement events; it does not import the agreements service's code (each
service deploys alone). It reads the agreements service's published contract instead
(``services/agreements/contract.json``: the ``status`` and ``category`` values carried in
``agreement.*`` events), which ``tests/unit/evaluation/test_vocabulary.py`` holds equal to that
service's own enums — a status or category cannot be added on one side only. Everything in this
service that names an agreement status or category imports it from here.

The controlled vocabularies (urusan, OPDs, funding sources, termination reasons, regions) are
shared data (``shared/vocabularies``), the same files the agreements service validates against;
the read side uses them to show names instead of codes (``urusan_names``, ``opd_name``, ...).
"""
from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Iterable

from shared.vocabularies import Vocabularies, default as default_vocabularies

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


def urusan_names(codes: Iterable[str], vocab: Vocabularies | None = None) -> list[str]:
    """The display names of urusan codes (an unknown code, e.g. from an older event, shows as itself)."""
    vocab = vocab or default_vocabularies()
    return [vocab.urusan.name_of(code) for code in codes or ()]


def opd_name(code: str | None, vocab: Vocabularies | None = None) -> str | None:
    """The display name of an OPD code of the region's catalogue."""
    if not code:
        return None
    return (vocab or default_vocabularies()).opd.name_of(code)


def funding_names(funding: Iterable[dict], vocab: Vocabularies | None = None) -> list[str]:
    """The display names of an agreement's funding sources, in order."""
    vocab = vocab or default_vocabularies()
    return [vocab.funding_sources.name_of(item.get("source")) for item in funding or ()]
