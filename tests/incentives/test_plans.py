"""Incentive plans: validated parameters per kind with every default explicit, merge
PATCH, what may change once results are decided, ETags and the audit trail."""

from __future__ import annotations

from typing import get_args

import pytest

from service.incentives.schemas import PARAMS_MODELS, PlanKind
from tests.incentives.conftest import (
    act,
    audit_events,
    by_employee,
    comp,
    give_scores,
    make_plan,
    results_of,
    run,
    set_employee,
)


async def test_defaults_are_explicit_per_kind(team, q4):
    t = team
    stb = await make_plan(t, q4)
    assert stb["currency"] == "USD"  # the organization's
    assert stb["params"] == {
        "basis": "rating",
        "multipliers": {"S": "1.5", "A": "1.2", "B": "1.0", "C": "0.6", "D": "0"},
        "kpi_bands": [
            {"label": "exceeds", "min": "110", "multiplier": "1.5"},
            {"label": "meets", "min": "100", "multiplier": "1.0"},
            {"label": "partial", "min": "80", "multiplier": "0.6"},
            {"label": "below", "min": "0", "multiplier": "0"},
        ],
        "multiplier_cap": "1.5",
        "min_score": "0",
        "pool_minor": None,
        "earning_code": "BONUS",
        "eligibility": {
            "statuses": ["active", "on_leave"],
            "min_tenure_days": 0,
            "include_departments": [],
            "exclude_departments": [],
            "include_positions": [],
            "exclude_positions": [],
        },
    }
    excess = await make_plan(
        t, q4, kind="kpi_excess_reward", params={"amount_per_point_minor": 1500, "cap_per_employee_minor": 90000}
    )
    assert {k: excess["params"][k] for k in ("amount_per_point_minor", "cap_per_employee_minor", "earning_code")} == {
        "amount_per_point_minor": 1500,
        "cap_per_employee_minor": 90000,
        "earning_code": "KPI_REWARD",
    }
    okr = await make_plan(t, q4, kind="okr_breakthrough")
    assert {k: okr["params"][k] for k in ("min_objective_score", "ratings", "nomination_kind")} == {
        "min_objective_score": "0.7",
        "ratings": ["S", "A"],
        "nomination_kind": "promotion_track",
    }
    got = await t.client.get(f"/api/v1/incentive-plans/{stb['id']}", headers=t.hr)
    assert got.json() == stb and got.headers["etag"] == '"1"'
    listed = await t.client.get("/api/v1/incentive-plans", headers=t.hr, params={"kind": "okr_breakthrough"})
    assert [p["id"] for p in listed.json()["items"]] == [okr["id"]]


