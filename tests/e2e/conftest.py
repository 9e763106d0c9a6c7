"""e2e fixtures: every API under gunicorn and every worker, as `make run` starts them."""
import pytest

from cli.client import ANONYMOUS, Caller, JalinClient
from shared.config import Settings
from tests.support import load_stack, require_infrastructure, unique_prefix


class Stack:
    """The running system as a client sees it."""

    def __init__(self, profile, prefix):
        self.profile = profile
        self.settings = Settings.from_env({"prefix": prefix})
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in profile.api_ports.items()}
        # A new connection per call: a pooled keep-alive connection can be closed by the server
        # (gunicorn keepalive) just as the next request goes out, which is noise, not a finding.
        self.client = JalinClient(self.urls, self.settings, pooled=False)

    @staticmethod
    def caller(role, **kw) -> Caller:
        return Caller(role, sub=kw.get("sub"), opd=kw.get("opd") or ("DISKOMINFO" if role == "opd" else None))

    def token(self, role, **kw):
        return self.client.token(self.caller(role, **kw))

    def headers(self, role="kerjasama", **extra):
        return {"Authorization": f"Bearer {self.token(role)}", **extra}

    def set_today(self, iso_date: str | None) -> None:
        """Move every process's clock to ``iso_date`` (None: back to real time)."""
        self.clock_file.write_text(iso_date or "")

    def call(self, method, service, path, role="kerjasama", headers=None, **kw):
        """One request exactly as given (no retry, no generated Idempotency-Key): what the server
        answers is what the test sees. ``role=None``: no token unless ``headers`` carry one."""
        return self.client.send(method, service, path, self.caller(role) if role else ANONYMOUS,
                                headers=headers, **kw)


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
