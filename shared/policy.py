"""The access policy: one place that decides, for every route of a service, who may call it.

Each service declares its rules as data (``services/<svc>/policy.py``): for every operation
(``"METHOD /api/v1/rule"``, the URL rule as Flask knows it) the roles that may call it and, for
OPD officers, which resource must be theirs. ``shared.http`` asks the service's ``Policy`` before
any ``/api/v1`` view runs, so a route never decides alone and a new route without a rule is
refused (fail closed) instead of being open by default.

OPD scoping (DESIGN.md §4): an ``opd`` officer acts only on agreements whose lead OPD or an
activity's responsible OPD is theirs. A rule names the *scope* it needs (``agreement``,
``evaluation``, …); the service supplies one resolver per scope that turns the request's path
and query into the set of OPD codes responsible for the resource (``None``: not found — the view
then answers 404 as it would for anyone). Lists are not resolved here: their queries filter by
``Policy.opd_of(actor)`` (see the read side's scope filters).

Segregation of duties (issue 11): ``admin`` runs the system — configuration, dead letters — and
reads; it never sends a workflow command (review, approval, signing, scheduling, …). That is the
rule here, in one place: a policy whose table gives ``admin`` any non-GET operation that is not a
``system`` rule (built with ``operate``) is refused when it is built, so a new workflow route that
lists ``admin`` stops the service at start-up with the reason, instead of opening a hole.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from shared.envelope import Actor

# A resolver turns (path parameters, query parameters) into the OPD codes responsible for the
# resource the request names, or None when that resource does not exist.
Resolver = Callable[[Mapping[str, str], Mapping[str, str]], "set[str] | None"]

ADMIN = "admin"
EVERYONE = frozenset({ADMIN, "kerjasama", "tkksd", "pimpinan", "opd", "auditor", "publik", "service"})
STAFF = frozenset({"admin", "kerjasama", "tkksd", "pimpinan", "auditor", "service"})


@dataclass(frozen=True)
class Rule:
    """Who may call one operation: ``roles``; for ``opd``, the resource named by ``scope`` must be
    theirs (``scope=None``: the operation is not about one agreement, e.g. a scoped list).
    ``system``: an operation on the system itself (dead letters, configuration), the only kind of
    write ``admin`` may be given."""

    roles: frozenset[str]
    scope: str | None = None
    system: bool = False

    def __post_init__(self):
        unknown = set(self.roles) - EVERYONE
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}")


def allow(*roles: str, scope: str | None = None) -> Rule:
    """A rule allowing ``roles`` (``"*"``: every role), OPD-scoped by ``scope`` when given."""
    return Rule(EVERYONE if roles == ("*",) else frozenset(roles), scope)


def operate(*roles: str) -> Rule:
    """A rule for an operation on the system itself (configuration, dead letters): the writes
    ``admin`` may be allowed (see the module docstring)."""
    return Rule(frozenset(roles), None, system=True)


def is_write(operation: str) -> bool:
    """Whether ``"METHOD /rule"`` changes something (anything but GET/HEAD/OPTIONS)."""
    return operation.split(" ", 1)[0].upper() not in ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Decision:
    """The policy's answer; ``reason`` says why a refusal was made (it goes to the client)."""

    allowed: bool
    reason: str = ""


@dataclass
class Policy:
    """The rules of one service and the resolvers of its scopes."""

    rules: Mapping[str, Rule]
    resolvers: Mapping[str, Resolver] = field(default_factory=dict)

    def __post_init__(self):
        missing = {r.scope for r in self.rules.values() if r.scope} - set(self.resolvers)
        if missing:
            raise ValueError(f"no resolver for scope(s) {sorted(missing)}")
        workflow_admin = sorted(op for op, r in self.rules.items() if is_write(op) and ADMIN in r.roles
                                and not r.system)
        if workflow_admin:
            raise ValueError(f"admin may not send workflow commands (segregation of duties): {workflow_admin}; "
                             "drop 'admin' from these rules, or use operate() for an operation on the system")

    def rule_for(self, method: str, url_rule: str) -> Rule | None:
        return self.rules.get(f"{method.upper()} {url_rule}")

    def decide(self, actor: Actor, method: str, url_rule: str, path: Mapping[str, str] | None = None,
               query: Mapping[str, str] | None = None) -> Decision:
        """May ``actor`` call ``method url_rule`` with these path and query parameters?"""
        rule = self.rule_for(method, url_rule)
        if rule is None:
            return Decision(False, f"no access rule covers {method.upper()} {url_rule}")
        if actor.role == "opd" and not actor.opd:
            return Decision(False, "an opd token must carry the officer's OPD (claim 'opd')")
        if actor.role not in rule.roles:
            return Decision(False, f"role '{actor.role}' may not do this; allowed: {', '.join(sorted(rule.roles))}")
        if actor.role == "opd" and rule.scope:
            opds = self.resolvers[rule.scope](path or {}, query or {})
            if opds is not None and actor.opd not in opds:
                return Decision(False, f"OPD '{actor.opd}' is not responsible for this {rule.scope}")
        return Decision(True)

    @staticmethod
    def opd_of(actor: Actor) -> str | None:
        """The OPD a list must be filtered to for ``actor`` (None: not OPD-scoped)."""
        return actor.opd if actor.role == "opd" else None

    @staticmethod
    def sees_public_view(actor: Actor) -> bool:
        """Whether ``actor`` gets the whitelisted public views (``shared.personal_data``)."""
        return actor.role == "publik"


# Rules of the seedwork's own blueprints, which every service mounts alike.
STREAM_API = {
    "GET /api/v1/streams": allow("admin", "auditor", "service"),
    "GET /api/v1/streams/log": allow("admin", "auditor", "service"),
    "GET /api/v1/streams/<stream_id>/events": allow("admin", "auditor", "service"),
    "GET /api/v1/streams/<stream_id>/state": allow("admin", "auditor", "service"),
}
DEADLETTER_API = {
    "GET /api/v1/deadletters": allow("admin", "auditor"),
    "GET /api/v1/deadletters/<path:letter_id>": allow("admin", "auditor"),
    "POST /api/v1/deadletters/<path:letter_id>/retry": operate("admin"),
    "POST /api/v1/deadletters/<path:letter_id>/discard": operate("admin"),
}
