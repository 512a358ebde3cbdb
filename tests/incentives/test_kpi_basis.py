"""Short-term bonus on the KPI component alone (`basis: "kpi_points"` with its own
bands): the pure rule, parameter validation, and a run through REST and GraphQL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from service.incentives import calc
from service.incentives.schemas import ShortTermBonusParams
from tests.incentives.conftest import by_employee, comp, give_scores, make_plan, results_of, run, set_employee

Q4 = calc.Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31))
BANDS = [
    {"label": "exceeds", "min": "110", "multiplier": "1.5"},
    {"label": "meets", "min": "100", "multiplier": "1.0"},
    {"label": "partial", "min": "80", "multiplier": "0.5"},
]
KPI_PARAMS: dict[str, Any] = {"basis": "kpi_points", "kpi_bands": BANDS}


def candidate(kpi: str | None, rating: str | None = "B", final: str = "85", **kw: Any) -> calc.Candidate:
    return calc.Candidate(
        person=calc.Person(id=kw.pop("id", uuid.uuid4()), comp_currency="USD", target_bonus_minor=100000, **kw),
        score=calc.ScoreFacts(rating=rating, final=Decimal(final), kpi_component=None if kpi is None else Decimal(kpi)),
    )


def spec(params: dict[str, Any]) -> calc.PlanSpec:
    return calc.PlanSpec(kind="short_term_bonus", currency="USD", period=Q4, params=params)


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kpi,band,multiplier",
    [
        ("110", "exceeds", "1.5"),  # on the edge: the band is earned
        ("109.995", "exceeds", "1.5"),  # shown as 110.00
        ("109.9949", "meets", "1.0"),  # shown as 109.99
        ("100", "meets", "1.0"),
        ("99.99", "partial", "0.5"),
        ("80", "partial", "0.5"),
        ("1000", "exceeds", "1.5"),
    ],
)
def test_the_band_of_the_kpi_points_sets_the_multiplier(kpi, band, multiplier):
    got = calc.multiplier(KPI_PARAMS, candidate(kpi).score)
    assert not isinstance(got, str)
    value, why = got
    assert value == Decimal(multiplier)
    assert why["basis"] == "kpi_points" and why["band"] == band and why["kpi_points"] == kpi


def test_the_blend_plays_no_part():
    """A B rating and a final of 85 leave the KPI basis untouched: 112 KPI points earn
    `exceeds` (1.5) while the rating basis would pay B's 1.0."""
    c = candidate("112", rating="B", final="85")
    assert calc.multiplier(KPI_PARAMS, c.score)[0] == Decimal("1.5")  # type: ignore[index]
    assert calc.multiplier({"basis": "rating"}, c.score)[0] == Decimal("1.0")  # type: ignore[index]


def test_below_every_band_and_without_a_kpi_component_there_is_no_result():
    low, none = candidate("79.99", id=uuid.UUID(int=1)), candidate(None, id=uuid.UUID(int=2))
    got = calc.compute_plan(spec(KPI_PARAMS), [low, none])
    assert got.outcomes == ()
    assert dict(got.skipped) == {low.person.id: calc.NO_KPI_BAND, none.person.id: calc.NO_KPI_COMPONENT}


def test_default_bands_apply_when_the_plan_names_none():
    value, why = calc.multiplier({"basis": "kpi_points"}, candidate("100").score)  # type: ignore[misc]
    assert value == Decimal("1.0") and why["band"] == "meets"
    assert [b["label"] for b in why["bands"]] == ["exceeds", "meets", "partial", "below"]


def test_amount_is_exact_and_prorated_like_every_short_term_bonus():
    c = candidate("110", hire_date=dt.date(2026, 11, 1))  # 61 of 92 days
    (out,) = calc.compute_plan(spec(KPI_PARAMS), [c]).outcomes
    assert out.amount_minor == 99457  # 100000 × 1.5 × 61 / 92 = 99456.52…
    assert out.inputs["multiplier"]["band"] == "exceeds" and out.inputs["proration"]["days_employed"] == 61


