"""Bearer-token authentication for Flask views (DESIGN.md §4, DOMAIN.md §5).

Verification itself (keys, JWKS, the identity provider's roles, start-up checks) is
``shared.tokens``; this module finds the request's actor. Who may do what is decided by the
service's access policy (``shared.policy``), never here or in a view.
"""
from __future__ import annotations

from flask import current_app, g, request

from shared.config import Settings
from shared.envelope import Actor
from shared.tokens import (ROLES, AuthError, KeySet, TokenVerifier, authentication_problems,  # noqa: F401 (re-exported)
                           development_tokens_allowed, mint_token, secret_problem)


def decode_token(settings: Settings, token: str, verifier: TokenVerifier | None = None) -> Actor:
    """Verify ``token`` (see ``TokenVerifier.decode``); pass the process's verifier to reuse its JWKS cache."""
    return (verifier or TokenVerifier(settings)).decode(token)


def _verifier() -> TokenVerifier:
    verifier = current_app.extensions.get("jalin_tokens")
    if verifier is None:
        verifier = current_app.extensions["jalin_tokens"] = TokenVerifier(current_app.extensions["jalin"].settings)
    return verifier


def current_actor() -> Actor:
    """The authenticated actor of the current request (decoded once, cached on ``g``)."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "missing bearer token")
        g.actor = _verifier().decode(token.strip())
    return g.actor
