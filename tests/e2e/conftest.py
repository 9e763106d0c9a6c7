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

    def token(self, role, **kw):
        return mint_token(self.settings, role, opd=kw.get("opd") or ("DISKOMINFO" if role == "opd" else None),
                          sub=kw.get("sub"))

    def headers(self, role="kerjasama", **extra):
        return {"Authorization": f"Bearer {self.token(role)}", **extra}

    def set_today(self, iso_date: str | None) -> None:
        """Move every process's clock to ``iso_date`` (None: back to real time)."""
        self.clock_file.write_text(iso_date or "")

    def call(self, method, service, path, role="kerjasama", headers=None, **kw):
        all_headers = self.headers(role) if role else {}
        all_headers.update(headers or {})
        # A new connection per call: a pooled keep-alive connection can be closed by the server
        # (gunicorn keepalive) just as the next request goes out, which is noise, not a finding.
        return requests.request(method, self.urls[service] + path, headers=all_headers, timeout=30, **kw)


def running_stack(api_ports: dict | None = None, label: str = "e"):
    """Start every API and worker under a fresh prefix (optionally on other API ports); yield a ``Stack``."""
    import dataclasses

    module = load_stack()
    profile = module.PROFILES["test"]
    if api_ports:
        profile = dataclasses.replace(profile, api_ports=api_ports)
    require_infrastructure(profile)
    prefix = unique_prefix(label)
    profile.dir.mkdir(parents=True, exist_ok=True)
    clock_file = profile.dir / f"clock-{prefix}.txt"
    clock_file.write_text("")  # empty: real time, until a test moves it
    supervisor = module.Supervisor(profile, prefix=prefix, extra_env={
        "JALIN_WEB_WORKERS": "2", "JALIN_CLOCK": f"file:{clock_file}", "JALIN_SCHEDULER_INTERVAL_SECONDS": "1"})
    supervisor.start()
    try:
        supervisor.wait_ready(90)
        stack = Stack(profile, prefix)
        stack.clock_file = clock_file
        yield stack
    finally:
        supervisor.stop()
        clock_file.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def stack():
    yield from running_stack()
