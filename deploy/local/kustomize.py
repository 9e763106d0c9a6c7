"""The kustomize binary the deployment tests render deploy/k8s/ with: built once from the Go module proxy.

    python deploy/local/kustomize.py          # build if missing, print its path

Like stack.py's fetch step it is idempotent and cached under ``$XDG_CACHE_HOME/jalin`` (default
``~/.cache/jalin``), shared by every clone on the machine: the second call does nothing.
``go install sigs.k8s.io/kustomize/kustomize/v5@<version>`` needs only Go and the module proxy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KUSTOMIZE_VERSION = "v5.8.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jalin"
KUSTOMIZE_BIN = CACHE / f"kustomize-{KUSTOMIZE_VERSION}" / "kustomize"


def ensure_kustomize() -> Path:
    """Return the cached kustomize binary, building it with ``go install`` the first time."""
    if KUSTOMIZE_BIN.exists():
        return KUSTOMIZE_BIN
    go = shutil.which("go")
    if not go:
        raise RuntimeError("'go' is not installed or not on PATH; it is needed to build kustomize "
                           f"{KUSTOMIZE_VERSION} from the Go module proxy")
    print(f"[kustomize] building kustomize {KUSTOMIZE_VERSION} with Go (once)…", file=sys.stderr, flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    gobin = Path(tempfile.mkdtemp(prefix="kustomize-", dir=CACHE))
    env = {**os.environ, "GOBIN": str(gobin), "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    try:
        subprocess.run([go, "install", f"sigs.k8s.io/kustomize/kustomize/v5@{KUSTOMIZE_VERSION}"],
                       check=True, env=env, cwd=tempfile.gettempdir())
        KUSTOMIZE_BIN.parent.mkdir(parents=True, exist_ok=True)
        (gobin / "kustomize").rename(KUSTOMIZE_BIN)  # atomic: a half-built binary is never cached
    finally:
        shutil.rmtree(gobin, ignore_errors=True)
    return KUSTOMIZE_BIN


def build(kustomization_dir: Path | str) -> str:
    """``kustomize build`` of a directory: the rendered multi-document YAML."""
    result = subprocess.run([str(ensure_kustomize()), "build", str(kustomization_dir)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"kustomize build {kustomization_dir} failed:\n{result.stderr}")
    return result.stdout


if __name__ == "__main__":
    print(ensure_kustomize())
