"""The incentive rules are pure: `service/incentives/calc.py` imports nothing but the
standard library's number, date and typing modules (no database, web framework, HTTP
client, clock or file access), checked statically with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

import service.incentives.calc as calc

ALLOWED = {"__future__", "collections.abc", "dataclasses", "datetime", "decimal", "typing", "uuid"}


def imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "__import__",
            "import_module",
            "open",
        ):
            names.add(f"<call {ast.unparse(node.func)}>")
    return names


def test_calc_imports_only_pure_standard_modules():
    found = imports(Path(calc.__file__).read_text(encoding="utf-8"))
    assert found <= ALLOWED, sorted(found - ALLOWED)


def test_the_checker_sees_what_it_must_refuse():
    bad = "import sqlalchemy\nfrom service.db import database\nfrom . import models\nopen('x')\n"
    assert imports(bad) - ALLOWED == {"sqlalchemy", "service.db", ".", "<call open>"}
