"""The request-body examples of the OpenAPI document (service/web/openapi_examples.py)
cannot rot: each one is validated with the very body type its route reads, as JSON, the
way a request is; and all but the webhook's (whose URL the API would resolve) are posted
to the API, their ids replaced by those of a world made for the purpose, and must be
accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from service.incentives.schemas import PARAMS_MODELS
from service.kpi.schemas import BulkMeasurementRow
from service.web import openapi_contract, openapi_examples
from service.web.openapi_examples import EXAMPLES
from tests.conftest import Tenant

# The main request bodies an integrator writes first: each must have an example.
MAIN = {
    "create_employee",
    "bulk_upsert_employees",
    "create_cycle",
    "create_objective",
    "create_check_in",
    "create_check_ins",
    "create_kpi_definition",
    "create_kpi_assignment",
    "create_kpi_measurement",
    "ingest_kpi_measurements_bulk",
    "create_evaluation",
    "create_scoring_policy",
    "create_incentive_plan",
    "create_webhook",
}
CASES = [(op, name) for op, examples in EXAMPLES.items() for name in examples]


def body_type(app: Any, operation_id: str) -> Any:
    (route,) = [r for r in openapi_contract.documented_routes(app) if r.name == operation_id]
    return route.body_field.field_info.annotation


def test_the_main_request_bodies_have_examples_in_the_document(app: Any):
    assert set(EXAMPLES) >= MAIN
    document = app.openapi()
    found = {
        op["operationId"]: media["examples"]
        for item in document["paths"].values()
        for op in item.values()
        for media in ((op.get("requestBody") or {}).get("content") or {}).values()
        if "examples" in media
    }
    assert found == EXAMPLES
    assert all(e["summary"] and isinstance(e["value"], dict) for examples in found.values() for e in examples.values())


@pytest.mark.parametrize(("operation_id", "name"), CASES)
def test_each_example_is_valid_for_its_route(app: Any, operation_id: str, name: str):
    value = EXAMPLES[operation_id][name]["value"]
    TypeAdapter(body_type(app, operation_id)).validate_json(json.dumps(value))
    if operation_id == "create_incentive_plan":
        PARAMS_MODELS[value["kind"]].model_validate_json(json.dumps(value["params"]))
    if operation_id == "ingest_kpi_measurements_bulk":
        for row in value["rows"]:
            BulkMeasurementRow.model_validate_json(json.dumps(row))


def test_an_example_of_no_operation_or_of_no_json_body_stops_the_document(monkeypatch: pytest.MonkeyPatch):
    document = {"paths": {"/t": {"get": {"operationId": "list_things"}}}}
    monkeypatch.setattr(openapi_examples, "EXAMPLES", {"make_thing": {}})
    with pytest.raises(RuntimeError, match="make_thing"):
        openapi_examples.add_examples(document)
    monkeypatch.setattr(openapi_examples, "EXAMPLES", {"list_things": {}})
    with pytest.raises(RuntimeError, match="no JSON body"):
        openapi_examples.add_examples(document)


def _with_ids(value: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(value)
    for placeholder, real in ids.items():
        text = text.replace(placeholder, real)
    return dict(json.loads(text))


async def test_the_examples_are_accepted_by_the_api(tenant: Tenant):
    """Posted in order, each example's ids being those of what the ones before made."""
    c, hr, admin = tenant.client, tenant.hr, tenant.admin
    ex = openapi_examples
    ids: dict[str, str] = {}

    async def post(path: str, body: dict[str, Any], headers: dict[str, str] = hr, status: int = 201) -> Any:
        resp = await c.post(path, json=_with_ids(body, ids), headers=headers)
        assert resp.status_code == status, (path, resp.text)
        return resp.json()

    def value(operation_id: str, name: str) -> dict[str, Any]:
        return dict(EXAMPLES[operation_id][name]["value"])

    ids[ex.DEPARTMENT] = (await post("/api/v1/departments", {"name": "Sales"}))["id"]
    ids[ex.POSITION] = (await post("/api/v1/positions", {"name": "Account executive"}))["id"]
    ids[ex.MANAGER] = (await tenant.add_employee("manager"))["id"]
    ids[ex.EMPLOYEE] = (await post("/api/v1/employees", value("create_employee", "employee")))["id"]
    bulk = await post("/api/v1/employees/bulk", value("bulk_upsert_employees", "rows"), status=200)
    assert [r["outcome"] for r in bulk["results"]] == ["created", "created"], bulk
    ids[ex.CYCLE] = (await post("/api/v1/cycles", value("create_cycle", "year"), headers=admin))["id"]
    ids[ex.DEFINITION] = (await post("/api/v1/kpi-definitions", value("create_kpi_definition", "nps")))["id"]
    assignment = await post("/api/v1/kpi-assignments", value("create_kpi_assignment", "banded"))
    ids[ex.ASSIGNMENT] = assignment["id"]
    await post(f"/api/v1/kpi-assignments/{assignment['id']}/measurements", value("create_kpi_measurement", "monthly"))
    measurements = await post(
        "/api/v1/kpi-measurements/bulk", value("ingest_kpi_measurements_bulk", "feed"), status=200
    )
    assert [r["outcome"] for r in measurements["results"]] == ["unchanged", "created"], measurements
    parent = {"title": "Grow the business", "level": "company", "owner_id": ids[ex.MANAGER], "cycle_id": ids[ex.CYCLE]}
    ids[ex.OBJECTIVE] = (await post("/api/v1/objectives", parent, headers=admin))["id"]
    objective = await post("/api/v1/objectives", value("create_objective", "with_key_results"), headers=admin)
    metric, milestone, boolean = objective["key_results"]
    assert [metric["kind"], milestone["kind"], boolean["kind"]] == ["metric", "milestone", "boolean"]
    owner = tenant.as_("employee", emp=ids[ex.EMPLOYEE])
    await post(f"/api/v1/key-results/{metric['id']}/check-ins", value("create_check_in", "metric"), headers=owner)
    await post(f"/api/v1/key-results/{milestone['id']}/check-ins", value("create_check_in", "milestone"), headers=owner)
    ids[ex.KEY_RESULT], ids[ex.KEY_RESULT_2] = metric["id"], boolean["id"]
    await post("/api/v1/check-ins/bulk", value("create_check_ins", "weekly"), headers=owner)
    await post("/api/v1/evaluations", value("create_evaluation", "evaluation"))
    await post("/api/v1/scoring-policies", value("create_scoring_policy", "department"), headers=admin)
    for name in EXAMPLES["create_incentive_plan"]:
        await post("/api/v1/incentive-plans", value("create_incentive_plan", name), headers=admin)
