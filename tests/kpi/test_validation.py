"""Parameter rules (service/kpi/validation.py): each violation is a 422 naming the field,
on create, on PATCH (judged on the merged state) and in template items."""

from __future__ import annotations

import pytest

from service.kpi.validation import check_parameters
from tests.kpi.conftest import make_assignment, make_definition

H, L, R = "higher_is_better", "lower_is_better", "target_range"

CASES = [
    # direction, params, field
    (H, {"method": "banded", "target": 10}, "threshold"),
    (H, {"method": "banded", "threshold": 5}, "target"),
    (H, {"method": "banded", "threshold": 10, "target": 10}, "target"),
    (H, {"method": "banded", "threshold": 10, "target": 5}, "target"),
    (H, {"method": "banded", "threshold": 5, "target": 10, "stretch": 10}, "stretch"),
    (H, {"method": "banded", "threshold": 5, "target": 10, "stretch": 8}, "stretch"),
    (L, {"method": "banded", "threshold": 5, "target": 10}, "target"),
    (L, {"method": "banded", "threshold": 10, "target": 5, "stretch": 6}, "stretch"),
    (L, {"method": "banded", "threshold": 10, "target": 5, "stretch": 5}, "stretch"),
    (R, {"method": "banded", "threshold": 1, "target": 2}, "method"),
    (H, {"method": "ratio"}, "target"),
    (H, {"method": "ratio", "target": 0}, "target"),
    (L, {"method": "ratio", "target": -1}, "target"),
    (R, {"method": "ratio", "target": 1}, "method"),
    (H, {"method": "binary"}, "target"),
    (R, {"method": "binary", "target": 1}, "method"),
    (H, {"method": "range", "range_low": 1, "range_high": 2, "tolerance": 1}, "method"),
    (L, {"method": "range", "range_low": 1, "range_high": 2, "tolerance": 1}, "method"),
    (R, {"method": "range", "range_high": 2, "tolerance": 1}, "range_low"),
    (R, {"method": "range", "range_low": 1, "tolerance": 1}, "range_high"),
    (R, {"method": "range", "range_low": 1, "range_high": 2}, "tolerance"),
    (R, {"method": "range", "range_low": 3, "range_high": 2, "tolerance": 1}, "range_high"),
    (R, {"method": "range", "range_low": 1, "range_high": 2, "tolerance": 0}, "tolerance"),
    (R, {"method": "range", "range_low": 1, "range_high": 2, "tolerance": -1}, "tolerance"),
    (H, {"method": "ratio", "target": 1, "weight": 0}, "weight"),
    (H, {"method": "ratio", "target": 1, "weight": -2}, "weight"),
    (H, {"method": "median", "target": 1}, "method"),
    (H, {"method": "ratio", "target": "abc"}, "target"),
    (H, {"method": "ratio", "target": "NaN"}, "target"),
]


@pytest.mark.parametrize("direction,params,field", CASES)
async def test_create_names_the_field(team, quarter, direction, params, field):
    d = await make_definition(team, "V", direction, "last")
    body = {"employee_id": team.employees["alice"]["id"], "cycle_id": quarter["id"], "definition_id": d["id"], **params}
    resp = await team.client.post("/api/v1/kpi-assignments", headers=team.hr, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert ["body", field] in [e["loc"] for e in resp.json()["errors"]], resp.json()


@pytest.mark.parametrize(
    "direction,params",
    [
        (H, {"method": "banded", "threshold": 1, "target": 2}),
        (H, {"method": "banded", "threshold": 1, "target": 2, "stretch": 3}),
        (L, {"method": "banded", "threshold": 3, "target": 2, "stretch": 1}),
        (H, {"method": "ratio", "target": "0.001"}),
        (L, {"method": "ratio", "target": 4}),
        (R, {"method": "range", "range_low": 2, "range_high": 2, "tolerance": "0.1"}),
        (H, {"method": "binary", "target": 0}),
        (L, {"method": "binary", "target": -5}),
    ],
)
async def test_valid_parameters_are_accepted(team, quarter, direction, params):
    d = await make_definition(team, "OK", direction, "last")
    await make_assignment(team, "alice", quarter, d, **params)


async def test_default_method_is_banded(team, quarter):
    d = await make_definition(team, "DEF", H, "sum")
    a = await make_assignment(team, "alice", quarter, d, threshold=1, target=2)
    assert a["method"] == "banded" and a["weight"] == "1"


async def test_patch_is_judged_on_the_merged_state(team, quarter):
    d = await make_definition(team, "PATCH", H, "sum")
    a = await make_assignment(team, "alice", quarter, d, threshold=10, target=20, stretch=30)
    url = f"/api/v1/kpi-assignments/{a['id']}"
    bad = await team.client.patch(url, headers=team.hr, json={"target": 40})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "stretch"]
    bad = await team.client.patch(url, headers=team.hr, json={"threshold": None})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "threshold"]
    bad = await team.client.patch(url, headers=team.hr, json={"method": "range"})
    assert bad.status_code == 422
    bad = await team.client.patch(url, headers=team.hr, json={"weight": None})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "weight"]
    ok = await team.client.patch(url, headers=team.hr, json={"method": "ratio", "target": 25})
    assert ok.status_code == 200, ok.text
    assert ok.json()["method"] == "ratio" and ok.json()["target"] == "25"


async def test_unknown_fields_and_fixed_fields_are_refused(team, quarter):
    d = await make_definition(team, "FIX", H, "sum")
    a = await make_assignment(team, "alice", quarter, d, method="ratio", target=1)
    resp = await team.client.patch(
        f"/api/v1/kpi-assignments/{a['id']}", headers=team.hr, json={"employee_id": team.employees["bob"]["id"]}
    )
    assert resp.status_code == 422
    body = {
        "employee_id": team.employees["alice"]["id"],
        "cycle_id": quarter["id"],
        "definition_id": d["id"],
        "method": "ratio",
        "target": 1,
        "points": "120",
    }
    assert (await team.client.post("/api/v1/kpi-assignments", headers=team.hr, json=body)).status_code == 422


async def test_references_are_checked(team, quarter):
    d = await make_definition(team, "REF", H, "sum")
    base = {
        "employee_id": team.employees["alice"]["id"],
        "cycle_id": quarter["id"],
        "definition_id": d["id"],
        "method": "ratio",
        "target": 1,
    }
    import uuid

    for field in ("employee_id", "cycle_id", "definition_id"):
        resp = await team.client.post(
            "/api/v1/kpi-assignments", headers=team.hr, json={**base, field: str(uuid.uuid4())}
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["loc"] == ["body", field]


async def test_one_assignment_per_employee_cycle_and_kpi(team, quarter):
    d = await make_definition(team, "ONE", H, "sum")
    await make_assignment(team, "alice", quarter, d, method="ratio", target=1)
    await make_assignment(team, "alice", quarter, d, method="ratio", target=2, expect=409)
    await make_assignment(team, "bob", quarter, d, method="ratio", target=2)


def test_validation_is_pure_and_lists_every_problem():
    errors = check_parameters(R, {"method": "range", "weight": 0, "tolerance": 0})
    assert {e.field for e in errors} == {"weight", "range_low", "range_high", "tolerance"}
    assert check_parameters(H, {"method": "banded", "weight": 1, "threshold": 1, "target": 2}) == []
