"""Browser-test fixtures: the whole stack (as tests/e2e does, on other API ports so both suites can
run in one pytest session), a small dataset seeded through the public APIs, and Debian's Chromium
driven by Playwright (``executable_path=/usr/bin/chromium``; Playwright's own browsers are never
downloaded).

Needs: the ``test`` profile's Kafka and FerretDB running (``make test`` starts them), the apt
package ``chromium`` and the ``playwright`` Python package (``.[test]`` extra).
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import Stack
from tests.support import ROOT, load_stack, require_infrastructure, unique_prefix

CHROMIUM = os.environ.get("JALIN_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
API_PORTS = {"partners": int(os.environ.get("JALIN_TEST_BROWSER_PARTNERS_PORT", 18101)),
             "agreements": int(os.environ.get("JALIN_TEST_BROWSER_AGREEMENTS_PORT", 18102)),
             "evaluation": int(os.environ.get("JALIN_TEST_BROWSER_EVALUATION_PORT", 18103))}
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


class BrowserStack(Stack):
    """The running system, plus the dashboard's URL."""

    def dashboard_url(self, role="kerjasama", route="", **query) -> str:
        params = {"token": self.token(role, opd=query.pop("opd", None)), **query} if role else query
        return f"{self.urls['evaluation']}/dashboard/" + (f"?{urlencode(params)}" if params else "") + \
            (f"#{route}" if route else "")

    def get(self, path, role="kerjasama", **params):
        r = self.call("GET", "evaluation", path, role=role, params=params)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
        return r.json()


def _listening_possible(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def api_ports() -> dict:
    """18101–18103, or free ports when another run holds them (a second stack must never answer
    for ours: its processes would fail to bind while the readiness check reached the other one)."""
    if all(_listening_possible(port) for port in API_PORTS.values()):
        return dict(API_PORTS)
    ports = {}
    for name in API_PORTS:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports[name] = s.getsockname()[1]
    return ports


@pytest.fixture(scope="session")
def browser_stack():
    module = load_stack()
    base = module.PROFILES["test"]
    require_infrastructure(base)
    # Same Kafka and DB as the test profile, own API ports and own log folder (.local/test-browser).
    profile = dataclasses.replace(base, name="test-browser", api_ports=api_ports())
    prefix = unique_prefix("b")
    supervisor = module.Supervisor(profile, prefix=prefix, extra_env={
        "JALIN_WEB_WORKERS": "2", "JALIN_SCHEDULER_INTERVAL_SECONDS": "0.5"})
    supervisor.start()
    try:
        supervisor.wait_ready(90)
        yield BrowserStack(profile, prefix)
    finally:
        supervisor.stop()
        _drop_databases(base.mongo_uri, prefix)


def _drop_databases(mongo_uri: str, prefix: str) -> None:
    """Drop the run's databases by name (listing databases is slow on FerretDB/SQLite)."""
    from pymongo import MongoClient

    client = MongoClient(mongo_uri, serverSelectionTimeoutMS=3000)
    try:
        for name in ("partners", "agreements", "evaluation", "evaluation_read"):
            client.drop_database(f"{prefix}_{name}")
    except Exception:  # best effort: the next run uses a new prefix anyway
        pass
    finally:
        client.close()


@pytest.fixture(scope="session")
def seeded(browser_stack):
    from tests.browser.seed import seed

    return seed(browser_stack)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh, temporary user-data-dir (removed on close).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium, request):
    """``new_page(viewport=..., locale=...)``: a page in a fresh context (own localStorage).

    Console errors and page errors are collected on ``page.problems`` and every requested URL on
    ``page.requests``; when the test fails, a screenshot of each of its pages is saved.
    """
    contexts = []

    def make(viewport=LAPTOP, **options):
        context = chromium.new_context(viewport=viewport, locale="en-US", timezone_id="Europe/London",
                                       service_workers="block", **options)
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.problems = []
        page.requests = []
        page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
        page.on("request", lambda r: page.requests.append(r.url))
        contexts.append((context, page))
        return page

    yield make
    report = getattr(request.node, "rep_call", None)
    failed = report is None or report.failed
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for n, (context, page) in enumerate(contexts):
        if failed:
            try:
                page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}{'' if n == 0 else f'-{n}'}.png"), full_page=True)
            except Exception:  # a crashed page: nothing to keep
                pass
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (the page fixture screenshots failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def shot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot (by default of the whole page) as a test artefact."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
