"""e2e fixtures: every API under gunicorn and every worker, as `make run` starts them."""
import pytest
import requests

from shared.auth import mint_token
from shared.config import Settings
from tests.support import load_stack, require_infrastructure, unique_prefix


class Stack:
    """The running system as a client sees it."""

    def __init__(self, profile, prefix):
        self.profile = profile
        self.settings = Settings.from_env({"prefix": prefix})
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in profile.api_ports.items()}
        self.http = requests.Session()

    def token(self, role, **kw):
        return mint_token(self.settings, role, opd=kw.get("opd") or ("DISKOMINFO" if role == "opd" else None),
                          sub=kw.get("sub"))

    def headers(self, role="kerjasama", **extra):
        return {"Authorization": f"Bearer {self.token(role)}", **extra}

    def call(self, method, service, path, role="kerjasama", headers=None, **kw):
        all_headers = self.headers(role) if role else {}
        all_headers.update(headers or {})
        return self.http.request(method, self.urls[service] + path, headers=all_headers, timeout=30, **kw)


@pytest.fixture(scope="session")
def stack():
    module = load_stack()
    profile = module.PROFILES["test"]
    require_infrastructure(profile)
    prefix = unique_prefix("e")
    supervisor = module.Supervisor(profile, prefix=prefix, extra_env={"JALIN_WEB_WORKERS": "2"})
    supervisor.start()
    try:
        supervisor.wait_ready(90)
        yield Stack(profile, prefix)
    finally:
        supervisor.stop()
