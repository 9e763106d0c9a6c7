"""Bearer-token authentication and role checks (DESIGN.md §4, DOMAIN.md §5).

Locally, tokens are HS256 JWTs signed with ``JALIN_JWT_SECRET`` and minted by
``jalin token``. In production the identity provider's public key (``JALIN_JWT_PUBLIC_KEY``,
with ``JALIN_JWT_ALGORITHMS`` such as ``RS256``), issuer and audience are configured and
Jalin only verifies.
"""
from __future__ import annotations

import functools
import time
from typing import Callable, Iterable

import jwt
from flask import current_app, g, request

from shared.config import Settings
from shared.envelope import Actor

ROLES = ("admin", "kerjasama", "tkksd", "pimpinan", "opd", "auditor", "publik", "service")
# Roles allowed to read the raw event streams (audit and gap filling between services).
STREAM_READERS = ("auditor", "service", "admin")


class AuthError(Exception):
    """Authentication failed (HTTP 401) or the role is not allowed (HTTP 403)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def mint_token(settings: Settings, role: str, sub: str | None = None, opd: str | None = None,
               name: str | None = None, ttl_seconds: int = 12 * 3600) -> str:
    """Sign a token the local stack accepts (requires the shared secret; not for production IdPs)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "opd" and not opd:
        raise ValueError("an opd token needs --opd CODE")
    now = int(time.time())
    claims = {"sub": sub or f"{role}-user", "role": role, "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": now, "exp": now + ttl_seconds}
    if opd:
        claims["opd"] = opd
    if name:
        claims["name"] = name
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def decode_token(settings: Settings, token: str) -> Actor:
    """Verify signature, expiry, issuer and audience; return the actor or raise ``AuthError``."""
    key = settings.jwt_public_key or settings.jwt_secret
    algorithms = [a.strip() for a in settings.jwt_algorithms.split(",") if a.strip()]
    try:
        claims = jwt.decode(token, key, algorithms=algorithms, audience=settings.jwt_audience,
                            issuer=settings.jwt_issuer, options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise AuthError(401, f"invalid token: {exc}") from exc
    role = claims.get("role")
    if role not in ROLES:
        raise AuthError(403, f"unknown role {role!r}")
    return Actor(sub=str(claims["sub"]), role=role, name=claims.get("name"), opd=claims.get("opd"))


def current_actor() -> Actor:
    """The authenticated actor of the current request (decoded once, cached on ``g``)."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "missing bearer token")
        g.actor = decode_token(current_app.extensions["jalin"].settings, token.strip())
    return g.actor


def requires(*roles: str) -> Callable:
    """View decorator: a valid token is required and, if ``roles`` is given, one of them.

    ``admin`` is always allowed.
    """
    allowed = set(roles) | {"admin"}

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if roles and actor.role not in allowed:
                raise AuthError(403, f"role '{actor.role}' may not do this; allowed: {', '.join(sorted(allowed))}")
            return view(*args, **kwargs)
        wrapper._jalin_roles = tuple(sorted(allowed)) if roles else ("any",)
        return wrapper
    return decorate


def role_in(actor: Actor, roles: Iterable[str]) -> bool:
    return actor.role == "admin" or actor.role in set(roles)
