"""The committed OpenAPI document as TypeScript integrators and API linters read it (the
tools are the locked npm project of tests/node, installed by tests/node_tools.py):

- Redocly CLI's `lint` with the recommended rules (redocly.yaml) finds no error and no
  warning; the two accepted findings are listed, with their reason, in
  .redocly.lint-ignore.yaml;
- openapi-typescript generates the types of every path and webhook, and `tsc --strict` compiles a
  small client written with openapi-fetch against them; the same client with a value
  outside an enum, or a misspelt field, does not compile.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.node_tools import node_tools, run

__all__ = ["node_tools"]  # the fixture

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"

USAGE = """
import createClient from "openapi-fetch";
import type { paths, components } from "./schema";

type Employee = components["schemas"]["EmployeeRead"];
type Status = components["schemas"]["EmployeeStatus"];

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000", headers: { Authorization: "Bearer t" } });

export async function activeNames(): Promise<string[]> {
  const status: Status = STATUS;
  const { data, error, response } = await client.GET("/api/v1/employees", {
    params: { query: { status, limit: 100, sort: "family_name" } },
  });
  if (error) throw new Error(`${error.status} ${error.title}`);
  if (typeof data === "string") throw new Error("asked for JSON, got CSV");
  const next: string | null = response.headers.get("Link");
  return data.items.map((e: Employee) => `${e.given_name} ${e.FAMILY} ${next}`);
}

export async function approve(id: string, etag: string): Promise<string> {
  const { data, error, response } = await client.POST("/api/v1/objectives/{objective_id}/{action}", {
    params: { path: { objective_id: id, action: "approve" }, header: { "If-Match": etag, "Idempotency-Key": "k1" } },
    body: {},
  });
  if (error) throw new Error(`${error.status} ${error.detail ?? ""}`);
  return `${data.status} ${response.headers.get("ETag")}`;
}

export async function createBonusPlan(cycleId: string): Promise<string> {
  const { data, error } = await client.POST("/api/v1/incentive-plans", {
    body: { name: "Q4 bonus", kind: "short_term_bonus", cycle_id: cycleId, params: PARAMS },
  });
  if (error) throw new Error(`${error.status} ${error.detail ?? ""}`);
  if (data.kind === "short_term_bonus" && data.params) return `${data.params.basis} ${data.params.pool_minor}`;
  return data.kind;
}

type Published = components["schemas"]["ObjectivePublishedEvent"];

export function onPublished(body: Published): string {
  const kind: "objective.published" = body.type;
  return `${kind} ${body.timestamp} ${body.data.title} ${body.data.level}`;
}
"""
# openapi-typescript types a property with a default as present (its `defaultNonNullable`),
# so a body built in TypeScript names those: docs/clients.md.
BONUS_PARAMS = '{ basis: "score", multiplier_cap: "1.5", min_score: 0, earning_code: "BONUS", pool_minor: 500000 }'
TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "lib": ["ES2022", "DOM"],
        "types": [],
    },
    "files": ["usage.ts"],
}


def test_redocly_recommended_rules_find_nothing(node_tools: Path):
    done = subprocess.run(
        [str(node_tools / "node_modules/.bin/redocly"), "lint", "--config", str(ROOT / "redocly.yaml")]
        + [str(DOCUMENT), "--format=json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    report = json.loads(done.stdout)
    problems = [(p["ruleId"], p["severity"], p["message"]) for p in report["problems"]]
    assert problems == [] and report["totals"]["errors"] == report["totals"]["warnings"] == 0, problems
    assert report["totals"]["ignored"] == 2  # the probes, .redocly.lint-ignore.yaml
    assert done.returncode == 0


@pytest.fixture(scope="module")
def typed(node_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the generated types (schema.d.ts) and the tools' node_modules."""
    where = tmp_path_factory.mktemp("ts")
    (where / "node_modules").symlink_to(node_tools / "node_modules")
    run(
        node_tools,
        str(node_tools / "node_modules/.bin/openapi-typescript"),
        str(DOCUMENT),
        "-o",
        "schema.d.ts",
        cwd=where,
    )
    (where / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    return where


def compile_usage(
    node_tools: Path, where: Path, status: str, family: str, params: str = BONUS_PARAMS
) -> subprocess.CompletedProcess[str]:
    (where / "usage.ts").write_text(USAGE.replace("STATUS", status).replace("FAMILY", family).replace("PARAMS", params))
    return subprocess.run(
        [str(node_tools / "node_modules/.bin/tsc"), "-p", "tsconfig.json"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_openapi_typescript_types_every_path(typed: Path):
    text = (typed / "schema.d.ts").read_text()
    document = json.loads(DOCUMENT.read_text())
    missing = [path for path in document["paths"] if f'"{path}": {{' not in text]
    assert missing == []
    assert 'EmployeeStatus: "active" | "on_leave" | "terminated";' in text
    missing_hooks = [event for event in document["webhooks"] if f'"{event}": {{' not in text]
    assert missing_hooks == [] and "export interface webhooks" in text


def test_a_strict_typescript_client_compiles_and_catches_mistakes(node_tools: Path, typed: Path):
    ok = compile_usage(node_tools, typed, '"on_leave"', "family_name")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong_enum = compile_usage(node_tools, typed, '"retired"', "family_name")
    assert wrong_enum.returncode != 0 and "retired" in wrong_enum.stdout, wrong_enum.stdout
    wrong_field = compile_usage(node_tools, typed, '"active"', "surname")
    assert wrong_field.returncode != 0 and "surname" in wrong_field.stdout, wrong_field.stdout


def test_plan_params_are_typed_by_the_plans_kind(node_tools: Path, typed: Path):
    """`params` of a plan to create is the model of its `kind`: another kind's parameter,
    or a value outside an enum, does not compile."""
    text = (typed / "schema.d.ts").read_text()
    assert 'IncentivePlanCreate: components["schemas"]["ShortTermBonusPlanCreate"] |' in text
    other_kind = compile_usage(node_tools, typed, '"active"', "family_name", "{ amount_per_point_minor: 5 }")
    assert other_kind.returncode != 0 and "amount_per_point_minor" in other_kind.stdout, other_kind.stdout
    bad_basis = compile_usage(node_tools, typed, '"active"', "family_name", '{ basis: "luck" }')
    assert bad_basis.returncode != 0 and "luck" in bad_basis.stdout, bad_basis.stdout


def test_the_tools_are_the_locked_ones(node_tools: Path):
    lock = json.loads((ROOT / "tests" / "node" / "package-lock.json").read_text())
    for name in ("@redocly/cli", "openapi-typescript", "openapi-fetch", "typescript"):
        installed = json.loads((node_tools / "node_modules" / name / "package.json").read_text())["version"]
        assert installed == lock["packages"][f"node_modules/{name}"]["version"], name
    assert shutil.which("node") is not None
