"""Production authentication: start-up refusals, RS256/ES256 against a PEM or a JWKS, the IdP's roles.

Keys are generated here with ``cryptography``; the JWKS URL is served by a tiny local http.server.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.auth import AuthError, KeySet, TokenVerifier, development_tokens_allowed, mint_token
from shared.config import DEV_JWT_SECRET, Settings

ISSUER = "https://sso.example/realms/jalin"
STRONG = "9f1c2e7a4b8d6f0e3a5c7b9d1f2e4a6c8b0d2f4e6a8c0b2d4f6e8a0c2b4d6f8e"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def pem(private) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def jwk(private, kid: str, alg: str) -> dict:
    family = RSAAlgorithm if alg.startswith("RS") else ECAlgorithm
    data = json.loads(family.to_jwk(private.public_key()))
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


def token(private, alg: str, kid: str | None = None, **claims) -> str:
    now = int(time.time())
    body = {"sub": "u-1", "iss": ISSUER, "aud": "jalin", "iat": now, "exp": now + 300, "role": "kerjasama",
            **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, private, algorithm=alg,
                      headers={"kid": kid} if kid else None)


def idp_settings(**values) -> Settings:
    return Settings.from_env({"env": "production", "jwt_issuer": ISSUER, "jwt_audience": "jalin", **values})


# ---------------------------------------------------------------- start-up refusals

@pytest.mark.parametrize("env", ["production", "staging", "prod", "Production", ""])
@pytest.mark.parametrize("secret, named", [
    (DEV_JWT_SECRET, "development secret"),
    ("CHANGE-ME-generate-with-openssl-rand-hex-32", "placeholder"),
    ("short-but-random-7f3a", "at least 32"),
])
def test_outside_development_a_weak_hmac_secret_refuses_to_start(env, secret, named):
    with pytest.raises(RuntimeError) as refused:
        Settings.from_env({"env": env, "jwt_secret": secret, "jwt_algorithms": "HS256"})
    assert named in str(refused.value) and "JALIN_JWT_SECRET" in str(refused.value)


def test_development_is_the_only_lax_environment():
    assert Settings.from_env({"env": "development"}).jwt_secret == DEV_JWT_SECRET
    Settings.from_env({"env": "production", "jwt_secret": STRONG})  # a real secret is fine
    with pytest.raises(RuntimeError, match="JALIN_CLOCK"):
        Settings.from_env({"env": "staging", "jwt_secret": STRONG, "clock": "file:/tmp/x"})


def test_unusable_or_unknown_algorithm_refuses_to_start(monkeypatch):
    with pytest.raises(RuntimeError, match="XS999 is unknown"):
        Settings.from_env({"jwt_algorithms": "HS256,XS999"})
    # Without `cryptography` PyJWT does not register RS256 (the production overlay's failure).
    import jwt.api_jws as api_jws

    def without_crypto(name):
        if not name.startswith("HS"):
            raise NotImplementedError("Algorithm not supported")
        return api_jws.get_algorithm_by_name(name)

    monkeypatch.setattr(jwt, "get_algorithm_by_name", without_crypto)
    with pytest.raises(RuntimeError, match="RS256 is not usable.*cryptography"):
        idp_settings(jwt_algorithms="RS256", jwt_public_key=pem(rsa_key()))


def test_asymmetric_algorithm_needs_a_matching_key():
    with pytest.raises(RuntimeError, match="neither JALIN_JWT_PUBLIC_KEY nor JALIN_JWT_JWKS"):
        idp_settings(jwt_algorithms="RS256")
    with pytest.raises(RuntimeError, match="not a ES256 public key"):
        idp_settings(jwt_algorithms="ES256", jwt_public_key=pem(rsa_key()))
    with pytest.raises(RuntimeError, match="not a usable JWKS file"):
        idp_settings(jwt_algorithms="RS256", jwt_jwks="/nonexistent/jwks.json")
    with pytest.raises(RuntimeError, match="https"):
        idp_settings(jwt_algorithms="RS256", jwt_jwks="http://sso.example/certs")


def test_the_production_overlay_settings_start(tmp_path):
    """RS256 only: the HMAC secret is unused, so its default does not block start-up; minting is refused."""
    settings = idp_settings(jwt_algorithms="RS256", jwt_public_key=pem(rsa_key()))
    with pytest.raises(ValueError, match="identity provider"):
        mint_token(settings, "service")


# ---------------------------------------------------------------- verification

@pytest.mark.parametrize("alg, make", [("RS256", rsa_key), ("ES256", ec_key)])
def test_tokens_verified_against_a_pem_key(alg, make):
    private = make()
    verifier = TokenVerifier(idp_settings(jwt_algorithms=alg, jwt_public_key=pem(private)))
    actor = verifier.decode(token(private, alg, opd="DINKES", role="opd", name="Siti"))
    assert (actor.sub, actor.role, actor.opd, actor.name) == ("u-1", "opd", "DINKES", "Siti")
    with pytest.raises(AuthError) as refused:
        verifier.decode(token(make(), alg))  # another key
    assert refused.value.status == 401


@pytest.mark.parametrize("alg, make", [("RS256", rsa_key), ("ES256", ec_key)])
def test_tokens_verified_against_a_jwks_file(tmp_path, alg, make):
    old, new = make(), make()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(old, "k1", alg)]}))
    verifier = TokenVerifier(idp_settings(jwt_algorithms=alg, jwt_jwks=str(path)))
    verifier.keys.min_refresh = 0
    assert verifier.decode(token(old, alg, kid="k1")).role == "kerjasama"
    # Rotation: the identity provider publishes k2; an unknown kid refreshes the cache.
    path.write_text(json.dumps({"keys": [jwk(old, "k1", alg), jwk(new, "k2", alg)]}))
    assert verifier.decode(token(new, alg, kid="k2")).sub == "u-1"
    with pytest.raises(AuthError):
        verifier.decode(token(make(), alg, kid="k1"))  # right kid, wrong key
    with pytest.raises(AuthError):
        verifier.decode(token(new, alg, kid="k9"))


class _JWKSHandler(BaseHTTPRequestHandler):
    document: dict = {}
    hits: list = []

    def do_GET(self):  # noqa: N802
        type(self).hits.append(self.path)
        body = json.dumps(type(self).document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server():
    handler = type("Handler", (_JWKSHandler,), {"document": {}, "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/realms/jalin/protocol/openid-connect/certs"
    server.shutdown()
    server.server_close()


def test_tokens_verified_against_a_jwks_url_cached_and_refreshed(jwks_server):
    handler, url = jwks_server
    first, second = rsa_key(), ec_key()
    handler.document = {"keys": [jwk(first, "r1", "RS256")]}
    settings = Settings.from_env({"env": "development", "jwt_algorithms": "RS256,ES256", "jwt_jwks": url,
                                  "jwt_issuer": ISSUER})
    verifier = TokenVerifier(settings)
    verifier.keys.min_refresh = 0
    for _ in range(3):
        assert verifier.decode(token(first, "RS256", kid="r1")).sub == "u-1"
    assert len(handler.hits) == 1  # cached
    handler.document = {"keys": [jwk(first, "r1", "RS256"), jwk(second, "e1", "ES256")]}
    assert verifier.decode(token(second, "ES256", kid="e1")).role == "kerjasama"
    assert len(handler.hits) == 2  # the unknown kid fetched the document again
    verifier.keys.ttl = 0
    verifier.decode(token(first, "RS256", kid="r1"))
    assert len(handler.hits) == 3  # expired: fetched again


@pytest.mark.parametrize("claims, fragment", [
    ({"iss": "https://evil.example/realms/jalin"}, "issuer"),
    ({"aud": "another-app"}, "audience"),
    ({"exp": int(time.time()) - 60}, "expired"),
])
def test_wrong_issuer_audience_or_expiry_is_refused(claims, fragment):
    private = rsa_key()
    verifier = TokenVerifier(idp_settings(jwt_algorithms="RS256", jwt_public_key=pem(private)))
    with pytest.raises(AuthError) as refused:
        verifier.decode(token(private, "RS256", **claims))
    assert refused.value.status == 401 and fragment in refused.value.detail.lower()


def test_an_algorithm_not_configured_is_refused_even_with_the_right_key():
    private = rsa_key()
    verifier = TokenVerifier(idp_settings(jwt_algorithms="RS256", jwt_public_key=pem(private)))
    hs = jwt.encode({"sub": "x", "role": "admin", "iss": ISSUER, "aud": "jalin", "exp": int(time.time()) + 60},
                    STRONG, algorithm="HS256")
    with pytest.raises(AuthError, match="not accepted"):
        verifier.decode(hs)


def test_keycloak_roles_map_to_one_jalin_role():
    private = rsa_key()
    verifier = TokenVerifier(idp_settings(jwt_algorithms="RS256", jwt_public_key=pem(private)))
    realm = token(private, "RS256", role=None, realm_access={"roles": ["offline_access", "jalin-opd"]},
                  opd="DINKES", preferred_username="siti", email="siti@jambi.go.id")
    actor = verifier.decode(realm)
    assert (actor.role, actor.opd, actor.name) == ("opd", "DINKES", "siti")
    client = token(private, "RS256", role=None, resource_access={"jalin": {"roles": ["jalin-auditor"]}},
                   email="bpk@example.go.id")
    assert verifier.decode(client).role == "auditor" and verifier.decode(client).name == "bpk@example.go.id"
    for roles in ([], ["jalin-opd", "jalin-admin"], ["jalin-root"]):
        with pytest.raises(AuthError) as refused:
            verifier.decode(token(private, "RS256", role=None, realm_access={"roles": roles}))
        assert refused.value.status == 403


def test_dev_tokens_only_in_development_with_the_development_secret():
    assert development_tokens_allowed(Settings.from_env({"env": "development"}))
    assert not development_tokens_allowed(Settings.from_env({"env": "development", "jwt_secret": STRONG}))
    for env in ("production", "staging", "Development"):
        assert not development_tokens_allowed(Settings.from_env({"env": env, "jwt_secret": STRONG}))


@pytest.mark.parametrize("values", [{"env": "staging", "jwt_secret": STRONG},
                                    {"env": "development", "jwt_secret": STRONG}])
def test_the_dev_token_route_is_404_unless_development_with_the_dev_secret(values):
    from flask import Flask

    from services.evaluation.dashboard import dashboard_blueprint
    from shared.http import ServiceExtension
    from shared.metrics import Metrics

    app = Flask("t")
    app.extensions["jalin"] = ServiceExtension("evaluation", Settings.from_env(values), Metrics())
    app.register_blueprint(dashboard_blueprint())
    client = app.test_client()
    assert client.get("/dashboard/dev-token").status_code == 404
    assert client.get("/dashboard/dev-token?role=admin").status_code == 404
    dev = Flask("d")
    dev.extensions["jalin"] = ServiceExtension("evaluation", Settings.from_env({"env": "development"}), Metrics())
    dev.register_blueprint(dashboard_blueprint())
    assert dev.test_client().get("/dashboard/dev-token?role=admin").status_code == 200


def test_cached_keys_keep_working_while_the_identity_provider_is_unreachable(tmp_path):
    private = rsa_key()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(private, "k1", "RS256")]}))
    verifier = TokenVerifier(idp_settings(jwt_algorithms="RS256", jwt_jwks=str(path)))
    assert verifier.decode(token(private, "RS256", kid="k1")).sub == "u-1"
    path.unlink()  # the provider is gone; the cache has expired
    verifier.keys.ttl = verifier.keys.min_refresh = 0
    assert verifier.decode(token(private, "RS256", kid="k1")).sub == "u-1"
    never = TokenVerifier(idp_settings(jwt_algorithms="RS256", jwt_public_key=pem(private)))
    never.keys = KeySet(str(path))  # no keys were ever fetched: refused, not accepted
    with pytest.raises(AuthError) as refused:
        never.decode(token(private, "RS256", kid="k1"))
    assert refused.value.status == 401
