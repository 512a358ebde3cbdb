"""The GraphQL contract as the tools clients use read it (tests/node_tools.py installs them):

- graphql-schema-linter on the committed SDL (openapi/schema.graphql), with the rules of
  tests/node/package.json, fails on any violation (docs/api.md says why the three
  alphabetical-order rules are off); a broken copy proves the rules are the ones running;
- Apollo Client's InMemoryCache with `relayStylePagination()` pages through
  `employees` with `fetchMore`, pages of 2, against `python -m service serve` (uvicorn on
  a free port over the suite's database, as tests/deploy/test_browser.py runs it), and
  the list it merged is REST's list of the same employees, in order, without duplicates;
- GraphQL Code Generator, with the codegen.yml docs/api.md shows, types an operation
  against the committed SDL, the custom scalars mapped as documented.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Tenant
from tests.deploy.test_server_process import free_port, wait_ready
from tests.node_tools import node_tools, run

__all__ = ["node_tools"]  # the fixture

ROOT = Path(__file__).resolve().parents[1]
SDL = ROOT / "openapi" / "schema.graphql"
CONFIG = ROOT / "tests" / "node"


def lint(where: Path, schema: Path) -> list[dict[str, object]]:
    """graphql-schema-linter's findings on `schema`, with the committed rules."""
    done = subprocess.run(
        [str(where / "node_modules/.bin/graphql-schema-linter"), "--format", "json", "--config-directory", str(CONFIG)]
        + [str(schema)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: violations found
    errors: list[dict[str, object]] = json.loads(done.stdout)["errors"]
    assert (done.returncode == 1) == bool(errors), done.stdout
    return errors


def test_the_committed_schema_passes_the_linter(node_tools: Path):
    assert lint(node_tools, SDL) == []


def test_the_linter_runs_the_committed_rules(node_tools: Path, tmp_path: Path):
    broken = SDL.read_text()
    broken = broken.replace('  """The given (first) name"""\n', "", 1)  # Employee.givenName undescribed
    broken = broken.replace("\n  ON_LEAVE\n", "\n  onLeave\n", 1)
    broken = broken.replace("Paging forward (`first`/`after`)", "paging forward (`first`/`after`)", 1)
    broken = broken.replace("  hasPreviousPage: Boolean!\n", "  hasPreviousPage: Boolean\n", 1)
    copy = tmp_path / "schema.graphql"
    copy.write_text(broken)
    rules = sorted({str(e["rule"]) for e in lint(node_tools, copy)})
    assert rules == [
        "descriptions-are-capitalized",
        "enum-values-all-caps",
        "fields-have-descriptions",
        "relay-page-info-spec",
    ]


@contextlib.contextmanager
def api_server() -> Iterator[str]:
    """`python -m service serve` on a free port over the suite's database; its base URL."""
    port = free_port()
    env = {**os.environ, "WEBHOOK_INPROCESS": "false", "LOG_LEVEL": "WARNING"}  # DATABASE_URL etc. of conftest
    cmd = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_ready(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with api_server() as url:
        yield url


def script(where: Path, name: str) -> Path:
    """A script of tests/node, copied beside the installed node_modules (ES modules resolve
    their imports from where the file is, never from NODE_PATH)."""
    target = where / "scripts" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text((CONFIG / name).read_text())
    return target


async def test_apollo_relay_pagination_merges_the_pages_rest_lists(node_tools: Path, server: str, tenant: Tenant):
    for i in range(7):  # 7 people: three full pages of 2 and a last one of 1
        await tenant.add_employee(f"person{i}")
    rest = (await tenant.client.get("/api/v1/employees?limit=500", headers=tenant.hr)).json()
    assert rest["next_cursor"] is None and len(rest["items"]) == 7
    token = tenant.token(["hr"])
    out = json.loads(
        run(node_tools, "node", str(script(node_tools, "relay_pages.mjs")), f"{server}/graphql", token, "2")
    )

    merged = [n["databaseId"] for n in out["nodes"]]
    assert merged == [e["id"] for e in rest["items"]]  # REST's order, every one
    assert len(set(merged)) == len(merged)  # no duplicate
    assert [(n["givenName"], n["familyName"]) for n in out["nodes"]] == [
        (e["given_name"], e["family_name"]) for e in rest["items"]
    ]
    assert out["pages"] == [2, 2, 2, 1] and out["asked"][0] is None
    assert out["asked"][1:] == [out["cursors"][1], out["cursors"][3], out["cursors"][5]]  # after each endCursor
    # the merged pageInfo: the first page's start, the last page's end
    assert out["pageInfo"] == {
        "__typename": "PageInfo",
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": out["cursors"][0],
        "endCursor": out["cursors"][-1],
    }


CODEGEN_OPERATION = """
query TeamPage($first: Int, $after: String) {
  employees(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id databaseId givenName status hireDate compensation { baseSalaryMinor targetBonusPct } }
  }
  organization { id settings { okrMaxObjectives } }
}
"""


def codegen_config(doc: str) -> str:
    """The codegen.yml of docs/api.md, pointed at the committed SDL and this test's operation."""
    text = (ROOT / "docs" / "api.md").read_text()
    found = re.search(r"```yaml\n(# codegen\.yml.*?)```", text, re.S)
    assert found, "docs/api.md shows a codegen.yml"
    config = found.group(1)
    assert "schema: openapi/schema.graphql" in config and "documents:" in config
    return config.replace("schema: openapi/schema.graphql", f"schema: {SDL}").replace(
        "documents: src/**/*.graphql", f"documents: {doc}"
    )


def test_codegen_types_an_operation_with_the_documented_scalars(node_tools: Path, tmp_path: Path):
    (tmp_path / "team.graphql").write_text(CODEGEN_OPERATION)
    (tmp_path / "codegen.yml").write_text(codegen_config(str(tmp_path / "team.graphql")))
    run(node_tools, str(node_tools / "node_modules/.bin/graphql-codegen"), "--config", "codegen.yml", cwd=tmp_path)
    generated = (tmp_path / "src" / "gql" / "types.ts").read_text()
    for scalar, ts in {
        "UUID": "string",
        "DateTime": "string",
        "Date": "string",
        "DecimalString": "string",
        "MinorUnits": "number",
        "JSON": "unknown",
    }.items():
        assert re.search(rf"{scalar}: {{ input: {ts}; output: {ts}; }}", generated), scalar
    assert "export type TeamPageQuery" in generated
    assert re.search(r"export enum EmployeeStatus \{[^}]*OnLeave = 'ON_LEAVE'", generated, re.S)
