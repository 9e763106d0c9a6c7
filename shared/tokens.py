"""Bearer tokens without Flask: verifying them (HS256 secret, PEM key or the identity provider's
JWKS), minting local ones, and checking at start-up that the configuration can work.

Locally, tokens are HS256 JWTs signed with ``JALIN_JWT_SECRET`` and minted by ``jalin token``.
In production the government identity provider (e.g. Keycloak) signs them (RS256/ES256) and Jalin
only verifies: against its PEM public key (``JALIN_JWT_PUBLIC_KEY``) or its JWKS document
(``JALIN_JWT_JWKS``, a file or an https URL, cached for ``JALIN_JWT_JWKS_TTL_SECONDS`` and fetched
again when a token names a key id it does not know, i.e. after a key rotation).

Claims read: ``sub``; ``role`` (a Jalin role) or else the identity provider's roles
``realm_access.roles`` / ``resource_access.<audience>.roles`` named ``<JALIN_JWT_ROLE_PREFIX><role>``
(exactly one must match); ``opd``; ``name`` (else ``preferred_username``, else ``email``).

Everything that can be wrong with this configuration is found at start-up by
``authentication_problems`` (called from ``Settings.check``), so a service never starts in a state
where it cannot authenticate anybody, or where it accepts tokens anybody can mint. The Flask side
(the request's actor, role checks) is ``shared.auth``.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any, Protocol

import jwt
import jwt.algorithms

from shared.envelope import Actor



class Settings(Protocol):
    """What token handling reads of ``shared.config.Settings`` (which builds on this module: its
    default secret, its start-up check), as a protocol so the two do not import each other."""

    env: str
    jwt_secret: str
    jwt_algorithms: str
    jwt_public_key: str
    jwt_jwks: str
    jwt_jwks_ttl_seconds: float
    jwt_issuer: str
    jwt_audience: str
    jwt_role_prefix: str

    @property
    def development(self) -> bool: ...

    @property
    def algorithms(self) -> list[str]: ...

#: The well-known local secret: in the repository, so worthless anywhere but development.
DEV_JWT_SECRET = "jalin-local-development-secret-change-me"
#: HMAC keys shorter than this are refused outside development (RFC 7518 §3.2: at least the hash size).
MIN_HMAC_SECRET_BYTES = 32
#: Markers of a value copied from the repository's examples instead of generated.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder")
ROLES = ("admin", "kerjasama", "tkksd", "pimpinan", "opd", "auditor", "publik", "service")
# Key families of the asymmetric algorithms PyJWT knows (the PEM key must be of the right kind).
_KEY_FAMILY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class AuthError(Exception):
    """Authentication failed (HTTP 401) or the role is not allowed (HTTP 403)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _is_hmac(algorithm: str) -> bool:
    return algorithm.startswith("HS")


# ---------------------------------------------------------------- start-up checks

def secret_problem(secret: str) -> str | None:
    """Why ``secret`` must not sign tokens outside development, or None when it may."""
    if secret == DEV_JWT_SECRET:
        return "JALIN_JWT_SECRET is the development secret (it is public, in the repository)"
    if any(marker in secret.lower() for marker in PLACEHOLDER_MARKERS):
        return "JALIN_JWT_SECRET is a placeholder from the repository's examples; generate one (openssl rand -hex 32)"
    if len(secret.encode()) < MIN_HMAC_SECRET_BYTES:
        return (f"JALIN_JWT_SECRET is {len(secret.encode())} bytes; an HMAC secret needs at least "
                f"{MIN_HMAC_SECRET_BYTES} (openssl rand -hex 32)")
    return None


