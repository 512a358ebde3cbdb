"""The import layers of service/, checked statically over every module (function-level
imports included, `if TYPE_CHECKING` ones too: a layer that needs another's types for
annotations needs that layer):

    foundation   service.config, .types, .errors, .principal, .db, .observability
    kit          service.kit.*          (written once, used by every module)
    auth         service.auth.*         (tokens, the request context, dependencies)
    authz        service.authz.*        (who may do what, and its enforcement)
    domains      org, cycles, okr, kpi, scoring, evaluations, incentives, development, meetings, webhooks, scim,
                 audit, tasks, privacy, briefs
    web          service.web.*, service.graphql.*, every api.py and gql*.py, the entry points

A layer imports only from the layers below it. Domain service modules (everything in a
domain package but its HTTP and GraphQL adapters) import no web framework: they take
values (an expected version, not a request), so REST and GraphQL share them whole. The
pure scoring engine is checked by tests/scoring/test_purity.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"
FOUNDATION = {"config", "types", "errors", "principal", "db", "observability"}
DOMAINS = {
    "org",
    "cycles",
    "okr",
    "kpi",
    "scoring",
    "evaluations",
    "incentives",
    "development",
    "meetings",
    "webhooks",
    "scim",
    "audit",
    "tasks",
    "privacy",
    "briefs",
}
RANK = {"foundation": 0, "kit": 1, "auth": 2, "authz": 3, "domain": 4, "web": 5}
WEB_FRAMEWORKS = {"fastapi", "starlette", "strawberry"}
# A domain's adapters to the outside: they speak HTTP, GraphQL or SCIM on purpose, and sit
# in the web layer wherever their package is.
ADAPTERS = {"api", "gql", "gql_types"}
# Modules of a domain that speak a protocol of their own on purpose (not HTTP routes).
PROTOCOL_MODULES = {"service.scim.app", "service.scim.auth", "service.scim.entra"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SERVICE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[-1] in ADAPTERS:
        return "web"
    top = parts[1] if len(parts) > 1 else ""
    if top in FOUNDATION or module == "service":
        return "foundation"
    if top in ("kit", "auth", "authz"):
        return top
    if top in DOMAINS:
        return "domain"
    return "web"


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


MODULES = {module_name(p): p for p in sorted(SERVICE.rglob("*.py"))}


def internal(name: str) -> str | None:
    """The service module an imported name belongs to (a module, or a name in one)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_from_the_layers_below(module: str) -> None:
    mine = RANK[layer(module)]
    wrong = set()
    for name in imports(MODULES[module]):
        target = internal(name) if name.startswith("service") else None
        if target is None or target == module:
            continue
        theirs = RANK[layer(target)]
        if theirs > mine:
            wrong.add(f"{target} ({layer(target)})")
    assert not wrong, f"{module} ({layer(module)}) imports from higher layers: {sorted(wrong)}"


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if layer(m) == "domain" and m.rsplit(".", 1)[-1] not in ADAPTERS)
)
def test_domain_services_speak_no_web_framework(module: str) -> None:
    web = sorted(n for n in imports(MODULES[module]) if n.split(".")[0] in WEB_FRAMEWORKS)
    assert not web, f"{module} imports {web}: take plain values instead (an expected version, not a Request)"


def test_the_layers_are_known() -> None:
    assert {layer(m) for m in MODULES} == set(RANK)
    assert all(p.is_dir() for p in (SERVICE / d for d in DOMAINS))
