"""The government dashboard: a static single-page app served by the evaluation service at ``/dashboard/``.

Everything the page needs (HTML, ES modules, CSS, icons) is served from ``static/dashboard/`` by this
blueprint, so the dashboard works on an intranet with no internet access. The page calls the
evaluation service's read APIs (``/api/v1/...``) with the bearer token the user gives it (typed
in, or passed once as ``?token=`` in a link); there is no server-side session.

For local development only, ``GET /dashboard/dev-token?role=<role>[&opd=<code>]`` mints a token
with the development secret, so the page can offer a "Masuk sebagai (demo)" role switcher. It
exists only when ``JALIN_ENV=development`` and the secret is the development one
(``development_tokens_allowed``); everywhere else it answers 404 (tokens come from the government
identity provider there).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, request, send_from_directory

from shared.auth import ROLES, development_tokens_allowed, mint_token
from shared.http import Problem, ext

STATIC = Path(__file__).resolve().parent / "static" / "dashboard"
DEMO_ROLES = tuple(r for r in ROLES if r != "service")
DEV_TOKEN_TTL_SECONDS = 8 * 3600

# Everything is same-origin; no inline script or style, no external resource.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= link must not leak through the Referer header
    "X-Frame-Options": "DENY",
}


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def dashboard_blueprint() -> Blueprint:
    """The ``/dashboard/`` blueprint (plain Flask; not part of the OpenAPI document)."""
    bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

    @bp.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @bp.get("/")
    def index():
        return _no_store(send_from_directory(STATIC, "index.html", mimetype="text/html", max_age=0))

    @bp.get("/assets/<path:filename>")
    def assets(filename: str):
        # No build step, so no fingerprinted names: let browsers revalidate (ETag / Last-Modified).
        mimetype = "text/javascript" if filename.endswith(".js") else None
        response = send_from_directory(STATIC / "assets", filename, mimetype=mimetype, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/dev-token")
    def dev_token():
        """Development only: a token for ``role`` (without ``role``: whether demo sign-in is offered)."""
        settings = ext().settings
        if not development_tokens_allowed(settings):
            abort(404)
        role = request.args.get("role")
        if role is None:
            return _no_store(jsonify({"available": True, "roles": list(DEMO_ROLES)}))
        if role not in DEMO_ROLES:
            raise Problem(422, "Unprocessable Content", f"unknown role {role!r}", rule="validation_failed",
                          errors={"role": [f"one of {', '.join(DEMO_ROLES)}"]})
        opd = (request.args.get("opd") or "").strip().upper() or None
        if role == "opd" and not opd:
            raise Problem(422, "Unprocessable Content", "an opd token needs ?opd=<code>", rule="validation_failed",
                          errors={"opd": ["required for the opd role"]})
        token = mint_token(settings, role, sub=f"demo-{role}", opd=opd if role == "opd" else None,
                           ttl_seconds=DEV_TOKEN_TTL_SECONDS)
        return _no_store(jsonify({"token": token, "role": role, "opd": opd if role == "opd" else None,
                                  "expires_in": DEV_TOKEN_TTL_SECONDS}))

    return bp
