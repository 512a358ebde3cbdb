"""The committed OpenAPI document, as a Python integrator meets it: openapi-python-client
(in the dev lock) generates a client from openapi/openapi.json with no warning and with a
function for every operation, and the generated client works against the app."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.kpi.conftest import make_cycle

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"
PACKAGE = "perf_service_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The generated package's directory and the generator's output. The generator's own
    post-processing runs ruff, found next to the interpreter."""
    out = tmp_path_factory.mktemp("client") / PACKAGE
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    run = subprocess.run(
        [os.path.join(bindir, "openapi-python-client"), "generate", "--path", str(DOCUMENT), "--meta", "none"]
        + ["--output-path", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(out.parent))
    try:
        yield out, run.stdout + run.stderr
    finally:
        sys.path.remove(str(out.parent))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_generator_warns_about_nothing(generated: tuple[Path, str]):
    _, output = generated
    assert "warning" not in output.lower(), output


def test_every_operation_has_a_generated_function(generated: tuple[Path, str]):
    out, _ = generated
    document = json.loads(DOCUMENT.read_text())
    expected = {(op["tags"][0], op["operationId"]) for item in document["paths"].values() for op in item.values()}
    made = {(p.parent.name, p.stem) for p in (out / "api").glob("*/*.py") if p.stem != "__init__"}
    assert made == expected


def test_every_generated_enum_has_its_own_name(generated: tuple[Path, str]):
    """Enums are named components, so each becomes one class of its own name
    (`EmployeeStatus`), nothing like `ListEmployeesStatusType0` (an inline enum named
    after an operation, a parameter and a position in a union)."""
    out, _ = generated
    document = json.loads(DOCUMENT.read_text())
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    enums = [p.stem for p in (out / "models").glob("*.py") if re.search(r"\((Str|Int)Enum\)", p.read_text())]
    assert "employee_status" in enums
    assert [n for n in enums if any(n.startswith(o + "_") for o in operations) or "_type_" in n] == []


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_client_calls_the_app(generated: tuple[Path, str], app: Any, tenant: Tenant):
    client_mod = _module("client")
    token = tenant.token(["hr"])
    client = client_mod.AuthenticatedClient(
        base_url="http://test", token=token, httpx_args={"transport": httpx.ASGITransport(app=app)}
    )
    create_department = _module("api.org.create_department")
    get_department = _module("api.org.get_department")
    list_employees = _module("api.org.list_employees")
    department_create = _module("models.department_create").DepartmentCreate
    problem = _module("models.problem").Problem

    created = await create_department.asyncio(client=client, body=department_create(name="Payroll Ops"))
    assert created.name == "Payroll Ops" and isinstance(created.id, uuid.UUID)
    fetched = await get_department.asyncio(client=client, department_id=created.id)
    assert (fetched.id, fetched.name) == (created.id, "Payroll Ops")

    ann = await tenant.add_employee("ann", department_id=str(created.id))
    await tenant.add_employee("bob")
    page = await list_employees.asyncio(client=client, department_id=created.id)
    assert [str(e.id) for e in page.items] == [ann["id"]]

    missing = await get_department.asyncio_detailed(client=client, department_id=uuid.uuid4())
    assert missing.status_code == 404
    assert isinstance(missing.parsed, problem) and missing.parsed.status == 404


def _model(module: str, name: str) -> Any:
    return getattr(_module(f"models.{module}"), name)


def test_bulk_rows_and_plan_params_are_generated_classes(generated: tuple[Path, str]):
    """The bulk rows and each plan kind's parameters are classes of their own, and the
    request bodies are typed with them (no `dict[str, Any]`)."""
    out, _ = generated
    assert "rows: list[BulkEmployeeRow]" in (out / "models" / "bulk_employee_request.py").read_text()
    assert "rows: list[BulkMeasurementRow]" in (out / "models" / "bulk_measurement_request.py").read_text()
    for kind in ("short_term_bonus", "kpi_excess_reward", "okr_breakthrough"):
        text = (out / "models" / f"{kind}_plan_create.py").read_text()
        params = "".join(w.title() for w in kind.split("_")) + "Params"
        assert f'kind: Literal["{kind}"]' in text and f"params: {params}" in text, text
        assert (out / "models" / f"{kind}_plan_read.py").exists()
        assert (out / "models" / f"{kind}_params_patch.py").exists()
    create = (out / "api" / "incentives" / "create_incentive_plan.py").read_text()
    body = re.search(r"\bbody: ([\w\s|]+),", create)
    assert body is not None
    assert {t.strip() for t in body.group(1).split("|")} == {
        "ShortTermBonusPlanCreate",
        "KpiExcessRewardPlanCreate",
        "OkrBreakthroughPlanCreate",
    }
    row_fields = set(_model("bulk_employee_row", "BulkEmployeeRow").__annotations__)
    assert {"external_id", "email", "manager_external_id", "compensation"} <= row_fields


async def test_a_generated_client_upserts_typed_rows_row_by_row(generated: tuple[Path, str], app: Any, tenant: Tenant):
    """A typed row the service refuses is answered with its own errors; the others are applied."""
    client = _module("client").AuthenticatedClient(
        base_url="http://test", token=tenant.token(["hr"]), httpx_args={"transport": httpx.ASGITransport(app=app)}
    )
    row = _model("bulk_employee_row", "BulkEmployeeRow")
    request = _model("bulk_employee_request", "BulkEmployeeRequest")
    rows = [
        row(external_id="gen-1", email="gen1@example.com", given_name="Gen", family_name="One"),
        row(external_id="gen-2", email="not an address", given_name="Gen", family_name="Two"),
    ]
    answer = await _module("api.org.bulk_upsert_employees").asyncio(client=client, body=request(rows=rows))
    assert [(r.external_id, r.outcome) for r in answer.results] == [("gen-1", "created"), ("gen-2", "error")]
    assert answer.results[1].errors[0].to_dict()["loc"] == ["body", "rows", 1, "email"]


async def test_a_generated_client_creates_and_patches_a_plan_of_a_kind(
    generated: tuple[Path, str], app: Any, tenant: Tenant
):
    transport = httpx.ASGITransport(app=app)
    client_mod = _module("client")
    hr = client_mod.AuthenticatedClient(
        base_url="http://test", token=tenant.token(["hr"]), httpx_args={"transport": transport}
    )
    cycle = await make_cycle(tenant)
    create = _module("api.incentives.create_incentive_plan")
    params = _model("kpi_excess_reward_params", "KpiExcessRewardParams")(amount_per_point_minor=1500)
    body = _model("kpi_excess_reward_plan_create", "KpiExcessRewardPlanCreate")(
        name="KPI reward", kind="kpi_excess_reward", cycle_id=uuid.UUID(cycle["id"]), params=params
    )
    created = await create.asyncio_detailed(client=hr, body=body)
    assert created.status_code == 201, created.content
    plan = created.parsed
    assert isinstance(plan, _model("kpi_excess_reward_plan_read", "KpiExcessRewardPlanRead"))
    assert (plan.params.amount_per_point_minor, plan.params.earning_code) == (1500, "KPI_REWARD")  # a default

    patch = _model("kpi_excess_reward_params_patch", "KpiExcessRewardParamsPatch")(cap_per_employee_minor=90000)
    update = _model("incentive_plan_update", "IncentivePlanUpdate")(params=patch)
    assert update.to_dict() == {"params": {"cap_per_employee_minor": 90000}}  # nothing left out is sent
    changed = await _module("api.incentives.update_incentive_plan").asyncio(
        client=hr, plan_id=plan.id, body=update, if_match=created.headers["etag"]
    )
    assert (changed.params.amount_per_point_minor, changed.params.cap_per_employee_minor) == (1500, 90000)

    manager = client_mod.AuthenticatedClient(
        base_url="http://test", token=tenant.token(["manager"]), httpx_args={"transport": transport}
    )
    seen = await _module("api.incentives.get_incentive_plan").asyncio(client=manager, plan_id=plan.id)
    assert seen.kind == "kpi_excess_reward" and seen.params is None  # pay data, hidden from managers


def test_generated_models_read_a_webhook_body(generated: tuple[Path, str]):
    """A receiver in Python gets the events' models from the same generator
    (docs/webhooks.md): the body as the service sends it parses into them."""
    event = _module("models.objective_published_event").ObjectivePublishedEvent
    objective_id = uuid.uuid4()
    body = {
        "type": "objective.published",
        "timestamp": "2026-03-02T09:30:00.000001Z",
        "data": {
            "objective_id": str(objective_id),
            "owner_id": str(uuid.uuid4()),
            "cycle_id": str(uuid.uuid4()),
            "level": "team",
            "type": "committed",
            "title": "Grow the online share",
            "status": "published",
            "actor": "u-1",
        },
    }
    parsed = event.from_dict(body)
    assert parsed.data.objective_id == objective_id and parsed.data.level.value == "team"
    assert parsed.to_dict()["data"]["title"] == "Grow the online share"
