"""The code's shape, read from the source: no import cycle between the modules of services/, shared/
and cli/, and every ``domain`` package free of I/O libraries (its own imports and whatever importing it
loads: its parent packages' ``__init__`` and everything they import in turn).

Static (``ast``) so that a cycle hidden in a function-level import, which Python only trips over
when that function first runs, is found too; one test also imports every module for real."""
from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("services", "shared", "cli")
IO_LIBRARIES = {"flask", "flask_smorest", "werkzeug", "pymongo", "bson", "gridfs", "kafka", "requests", "gunicorn"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def ancestors(name: str) -> list[str]:
    """``a.b.c`` → ``["a", "a.b"]``: the packages Python initialises before the module."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


MODULES = {module_name(p): p for top in TOPS for p in sorted((ROOT / top).rglob("*.py"))
           if "static" not in p.parts}


def _under_type_checking(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


@cache
def imported_names(module: str) -> frozenset[str]:
    """Every dotted name ``module`` imports anywhere in its body (functions included), as absolute names;
    ``from package import submodule`` names the submodule only (the package's own code is not needed)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and not _under_type_checking(node, parents):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not _under_type_checking(node, parents):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            names.update(submodules)
            if not all(name in MODULES for name in submodules):  # names defined by ``base`` itself
                names.add(base)
    return frozenset(names)


@cache
def dependencies(module: str) -> frozenset[str]:
    """The project modules that importing ``module`` runs: those it names, and the packages above
    them that Python initialises first (not its own packages: they are being imported already)."""
    own = set(ancestors(module))
    deps: set[str] = set()
    for name in imported_names(module):
        if name in MODULES:
            deps.add(name)
        deps.update(p for p in ancestors(name) if p in MODULES and p not in own)
    deps.discard(module)
    return frozenset(deps)


def cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(dependencies(v)):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(MODULES)))
    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    return found


def loaded_by(module: str) -> set[str]:
    """Every project module that importing ``module`` runs, itself and its parent packages included."""
    seen: set[str] = set()
    todo = [*ancestors(module), module]
    while todo:
        current = todo.pop()
        if current in seen or current not in MODULES:
            continue
        seen.add(current)
        todo.extend(dependencies(current))
        todo.extend(ancestors(current))
    return seen


# Every module inside a ``domain`` package (services/<svc>/domain/...).
DOMAIN_MODULES = sorted(m for m, p in MODULES.items() if "domain" in p.relative_to(ROOT).parts[:-1])


def test_the_project_is_found():
    assert {"services.evaluation.query_api", "services.evaluation.queries", "shared.consumer", "cli.main"} <= set(MODULES)
    assert len(DOMAIN_MODULES) >= 10, DOMAIN_MODULES


def test_no_import_cycle_between_modules():
    assert cycles() == []


@pytest.fixture
def fake_tree(tmp_path, monkeypatch):
    """Point the checks at a made-up source tree: ``fake_tree({"services/x/a.py": "import os"})``."""
    def write(files: dict[str, str]) -> None:
        for relative, text in files.items():
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / relative).write_text(text)
        this = sys.modules[__name__]
        monkeypatch.setattr(this, "ROOT", tmp_path)
        monkeypatch.setattr(this, "MODULES", {module_name(p): p for p in sorted(tmp_path.rglob("*.py"))})
        imported_names.cache_clear()
        dependencies.cache_clear()

    yield write
    imported_names.cache_clear()
    dependencies.cache_clear()


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(fake_tree):
    """The check itself can fail: two modules that import each other, one of them lazily."""
    fake_tree({"services/__init__.py": "", "services/zz/__init__.py": "",
               "services/zz/a.py": "from services.zz.b import thing\n",
               "services/zz/b.py": "def thing():\n    from services.zz import a\n    return a\n",
               "services/zz/c.py": "import services.zz.a\n"})  # depends on the cycle, is not in it
    assert cycles() == [["services.zz.a", "services.zz.b"]]


def io_libraries_loaded_by(module: str) -> set[str]:
    return {name.split(".")[0] for m in loaded_by(module) for name in imported_names(m)} & IO_LIBRARIES


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_a_domain_module_loads_no_io_library(module):
    assert not io_libraries_loaded_by(module), f"importing {module} loads {sorted(io_libraries_loaded_by(module))}"


def test_the_domain_check_sees_what_the_service_package_loads(fake_tree):
    """The check itself can fail: a pure domain under a package whose ``__init__`` re-exports the app."""
    fake_tree({"services/__init__.py": "", "services/zz/__init__.py": "from .app import create_app\n",
               "services/zz/app.py": "from flask import Flask\nfrom services.zz.domain import Thing\n",
               "services/zz/domain/__init__.py": "from .thing import Thing\n",
               "services/zz/domain/thing.py": "import uuid\nclass Thing: ...\n"})
    assert io_libraries_loaded_by("services.zz.domain.thing") == {"flask"}


def test_importing_the_domains_loads_no_io_library_for_real():
    domains = sorted(m for m in DOMAIN_MODULES if m.endswith(".domain"))
    script = (f"import sys\nfor m in {domains!r}:\n    __import__(m)\n"
              f"print(sorted({{n.split('.')[0] for n in sys.modules}} & set({sorted(IO_LIBRARIES)!r})))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_module_imports():
    script = f"import importlib\nfor m in {sorted(MODULES)!r}:\n    importlib.import_module(m)\n"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