def authentication_problems(settings: Settings) -> list[str]:
    """Every reason token verification with ``settings`` would not work or would not be safe.

    Checked: each algorithm is known and usable by the installed PyJWT (RS256/ES256 need
    ``cryptography``); HMAC algorithms have a secret, and outside development a real one;
    asymmetric algorithms have a key source, a PEM key parses and is of the algorithms' kind, a
    JWKS file parses; outside development a JWKS URL is https.
    """
    problems: list[str] = []
    algorithms = settings.algorithms
    if not algorithms:
        return ["JALIN_JWT_ALGORITHMS is empty"]
    for algorithm in algorithms:
        try:
            jwt.get_algorithm_by_name(algorithm)
        except (NotImplementedError, KeyError, ValueError):
            if algorithm in jwt.algorithms.requires_cryptography:
                problems.append(f"JWT algorithm {algorithm} is not usable: PyJWT lacks 'cryptography' "
                                "(install pyjwt[crypto])")
            else:
                problems.append(f"JWT algorithm {algorithm} is unknown")
    if problems:
        return problems
    hmac = [a for a in algorithms if _is_hmac(a)]
    asymmetric = [a for a in algorithms if not _is_hmac(a)]
    if hmac:
        if not settings.jwt_secret:
            problems.append(f"{', '.join(hmac)} configured but JALIN_JWT_SECRET is empty")
        elif not settings.development and (reason := secret_problem(settings.jwt_secret)):
            problems.append(f"{reason} (JALIN_ENV={settings.env!r}; only 'development' accepts it)")
    if asymmetric:
        if not settings.jwt_public_key and not settings.jwt_jwks:
            problems.append(f"{', '.join(asymmetric)} configured but neither JALIN_JWT_PUBLIC_KEY nor "
                            "JALIN_JWT_JWKS is set")
        if settings.jwt_public_key:
            for algorithm in asymmetric:
                try:
                    jwt.get_algorithm_by_name(algorithm).prepare_key(settings.jwt_public_key)
                except (jwt.InvalidKeyError, ValueError, TypeError) as exc:
                    problems.append(f"JALIN_JWT_PUBLIC_KEY is not a {algorithm} public key: {exc}")
        if settings.jwt_jwks:
            if _is_url(settings.jwt_jwks):
                if not settings.development and not settings.jwt_jwks.startswith("https://"):
                    problems.append("JALIN_JWT_JWKS must be an https:// URL outside development")
            else:
                try:
                    KeySet(settings.jwt_jwks).refresh()
                except (OSError, ValueError, jwt.PyJWKSetError) as exc:
                    problems.append(f"JALIN_JWT_JWKS {settings.jwt_jwks!r} is not a usable JWKS file: {exc}")
    return problems


def development_tokens_allowed(settings: Settings) -> bool:
    """Whether this process may mint demo tokens for anyone (``/dashboard/dev-token``).

    Only in development AND with the well-known development secret: tokens minted there are
    worthless anywhere else, so handing them out gives nothing away.
    """
    return settings.development and settings.jwt_secret == DEV_JWT_SECRET and "HS256" in settings.algorithms


# ---------------------------------------------------------------- keys

def _is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


class KeySet:
    """The identity provider's JWKS from a file or URL, cached for ``ttl`` seconds.

    A token naming an unknown ``kid`` makes one refresh (at most every ``min_refresh`` seconds,
    so garbage tokens cannot make Jalin hammer the identity provider); key rotation thus needs
    no restart.
    """

    def __init__(self, source: str, ttl: float = 300.0, min_refresh: float = 10.0, timeout: float = 5.0):
        self.source, self.ttl, self.min_refresh, self.timeout = source, ttl, min_refresh, timeout
        self._keys: dict[str | None, list[tuple[dict, jwt.PyJWK]]] = {}
        self._fetched = float("-inf")
        self._attempted = float("-inf")  # a failing identity provider is asked at most every min_refresh
        self._lock = threading.Lock()

    def _read(self) -> dict:
        if _is_url(self.source):
            with urllib.request.urlopen(self.source, timeout=self.timeout) as response:  # noqa: S310 (http(s) only)
                return json.loads(response.read())
        with open(self.source, encoding="utf-8") as fh:
            return json.load(fh)

    def refresh(self) -> None:
        """Fetch the document now (raises when it cannot be read or holds no usable key)."""
        document = self._read()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWKS document (no 'keys' list)")
        keys: dict[str | None, list[tuple[dict, jwt.PyJWK]]] = {}
        for data in document["keys"]:
            if not isinstance(data, dict) or data.get("use", "sig") != "sig":
                continue  # encryption keys are no business of a verifier
            try:
                key = jwt.PyJWK(data)
            except jwt.PyJWTError:
                continue  # a key type this PyJWT cannot use; the others still count
            keys.setdefault(key.key_id, []).append((data, key))
        if not keys:
            raise ValueError("the JWKS holds no signing key")
        self._keys, self._fetched = keys, time.monotonic()

    def key(self, kid: str | None, algorithm: str) -> Any:
        """The verification key for a token's ``kid`` and ``alg``; raise ``AuthError`` 401 if none."""
        with self._lock:
            now = time.monotonic()
            expired = now - self._fetched > self.ttl
            unknown = kid not in self._keys and now - self._fetched > self.min_refresh
            if (expired or unknown) and now - self._attempted > self.min_refresh:
                self._attempted = now
                try:
                    self.refresh()
                except Exception as exc:  # keep serving the cached keys while the IdP is unreachable
                    if not self._keys:
                        raise AuthError(401, f"the identity provider's keys are unavailable: {exc}") from exc
            candidates = self._keys.get(kid, []) if kid is not None else [k for ks in self._keys.values() for k in ks]
        # A key fits the token's algorithm by its type (kty), and by its "alg" when the JWK names one.
        family = _KEY_FAMILY.get(algorithm[:2])
        usable = [key for data, key in candidates
                  if data.get("kty") == family and data.get("alg", algorithm) == algorithm]
        if kid is None and len(usable) != 1:
            raise AuthError(401, "invalid token: no 'kid' header and the JWKS does not hold exactly one key for it")
        if not usable:
            raise AuthError(401, f"invalid token: no key {kid!r} for {algorithm} in the identity provider's JWKS")
        return usable[0].key


