"""Who may call which operation of the agreements service (see shared/policy.py).

Roles at this level; the domain then applies its finer rules (the state machine, which OPD is
responsible for an activity). An ``opd`` officer reaches only agreements whose lead OPD or an
activity's responsible OPD is theirs (scope ``agreement``).
"""
from __future__ import annotations

from typing import Mapping

from shared.application import StreamNotFound
from shared.policy import DEADLETTER_API, STREAM_API, Policy, allow

A = "/api/v1/agreements/<agreement_id>"
READERS = ("admin", "kerjasama", "tkksd", "pimpinan", "opd", "auditor", "service")

RULES = {
    "POST /api/v1/agreements": allow("kerjasama"),
    "GET /api/v1/vocabularies": allow("*"),
    f"GET {A}": allow(*READERS, scope="agreement"),
    f"POST {A}/edit": allow("kerjasama"),
    f"POST {A}/submit": allow("kerjasama"),
    f"POST {A}/start-review": allow("kerjasama", "tkksd"),
    f"POST {A}/return": allow("kerjasama", "tkksd"),
    f"POST {A}/review": allow("tkksd"),
    f"POST {A}/dprd-approval": allow("pimpinan"),
    f"POST {A}/central-approval": allow("pimpinan"),
    f"POST {A}/sign": allow("pimpinan"),
    f"POST {A}/activate": allow("kerjasama", "service"),
    f"POST {A}/expire": allow("kerjasama", "service"),
    f"POST {A}/terminate": allow("kerjasama", "pimpinan"),
    f"POST {A}/reject": allow("pimpinan"),  # the TKKSD recommends, the head of region decides
    f"POST {A}/cancel": allow("kerjasama"),
    f"POST {A}/acknowledge-parent-change": allow("kerjasama"),
    # A leadership decision, like signing (not the system administrator's).
    f"POST {A}/waive-final-evaluation": allow("pimpinan"),
    f"POST {A}/addenda": allow("kerjasama"),
    f"POST {A}/addenda/<addendum_no>/edit": allow("kerjasama"),
    f"POST {A}/addenda/<addendum_no>/submit": allow("kerjasama"),
    f"POST {A}/addenda/<addendum_no>/review": allow("tkksd"),
    f"POST {A}/addenda/<addendum_no>/dprd-approval": allow("pimpinan"),
    f"POST {A}/addenda/<addendum_no>/central-approval": allow("pimpinan"),
    f"POST {A}/addenda/<addendum_no>/sign": allow("pimpinan"),
    f"POST {A}/addenda/<addendum_no>/withdraw": allow("kerjasama"),
    f"POST {A}/addenda/<addendum_no>/reject": allow("pimpinan"),
    f"POST {A}/activities": allow("kerjasama", "opd", scope="agreement"),
    f"POST {A}/activities/<activity_id>/update": allow("kerjasama", "opd", scope="agreement"),
    f"POST {A}/activities/<activity_id>/remove": allow("kerjasama", "opd", scope="agreement"),
    f"POST {A}/activities/<activity_id>/reports": allow("kerjasama", "opd", scope="agreement"),
    f"POST {A}/documents": allow("kerjasama", "pimpinan"),
    "POST /api/v1/files": allow("kerjasama", "opd", "pimpinan"),
    f"GET {A}/files/<file_id>": allow("admin", "kerjasama", "tkksd", "pimpinan", "opd", "auditor", scope="agreement"),
    **DEADLETTER_API,
    **STREAM_API,
}


def build_policy(container) -> Policy:
    """The policy, resolving an agreement's OPDs from its own stream (lead OPD and activities')."""

    def agreement_opds(path: Mapping[str, str], _query) -> set[str] | None:
        try:
            agreement = container.handlers.get(path["agreement_id"])
        except StreamNotFound:
            return None
        return {agreement.lead_opd} | {a.responsible_opd for a in agreement.activities.values()}

    return Policy(RULES, {"agreement": agreement_opds})
