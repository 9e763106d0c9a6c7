"""What a list of funding sources means, shared by the agreements domain and the read side.

A funding list is ``[{"source": code, "amount": rupiah, "budgeted": bool | None}]`` (codes from
``funding_sources.json``); ``budgeted`` is a bool only for the region's own APBD money. Events
written before funding sources existed carry the boolean ``budgeted_in_apbd`` instead;
``legacy_funding`` is the one mapping of it, used by every upcaster.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from shared.upcasting import Upcasters

APBD = "apbd"
LEGACY_FLAG = "legacy_budgeted_in_apbd"


def total(funding: Sequence[Mapping[str, Any]]) -> int:
    """The sum of the sources' amounts."""
    return sum(int(item.get("amount") or 0) for item in funding or ())


def dprd_burden(funding: Sequence[Mapping[str, Any]]) -> bool:
    """Whether some of the region's own money is not yet budgeted in the current APBD."""
    return any(item.get("budgeted") is False for item in funding or ())


def legacy_funding(value: int, budgeted_in_apbd: bool) -> list[dict]:
    """The funding list an old ``budgeted_in_apbd`` flag stands for.

    The old flag could not tell "APBD money not yet budgeted" from "no APBD money at all"; both sent
    the agreement to the DPRD. Reading it as APBD money (not) budgeted keeps every recorded decision
    as it was: the value is APBD money, budgeted or not; a value of zero with the flag set has no
    sources; a value of zero without it stays one unbudgeted APBD line of 0 so DPRD stays required.
    """
    if budgeted_in_apbd:
        return [{"source": APBD, "amount": int(value), "budgeted": True}] if value else []
    return [{"source": APBD, "amount": int(value), "budgeted": False}]


def upcast_drafted_v1(data: dict) -> dict:
    """``agreement.drafted`` v1 → v2: ``budgeted_in_apbd`` → ``funding``; the flag is kept as
    ``legacy_budgeted_in_apbd`` so a later value change still derives the funding as the flag did."""
    flag = bool(data.pop("budgeted_in_apbd", True))
    data["funding"] = legacy_funding(data.get("value") or 0, flag)
    data[LEGACY_FLAG] = flag
    return data


def upcast_draft_edited_v1(data: dict) -> dict:
    """``agreement.draft_edited`` v1 → v2: a changed ``budgeted_in_apbd`` becomes
    ``legacy_budgeted_in_apbd`` (the aggregate derives the funding from it and its value)."""
    changes = dict(data.get("changes") or {})
    if "budgeted_in_apbd" in changes:
        changes[LEGACY_FLAG] = bool(changes.pop("budgeted_in_apbd"))
    return {**data, "changes": changes}


def agreement_upcasters() -> Upcasters:
    """The upcasters of the agreement events' funding shape, for every reader of those events
    (the agreements repository and stream API, the evaluation projector)."""
    return Upcasters({("agreement.drafted", 1): upcast_drafted_v1,
                      ("agreement.draft_edited", 1): upcast_draft_edited_v1})