class TokenVerifier:
    """Verifies bearer tokens as configured by ``settings`` (one per process; keeps the JWKS cache)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.algorithms = settings.algorithms
        self.keys = KeySet(settings.jwt_jwks, settings.jwt_jwks_ttl_seconds) if settings.jwt_jwks else None

    def _key(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"invalid token: {exc}") from exc
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise AuthError(401, f"invalid token: algorithm {algorithm!r} is not accepted "
                                 f"(accepted: {', '.join(self.algorithms)})")
        if _is_hmac(algorithm):
            return self.settings.jwt_secret, algorithm
        if self.keys is not None and (header.get("kid") is not None or not self.settings.jwt_public_key):
            return self.keys.key(header.get("kid"), algorithm), algorithm
        return self.settings.jwt_public_key, algorithm

    def decode(self, token: str) -> Actor:
        """Verify signature, expiry, issuer and audience; return the actor or raise ``AuthError``."""
        key, algorithm = self._key(token)
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.settings.jwt_audience,
                                issuer=self.settings.jwt_issuer, options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"invalid token: {exc}") from exc
        role = self._role(claims)
        name = claims.get("name") or claims.get("preferred_username") or claims.get("email")
        return Actor(sub=str(claims["sub"]), role=role, name=name, opd=claims.get("opd"))

    def _role(self, claims: dict) -> str:
        """``role``, or the one Jalin role among the identity provider's realm and client roles."""
        if "role" in claims:
            role = claims["role"]
            if role not in ROLES:
                raise AuthError(403, f"unknown role {role!r}")
            return role
        granted: list[str] = list((claims.get("realm_access") or {}).get("roles") or [])
        client = (claims.get("resource_access") or {}).get(self.settings.jwt_audience) or {}
        granted += list(client.get("roles") or [])
        prefix = self.settings.jwt_role_prefix
        roles = sorted({r[len(prefix):] for r in granted if isinstance(r, str) and r.startswith(prefix)} & set(ROLES))
        if len(roles) != 1:
            # One role per person and token: picking one of several would be a guess about authority.
            found = ", ".join(roles) or "none"
            raise AuthError(403, f"the token must carry exactly one Jalin role ({prefix}<role>); found: {found}")
        return roles[0]


def mint_token(settings: Settings, role: str, sub: str | None = None, opd: str | None = None,
               name: str | None = None, ttl_seconds: int = 12 * 3600) -> str:
    """Sign an HS256 token with ``JALIN_JWT_SECRET`` (the local stack, tests, service tokens).

    Refused when the deployment does not accept HS256 tokens: with an identity provider,
    service and audit tokens come from it (``JALIN_SERVICE_TOKEN``, ``JALIN_AUDIT_TOKEN``).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "opd" and not opd:
        raise ValueError("an opd token needs --opd CODE")
    if "HS256" not in settings.algorithms:
        raise ValueError(f"this deployment accepts only {settings.jwt_algorithms} tokens from the identity "
                         "provider; a token minted with JALIN_JWT_SECRET would be refused")
    now = int(time.time())
    claims = {"sub": sub or f"{role}-user", "role": role, "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": now, "exp": now + ttl_seconds}
    if opd:
        claims["opd"] = opd
    if name:
        claims["name"] = name
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
