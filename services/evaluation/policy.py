"""Who may call which operation of the evaluation service (see shared/policy.py).

Lists (register, evaluations, exports) are filtered to the officer's OPD by their queries; single
resources are checked here: an agreement's OPDs come from the register (lead OPD and the
activities' OPDs), an evaluation's from the agreement it evaluates, a feed's from its subject.
"""
from __future__ import annotations

from typing import Mapping

from shared.application import StreamNotFound
from shared.policy import DEADLETTER_API, STREAM_API, Policy, allow

from services.evaluation import queries

READERS = ("admin", "kerjasama", "tkksd", "pimpinan", "opd", "auditor", "service")
RESULT_READERS = ("admin", "kerjasama", "pimpinan", "auditor")
E = "/api/v1/evaluations/<evaluation_id>"

RULES = {
    # read models: public ones give publik its whitelisted view
    "GET /api/v1/partners": allow("*"),
    "GET /api/v1/agreements": allow("*"),
    "GET /api/v1/agreements/<agreement_id>": allow("*", scope="agreement"),
    "GET /api/v1/evaluations": allow(*READERS),
    "GET /api/v1/stats/overview": allow("*"),
    "GET /api/v1/portfolios/partners": allow("*"),
    "GET /api/v1/portfolios/partners/<key>": allow("*"),
    "GET /api/v1/portfolios/opds": allow("*"),
    "GET /api/v1/portfolios/opds/<key>": allow("*"),
    "GET /api/v1/feed": allow(*READERS, scope="feed"),
    "GET /api/v1/rubric": allow("*"),
    "GET /api/v1/vocabularies": allow("*"),
    # exports
    "GET /api/v1/exports/agreements.csv": allow(*READERS),
    "GET /api/v1/exports/agreements.xlsx": allow(*READERS),
    "GET /api/v1/exports/evaluations.csv": allow(*RESULT_READERS),
    "GET /api/v1/exports/evaluations.xlsx": allow(*RESULT_READERS),
    "GET /api/v1/exports/open-data.json": allow("*"),
    "GET /api/v1/exports/annual-recap": allow(*RESULT_READERS),
    "GET /api/v1/exports/annual-recap.xlsx": allow(*RESULT_READERS),
    # evaluations (monev)
    "POST /api/v1/evaluations": allow("kerjasama"),
    f"GET {E}": allow(*READERS, scope="evaluation"),
    f"POST {E}/answers": allow("kerjasama", "opd", "tkksd", scope="evaluation"),
    f"POST {E}/submit": allow("kerjasama", "opd", "tkksd", scope="evaluation"),
    f"POST {E}/return": allow("kerjasama"),
    f"POST {E}/finalize": allow("kerjasama"),
    f"POST {E}/cancel": allow("kerjasama"),
    # audit
    "GET /api/v1/audit/streams/<stream_id>": allow("admin", "auditor"),
    "GET /api/v1/audit/streams/<stream_id>/state": allow("admin", "auditor"),
    "GET /api/v1/audit/agreements/<agreement_id>/timeline": allow("admin", "auditor"),
    **DEADLETTER_API,
    **STREAM_API,
}


def build_policy(container) -> Policy:
    """The policy, resolving OPDs from the register and the evaluations' own streams."""

    def opds_of_agreement(agreement_id: str) -> set[str] | None:
        return queries.agreement_opds(container.read_db(), agreement_id)

    def opds_of_evaluation(evaluation_id: str) -> set[str] | None:
        try:
            evaluation = container.handlers.get(evaluation_id)
        except StreamNotFound:
            return None
        return {evaluation.agreement_lead_opd}

    def agreement(path: Mapping[str, str], _query) -> set[str] | None:
        return opds_of_agreement(path["agreement_id"])

    def evaluation(path: Mapping[str, str], _query) -> set[str] | None:
        return opds_of_evaluation(path["evaluation_id"])

    def feed(_path, query: Mapping[str, str]) -> set[str] | None:
        # An officer reads the feed of one of their agreements or evaluations, never the whole feed
        # (it names every agreement of every OPD).
        subject = query.get("subject") or ""
        if subject.startswith("agreement-"):
            return opds_of_agreement(subject) or set()
        if subject.startswith("evaluation-"):
            return opds_of_evaluation(subject) or set()
        return set()

    return Policy(RULES, {"agreement": agreement, "evaluation": evaluation, "feed": feed})
