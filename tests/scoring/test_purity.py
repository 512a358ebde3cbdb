"""The scoring engine is pure: no engine module in service/scoring imports a web framework,
a database driver, an HTTP client, or any part of the service outside service.scoring.
Checked statically with `ast` over every .py file in the package, so the rule holds even
for imports inside functions or behind `if TYPE_CHECKING`.

The package also holds the scoring service layer (HTTP routes, tables, persistence). Those
modules are listed in IO_MODULES and are the only ones exempt; every other module, present
or future, must be pure, and no pure module may import an exempt one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import service.scoring

PACKAGE = "service.scoring"
PACKAGE_DIR = Path(service.scoring.__file__).parent
FORBIDDEN_TOP_LEVEL = {"sqlalchemy", "fastapi", "starlette", "strawberry", "httpx", "asyncpg", "aiosqlite"}
# The service layer living beside the engine: routes, ORM models, policy storage, API
# schemas, stored scores and input gathering, the score of record and the locks it puts on
# inputs, and the payloads of the events they emit. Exempt from the rule, never imported by it.
IO_MODULES = {
    f"{PACKAGE}.{name}"
    for name in (
        "api",
        "events",
        "freshness",
        "gql",
        "jobs",
        "locks",
        "models",
        "policies",
        "records",
        "schemas",
        "scores",
        "service",
        "stored",
    )
}
# The engine as the brief names it: these must exist and be pure.
ENGINE_MODULES = {
    f"{PACKAGE}.{name}"
    for name in ("engine", "numbers", "okr", "kpi", "evaluation", "composite", "distribution", "policy")
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _resolve_relative(module: str | None, level: int, current: str, is_package: bool) -> str:
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imported_modules(source: str, current: str, is_package: bool = False) -> list[str]:
    """Absolute names of everything a module imports, including dynamic imports through
    importlib.import_module or __import__ with a constant name."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(node.module, node.level, current, is_package) if node.level else node.module or ""
            names.append(base)
            # `from service import db` imports the module service.db
            names.extend(f"{base}.{alias.name}" if base else alias.name for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in {"import_module", "__import__"}:
                names.append(node.args[0].value)
    return names


def violations(names: list[str]) -> list[str]:
    bad = []
    for name in names:
        top = name.split(".")[0]
        if top in FORBIDDEN_TOP_LEVEL:
            bad.append(name)
        elif top == "service" and name != PACKAGE and not name.startswith(PACKAGE + "."):
            # `from service.scoring import x` resolves to service.scoring.x: allowed;
            # anything else under service (service.db, service.models, bare service) is not.
            bad.append(name)
    return bad


SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))
PURE_SOURCES = [p for p in SOURCES if module_name(p) not in IO_MODULES]


def imports_of(path: Path) -> list[str]:
    return imported_modules(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def test_engine_modules_present() -> None:
    assert ENGINE_MODULES <= {module_name(p) for p in PURE_SOURCES}


@pytest.mark.parametrize("path", PURE_SOURCES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_scoring_module_imports_nothing_impure(path: Path) -> None:
    bad = violations(imports_of(path))
    bad += [n for n in imports_of(path) if n in IO_MODULES or n.rsplit(".", 1)[0] in IO_MODULES]
    assert bad == [], f"{path.name} imports {bad}"


def test_engine_import_closure_is_pure() -> None:
    """Everything engine.py reaches, transitively, is a pure module of the package."""
    by_name = {module_name(p): p for p in SOURCES}
    seen: set[str] = set()
    todo = [f"{PACKAGE}.engine"]
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        assert name not in IO_MODULES, f"the engine reaches {name}"
        assert violations(imports_of(by_name[name])) == [], name
        todo.extend(n for n in imports_of(by_name[name]) if n.startswith(PACKAGE + "."))
    assert ENGINE_MODULES - {f"{PACKAGE}.engine"} <= seen


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "from sqlalchemy.orm import Session",
        "import fastapi.responses as r",
        "from starlette.requests import Request",
        "import strawberry",
        "def f():\n    import httpx",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncpg",
        "import aiosqlite",
        "from service.db import database",
        "from service import db",
        "import service",
        "import service.models",
        "from .. import db",
        "from ..models import Score",
        "import importlib\nimportlib.import_module('service.db')",
        "__import__('sqlalchemy')",
    ],
)
def test_checker_catches_impure_imports(source: str) -> None:
    assert violations(imported_modules(source, "service.scoring.kpi")), source


@pytest.mark.parametrize(
    "source",
    [
        "from service.scoring.numbers import D",
        "from service.scoring import okr",
        "from . import numbers",
        "from .numbers import D",
        "import decimal, datetime, uuid, dataclasses",
        "from collections.abc import Sequence",
    ],
)
def test_checker_allows_pure_imports(source: str) -> None:
    assert violations(imported_modules(source, "service.scoring.kpi")) == [], source
