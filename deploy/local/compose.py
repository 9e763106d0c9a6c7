"""The Docker Compose CLI the deployment tests check docker-compose.yml with: built once from the Go module proxy.

    python deploy/local/compose.py          # build if missing, print its path

No Docker engine is needed: ``docker-compose config`` only loads, interpolates and validates the
project, exactly as ``docker compose up`` would before starting anything. Idempotent and cached under
``$XDG_CACHE_HOME/jalin`` (default ``~/.cache/jalin``) like stack.py's fetch step.

``go install github.com/docker/compose/v2/cmd@<version>`` is refused by Go (the module's go.mod has
``exclude`` directives), so — as for FerretDB in stack.py — the module is downloaded from the proxy
(checksum-verified) and built in a copy of it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COMPOSE_VERSION = "v2.40.3"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jalin"
COMPOSE_BIN = CACHE / f"docker-compose-{COMPOSE_VERSION}" / "docker-compose"
MODULE = "github.com/docker/compose/v2"


def ensure_compose() -> Path:
    """Return the cached docker-compose binary, building it with Go the first time (~2 min)."""
    if COMPOSE_BIN.exists():
        return COMPOSE_BIN
    go = shutil.which("go")
    if not go:
        raise RuntimeError("'go' is not installed or not on PATH; it is needed to build docker compose "
                           f"{COMPOSE_VERSION} from the Go module proxy")
    print(f"[compose] building docker compose {COMPOSE_VERSION} with Go (once)…", file=sys.stderr, flush=True)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    info = json.loads(subprocess.run([go, "mod", "download", "-json", f"{MODULE}@{COMPOSE_VERSION}"], check=True,
                                     env=env, capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout)
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="compose-src-", dir=CACHE))
    try:
        src = work / "src"
        shutil.copytree(info["Dir"], src)
        for path in [src, *src.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        out = work / "docker-compose"
        subprocess.run([go, "build", "-trimpath", "-ldflags", f"-X {MODULE}/internal.Version={COMPOSE_VERSION}",
                        "-o", str(out), "./cmd"], check=True, env=env, cwd=src)
        COMPOSE_BIN.parent.mkdir(parents=True, exist_ok=True)
        out.rename(COMPOSE_BIN)  # atomic: a half-built binary is never cached
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return COMPOSE_BIN


def config(compose_file: Path | str, env_file: Path | str,
           project_directory: Path | str | None = None) -> subprocess.CompletedProcess:
    """``docker-compose --env-file ENV -f FILE config --quiet``: 0 when the project is valid.
    Only ``env_file`` feeds the interpolation (JALIN_*/COMPOSE_* of the caller's environment are dropped)."""
    project = ["--project-directory", str(project_directory)] if project_directory else []
    return subprocess.run([str(ensure_compose()), *project, "--env-file", str(env_file), "-f", str(compose_file),
                           "config", "--quiet"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("JALIN_", "COMPOSE_"))})


if __name__ == "__main__":
    print(ensure_compose())
