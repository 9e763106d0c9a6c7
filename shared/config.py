"""Configuration read from environment variables (twelve-factor), overridable in code.

Every variable the code reads is declared here, in ``Settings``, so deployment files can be
checked against one list (``ENV_VARS``).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from shared.tokens import DEV_JWT_SECRET, authentication_problems

#: The one environment where the development conveniences are on (dev tokens, the well-known
#: secret, a simulated clock). Any other value — ``production``, ``staging``, ``prod``, a typo —
#: gets every check: a misspelt environment must fail closed, not open.
DEVELOPMENT = "development"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """All settings of a Jalin process. Field ``x`` is read from ``JALIN_X``."""

    env: str = "development"
    prefix: str = "jalin"  # namespaces topics (``<prefix>.partners.events``) and databases
    mongo_uri: str = "mongodb://127.0.0.1:27017/"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_partitions: int = 3
    jwt_secret: str = DEV_JWT_SECRET  # HS256 for local use; production sets jwt_public_key or jwt_jwks
    jwt_public_key: str = ""          # PEM of the identity provider (RS256/ES256)
    jwt_jwks: str = ""                # the identity provider's JWKS: a file path or an https:// URL
    jwt_jwks_ttl_seconds: float = 300.0  # how long a fetched JWKS is trusted (an unknown kid refreshes)
    jwt_role_prefix: str = "jalin-"   # IdP roles named <prefix><role> (realm_access / resource_access)
    jwt_algorithms: str = "HS256"
    jwt_issuer: str = "jalin-local"
    jwt_audience: str = "jalin"
    service_token: str = ""           # bearer token this process uses to call other services
    audit_token: str = ""             # auditor token for `jalin audit` (locally one is minted)
    partners_url: str = "http://127.0.0.1:8001"
    agreements_url: str = "http://127.0.0.1:8002"
    evaluation_url: str = "http://127.0.0.1:8003"
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 20_971_520
    upload_ttl_hours: float = 24.0    # an evidence upload no report cites is deleted after this
    max_pending_uploads: int = 50     # evidence uploads one user may hold that no report cites yet
    log_level: str = "INFO"
    metrics_port: int = 0             # workers expose /metrics here when > 0
    metrics_host: str = "127.0.0.1"   # 0.0.0.0 in containers so Prometheus and probes can reach it
    relay_batch: int = 500
    relay_idle_seconds: float = 0.2
    relay_wake: str = ""              # where APIs wake their relay after a commit (shared.relay.RelayWake)
    consumer_max_attempts: int = 3
    timezone: str = "Asia/Jakarta"    # agreement dates are local dates of the region
    clock: str = "system"             # or "file:<path>" holding an ISO date/time (tests, drills)
    scheduler_interval_seconds: float = 60.0
    rubric_dir: str = ""              # extra evaluation rubric versions (*.json) besides the default
    vocabulary_dir: str = ""          # vocabulary files (urusan, OPDs, ...) replacing the packaged ones by name
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, overrides: Mapping[str, Any] | None = None) -> "Settings":
        """Build settings from ``JALIN_*`` variables, then apply ``overrides`` (by field name)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            raw = os.environ.get("JALIN_" + f.name.upper())
            if raw is not None:
                values[f.name] = type(f.default)(raw) if not isinstance(f.default, str) else raw
        known = {f.name for f in dataclasses.fields(cls)}
        extra = {}
        for key, value in (overrides or {}).items():
            if key in known:
                values[key] = value
            else:
                extra[key] = value
        settings = cls(**values, extra=extra)
        settings.check()
        return settings

    @property
    def development(self) -> bool:
        """True only for ``JALIN_ENV=development`` exactly (see ``DEVELOPMENT``)."""
        return self.env == DEVELOPMENT

    @property
    def algorithms(self) -> list[str]:
        """``JALIN_JWT_ALGORITHMS`` as a list (``"RS256, ES256"`` → ``["RS256", "ES256"]``)."""
        return [a.strip() for a in self.jwt_algorithms.split(",") if a.strip()]

    def check(self) -> None:
        """Refuse, at start-up and naming the problem, settings that would not work or are unsafe.

        Token verification must be usable (every algorithm supported and keyed) everywhere; outside
        development the HMAC secret must be a real one and the clock the system's.
        """
        problems = self.problems()
        if problems:
            raise RuntimeError("refusing to start: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every reason ``check`` refuses these settings (empty = acceptable)."""
        problems = authentication_problems(self)
        if not self.development and self.clock != "system":
            problems.append(f"JALIN_CLOCK must be 'system' when JALIN_ENV={self.env!r} (only 'development' "
                            "may simulate time)")
        return problems

    def topic(self, service: str) -> str:
        """The event topic of a service, e.g. ``jalin.partners.events``."""
        return f"{self.prefix}.{service}.events"

    def database(self, service: str) -> str:
        """The database owned by a service (database per service), e.g. ``jalin_partners``."""
        return f"{self.prefix}_{service}"

    def service_url(self, service: str) -> str:
        return {"partners": self.partners_url, "agreements": self.agreements_url,
                "evaluation": self.evaluation_url}[service]


ENV_VARS = tuple("JALIN_" + f.name.upper() for f in dataclasses.fields(Settings) if f.name != "extra")
