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
    "POST /api/v1/agreements": allow("admin", "kerjasama"),
    "GET /api/v1/vocabularies": allow("*"),
    f"GET {A}": allow(*READERS, scope="agreement"),
    f"POST {A}/edit": allow("admin", "kerjasama"),
    f"POST {A}/submit": allow("admin", "kerjasama"),
    f"POST {A}/start-review": allow("admin", "kerjasama", "tkksd"),
    f"POST {A}/return": allow("admin", "kerjasama", "tkksd"),
    f"POST {A}/review": allow("admin", "tkksd"),
    f"POST {A}/dprd-approval": allow("admin", "pimpinan"),
    f"POST {A}/central-approval": allow("admin", "pimpinan"),
    f"POST {A}/sign": allow("admin", "pimpinan"),
    f"POST {A}/activate": allow("admin", "kerjasama", "service"),
    f"POST {A}/expire": allow("admin", "kerjasama", "service"),
    f"POST {A}/terminate": allow("admin", "kerjasama", "pimpinan"),
    f"POST {A}/reject": allow("admin", "pimpinan"),  # the TKKSD recommends, the head of region decides
    f"POST {A}/cancel": allow("admin", "kerjasama"),
    f"POST {A}/acknowledge-parent-change": allow("kerjasama"),
    # A leadership decision, like signing (not the system administrator's).
    f"POST {A}/waive-final-evaluation": allow("pimpinan"),
    f"POST {A}/addenda": allow("admin", "kerjasama"),
    f"POST {A}/addenda/<addendum_no>/edit": allow("admin", "kerjasama"),
    f"POST {A}/addenda/<addendum_no>/submit": allow("admin", "kerjasama"),
    f"POST {A}/addenda/<addendum_no>/review": allow("admin", "tkksd"),
    f"POST {A}/addenda/<addendum_no>/dprd-approval": allow("admin", "pimpinan"),
    f"POST {A}/addenda/<addendum_no>/central-approval": allow("admin", "pimpinan"),
    f"POST {A}/addenda/<addendum_no>/sign": allow("admin", "pimpinan"),
    f"POST {A}/addenda/<addendum_no>/withdraw": allow("admin", "kerjasama"),
    f"POST {A}/addenda/<addendum_no>/reject": allow("admin", "pimpinan"),
    f"POST {A}/activities": allow("admin", "kerjasama", "opd", scope="agreement"),
    f"POST {A}/activities/<activity_id>/update": allow("admin", "kerjasama", "opd", scope="agreement"),
    f"POST {A}/activities/<activity_id>/remove": allow("admin", "kerjasama", "opd", scope="agreement"),
    f"POST {A}/activities/<activity_id>/reports": allow("admin", "kerjasama", "opd", scope="agreement"),
    f"POST {A}/documents": allow("admin", "kerjasama", "pimpinan"),
    "POST /api/v1/files": allow("admin", "kerjasama", "opd", "pimpinan"),
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