@pytest.mark.parametrize(
    ("kind", "params", "loc"),
    [
        ("short_term_bonus", {"basis": "luck"}, ["body", "params", "basis"]),
        ("short_term_bonus", {"multipliers": {"A": "-1"}}, ["body", "params", "multipliers", "A"]),
        ("short_term_bonus", {"multipliers": {}}, ["body", "params", "multipliers"]),
        ("short_term_bonus", {"pool_minor": 1.5}, ["body", "params", "pool_minor"]),
        ("short_term_bonus", {"pool_minor": -1}, ["body", "params", "pool_minor"]),
        ("short_term_bonus", {"amount_per_point_minor": 5}, ["body", "params", "amount_per_point_minor"]),
        (
            "short_term_bonus",
            {"eligibility": {"statuses": ["retired"]}},
            ["body", "params", "eligibility", "statuses", 0],
        ),
        (
            "short_term_bonus",
            {"eligibility": {"min_tenure_days": -3}},
            ["body", "params", "eligibility", "min_tenure_days"],
        ),
        ("short_term_bonus", {"earning_code": "has space"}, ["body", "params", "earning_code"]),
        ("kpi_excess_reward", {}, ["body", "params", "amount_per_point_minor"]),
        ("kpi_excess_reward", {"amount_per_point_minor": 10, "basis": "rating"}, ["body", "params", "basis"]),
        ("okr_breakthrough", {"nomination_kind": "sabbatical"}, ["body", "params", "nomination_kind"]),
        ("okr_breakthrough", {"min_objective_score": "1.5"}, ["body", "params", "min_objective_score"]),
        ("okr_breakthrough", {"ratings": ["S", "S"]}, ["body", "params", "ratings"]),
    ],
)
async def test_invalid_parameters_are_422_naming_the_field(team, q4, kind, params, loc):
    t = team
    resp = await t.client.post(
        "/api/v1/incentive-plans",
        headers=t.hr,
        json={"name": "x", "kind": kind, "cycle_id": q4["id"], "params": params},
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert loc in [e["loc"] for e in resp.json()["errors"]], resp.json()["errors"]
    listed = await t.client.get("/api/v1/incentive-plans", headers=t.hr)
    assert listed.json()["items"] == []


async def test_references_must_exist_in_the_organization(team, q4, other_tenant):
    t = team
    foreign = (
        await other_tenant.client.post("/api/v1/departments", headers=other_tenant.hr, json={"name": "Elsewhere"})
    ).json()
    resp = await t.client.post(
        "/api/v1/incentive-plans",
        headers=t.hr,
        json={
            "name": "x",
            "kind": "short_term_bonus",
            "cycle_id": q4["id"],
            "params": {"eligibility": {"include_departments": [foreign["id"]]}},
        },
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "params", "eligibility", "include_departments"]
    resp = await t.client.post(
        "/api/v1/incentive-plans",
        headers=t.hr,
        json={"name": "x", "kind": "short_term_bonus", "cycle_id": str(foreign["id"])},
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "cycle_id"]
    resp = await t.client.post(
        "/api/v1/incentive-plans",
        headers=t.hr,
        json={"name": "x", "kind": "short_term_bonus", "cycle_id": q4["id"], "is_admin": True},
    )
    assert resp.status_code == 422 and ["body", "is_admin"] in [e["loc"] for e in resp.json()["errors"]]


async def test_patch_merges_parameters_and_honours_if_match(team, q4):
    t = team
    plan = await make_plan(t, q4, params={"pool_minor": 5000, "eligibility": {"min_tenure_days": 10}})
    path = f"/api/v1/incentive-plans/{plan['id']}"
    stale = await t.client.patch(path, headers={**t.hr, "If-Match": '"9"'}, json={"name": "Renamed"})
    assert stale.status_code == 412
    resp = await t.client.patch(
        path,
        headers={**t.hr, "If-Match": '"1"'},
        json={
            "name": "Renamed",
            "params": {
                "multipliers": {"A": "2", "B": "1"},
                "eligibility": {"statuses": ["active"]},
                "pool_minor": None,
            },
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "Renamed" and body["version"] == 2 and resp.headers["etag"] == '"2"'
    assert body["params"]["multipliers"] == {"S": "1.5", "A": "2", "B": "1", "C": "0.6", "D": "0"}  # merged
    assert body["params"]["pool_minor"] is None  # removed: back to its default
    assert body["params"]["eligibility"]["min_tenure_days"] == 10  # kept by the merge
    assert body["params"]["eligibility"]["statuses"] == ["active"]
    fewer = await t.client.patch(path, headers=t.hr, json={"params": {"multipliers": {"S": None, "D": None}}})
    assert fewer.json()["params"]["multipliers"] == {"A": "2", "B": "1", "C": "0.6"}
    bad = await t.client.patch(path, headers=t.hr, json={"params": {"multiplier_cap": "0"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "params", "multiplier_cap"]
    events = [e.action for e in await audit_events(t, plan["id"])]
    assert events == ["incentive_plan.created", "incentive_plan.updated", "incentive_plan.updated"]


async def test_cycle_and_currency_are_fixed_once_results_are_decided(team, q4):
    t = team
    await give_scores(t, q4, {"alice": 100})
    await set_employee(t, "alice", compensation=comp(1000))
    plan = await make_plan(t, q4)
    path = f"/api/v1/incentive-plans/{plan['id']}"
    assert (await t.client.patch(path, headers=t.hr, json={"currency": "EUR"})).status_code == 200
    assert (await t.client.patch(path, headers=t.hr, json={"currency": "USD"})).status_code == 200
    await run(t, plan)
    alice = by_employee(t, await results_of(t, plan))["alice"]
    await act(t, alice, "approve")
    refused = await t.client.patch(path, headers=t.hr, json={"currency": "EUR"})
    assert refused.status_code == 409
    assert (await t.client.patch(path, headers=t.hr, json={"name": "Still fine"})).status_code == 200
    null = await t.client.patch(path, headers=t.hr, json={"name": None})
    assert null.status_code == 422


def test_the_contract_has_a_create_and_a_read_model_per_kind(app):
    """`IncentivePlanCreate` and `IncentivePlanRead` are a `oneOf` by `kind` covering every
    kind, each with the parameters model the service validates that kind with."""
    schemas = app.openapi()["components"]["schemas"]
    for name in ("IncentivePlanCreate", "IncentivePlanRead"):
        mapping = schemas[name]["discriminator"]["mapping"]
        assert set(mapping) == set(get_args(PlanKind)) == set(PARAMS_MODELS)
        for kind, ref in mapping.items():
            variant = schemas[ref.rsplit("/", 1)[-1]]
            assert variant["properties"]["kind"]["const"] == kind
            params = variant["properties"]["params"]
            refs = [params.get("$ref")] + [m.get("$ref") for m in params.get("anyOf", [])]
            assert "#/components/schemas/" + PARAMS_MODELS[kind].__name__ in refs
    patch = schemas["IncentivePlanUpdate"]["properties"]["params"]["anyOf"]
    assert [m.get("$ref", "").rsplit("/", 1)[-1] for m in patch] == [
        f"{m.__name__}Patch" for m in PARAMS_MODELS.values()
    ] + [""]
    assert all("default" not in p for p in schemas["ShortTermBonusParamsPatch"]["properties"].values())
