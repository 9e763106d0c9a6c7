"""Who may call which operation of the partners service (see shared/policy.py)."""
from __future__ import annotations

from shared.policy import STREAM_API, Policy, allow

STEWARDS = ("kerjasama",)          # keep the registry (not admin: it runs the system)
STATUS_DECIDERS = ("kerjasama", "pimpinan")

RULES = {
    "POST /api/v1/partners": allow(*STEWARDS),
    # Every role reads a partner; publik gets the public view (no personal data).
    "GET /api/v1/partners/<partner_id>": allow("*"),
    "POST /api/v1/partners/<partner_id>/profile": allow(*STEWARDS),
    "POST /api/v1/partners/<partner_id>/contacts": allow(*STEWARDS),
    "POST /api/v1/partners/<partner_id>/verify": allow(*STATUS_DECIDERS),
    "POST /api/v1/partners/<partner_id>/deactivate": allow(*STATUS_DECIDERS),
    "POST /api/v1/partners/<partner_id>/reactivate": allow(*STATUS_DECIDERS),
    **STREAM_API,
}


def build_policy(container) -> Policy:
    """The partners service's policy (no OPD-scoped operation: partners belong to the region)."""
    return Policy(RULES)
