"""Fixtures of the offline deployment checks: the files as loaded once per session."""
from __future__ import annotations

import pytest
import yaml

from tests.deploy import checks



@pytest.fixture(scope="session")
def compose_text() -> str:
    return checks.COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def dotenv() -> dict[str, str]:
    return checks.load_dotenv(checks.DOTENV_EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def compose_env(dotenv) -> dict[str, str]:
    """The environment `docker compose up` sees after `cp .env.example .env` and filling the secrets."""
    return {**dotenv, **{name: "0123456789abcdef" for name in checks.REQUIRED_SECRETS}}


@pytest.fixture(scope="session")
def compose_raw(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture
def compose_doc(compose_raw, compose_env) -> dict:
    """The compose document after variable interpolation (a fresh copy per test)."""
    return checks.interpolate(compose_raw, compose_env)


@pytest.fixture(scope="session")
def code_vars() -> tuple[set[str], set[str]]:
    return checks.code_env_vars()


@pytest.fixture(scope="session")
def processes() -> dict[str, list[str]]:
    """The contract list plus whatever deploy/local/stack.py runs (it may grow)."""
    return {**checks.PROCESSES, **checks.stack_processes()}


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Every overlay (and the base) rendered by kustomize, once per session."""
    out = {"base": checks.kustomize_build(checks.K8S / "base")}
    for overlay in checks.OVERLAYS:
        out[overlay] = checks.kustomize_build(checks.K8S / "overlays" / overlay)
    return out