@pytest.mark.parametrize(
    "bands,message",
    [
        ([{"label": "a", "min": "80", "multiplier": "1"}, {"label": "b", "min": "100", "multiplier": "1.2"}], "desc"),
        ([{"label": "a", "min": "100", "multiplier": "1"}, {"label": "b", "min": "100", "multiplier": "0"}], "desc"),
        ([{"label": "a", "min": "100", "multiplier": "1"}, {"label": "a", "min": "50", "multiplier": "0"}], "repeat"),
        ([{"label": "a", "min": "-1", "multiplier": "1"}], "greater than or equal"),
        ([{"label": "a", "min": "1", "multiplier": "1", "max": "2"}], "Extra inputs"),
        ([], "at least 1"),
    ],
)
def test_bands_are_validated(bands, message):
    with pytest.raises(ValidationError) as err:
        ShortTermBonusParams.model_validate({"basis": "kpi_points", "kpi_bands": bands})
    assert message in str(err.value)


# --- through the API --------------------------------------------------------------------------


async def test_a_kpi_basis_plan_runs_through_rest_and_graphql(team, q4):
    t = team
    # One ratio KPI each (target 100), so the KPI component is the actual.
    await give_scores(t, q4, {"alice": "110", "bob": "109.994", "carol": "109.995", "dave": "50"})
    for key in ("alice", "bob", "carol", "dave"):
        await set_employee(t, key, compensation=comp(100000))
    await set_employee(t, "alice", hire_date="2026-11-01")
    plan = await make_plan(t, q4, name="Sales KPI bonus", params=KPI_PARAMS)
    assert plan["params"]["basis"] == "kpi_points" and plan["params"]["kpi_bands"] == BANDS
    report = await run(t, plan)
    assert report["skipped"].get("no_kpi_band") == 1
    got = by_employee(t, await results_of(t, plan))
    assert {k: r["amount_minor"] for k, r in got.items()} == {"alice": 99457, "bob": 100000, "carol": 150000}
    why = got["bob"]["inputs"]["multiplier"]
    assert (why["basis"], why["band"], why["kpi_points_rounded"]) == ("kpi_points", "meets", "109.99")
    assert got["carol"]["inputs"]["multiplier"]["band"] == "exceeds"
    assert {s["reason"] for s in report["skipped_employees"]} >= {"no_kpi_band"}
    other = await make_plan(t, q4, name="Excess", kind="kpi_excess_reward", params={"amount_per_point_minor": 1})

    resp = await t.client.post(
        "/graphql",
        headers=t.hr,
        json={
            "query": "query($id: ID!) { incentivePlan(id: $id) { bonusBasis params } }",
            "variables": {"id": plan["id"]},
        },
    )
    node = resp.json()["data"]["incentivePlan"]
    assert node["bonusBasis"] == "KPI_POINTS" and node["params"]["kpi_bands"] == BANDS
    resp = await t.client.post(
        "/graphql",
        headers=t.hr,
        json={"query": "query($id: ID!) { incentivePlan(id: $id) { bonusBasis } }", "variables": {"id": other["id"]}},
    )
    assert resp.json()["data"]["incentivePlan"]["bonusBasis"] is None
    # the bands are pay data: a manager sees the plan, not its parameters nor its basis
    lead = t.employee("lead")
    seen = await t.client.get(f"/api/v1/incentive-plans/{plan['id']}", headers=lead)
    assert seen.status_code == 200 and seen.json()["params"] is None
    resp = await t.client.post(
        "/graphql",
        headers=lead,
        json={"query": "query($id: ID!) { incentivePlan(id: $id) { bonusBasis } }", "variables": {"id": plan["id"]}},
    )
    assert resp.json()["data"]["incentivePlan"]["bonusBasis"] is None


async def test_bad_bands_are_a_problem_and_a_patch_can_switch_the_basis(team, q4):
    t = team
    bad = await make_plan(
        t, q4, name="x", expect=422, params={"basis": "kpi_points", "kpi_bands": list(reversed(BANDS))}
    )
    assert bad["status"] == 422
    assert any(e["loc"][:3] == ["body", "params", "kpi_bands"] for e in bad["errors"]), bad
    plan = await make_plan(t, q4)
    patched = await t.client.patch(
        f"/api/v1/incentive-plans/{plan['id']}", headers=t.hr, json={"params": {"basis": "kpi_points"}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["params"]["basis"] == "kpi_points"
    assert patched.json()["params"]["kpi_bands"][0] == {"label": "exceeds", "min": "110", "multiplier": "1.5"}
    refused = await t.client.patch(
        f"/api/v1/incentive-plans/{plan['id']}", headers=t.hr, json={"params": {"basis": "kpi"}}
    )
    assert refused.status_code == 422
