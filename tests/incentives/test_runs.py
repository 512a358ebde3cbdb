"""Running plans through the API: scores come from the scoring service (built here from
KPIs and OKRs made through the API), amounts from SPEC section 8. Appendix A's figures,
pools, eligibility, zero and missing compensation, currencies with 0 and 3 decimals,
nominations, and re-runs that replace drafts only."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tests.conftest import Tenant
from tests.incentives.conftest import (
    act,
    by_employee,
    comp,
    give_scores,
    make_plan,
    results_of,
    run,
    set_employee,
)
from tests.kpi.conftest import make_assignment, make_definition, measure
from tests.okr.conftest import check_in, make_kr, make_objective, publish


def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


async def appendix_a_kpis(
    t: Tenant, cycle: dict[str, Any], who: str, rewardable: set[str] = frozenset(), extra: bool = False
) -> None:
    """Appendix A's four KPIs for `who` (points 97, 103.33…, 80, 103.33…); with `extra`
    a fifth one at 112.5 points. `rewardable` names the codes flagged rewardable."""
    suffix = uuid.uuid4().hex[:4]
    specs = [
        (
            "GMV",
            "higher_is_better",
            "sum",
            {"method": "banded", "weight": 40, "threshold": 1000000, "target": 1200000, "stretch": 1400000},
            [410000, 380000, 395000],
        ),
        (
            "RETURN_RATE",
            "lower_is_better",
            "avg",
            {"method": "banded", "weight": 20, "threshold": "0.05", "target": "0.04", "stretch": "0.03"},
            ["0.041", "0.038", "0.036"],
        ),
        (
            "CSAT",
            "target_range",
            "last",
            {"method": "range", "weight": 20, "range_low": "4.5", "range_high": "4.8", "tolerance": "0.25"},
            ["4.45"],
        ),
        ("CONVERSION", "higher_is_better", "last", {"method": "ratio", "weight": 20, "target": "0.03"}, ["0.031"]),
    ]
    if extra:
        specs.append(
            (
                "NEW_CHANNEL",
                "higher_is_better",
                "last",
                {"method": "banded", "weight": 20, "threshold": 0, "target": 100, "stretch": 200},
                ["162.5"],
            )
        )
    for code, direction, aggregation, params, values in specs:
        d = await make_definition(t, f"{code}_{suffix}", direction, aggregation)
        a = await make_assignment(t, who, cycle, d, rewardable=code in rewardable, **params)
        for month, value in zip((10, 11, 12), values, strict=False):
            await measure(t, a, value, f"2026-{month}-15")


async def test_appendix_a_short_term_bonus_and_kpi_excess_reward_through_the_api(team, q4):
    t = team
    policy = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={"name": "KPI only", "scope": {"kind": "organization"}, "w_kpi": "1", "w_okr": "0", "w_eval": "0"},
    )
    assert policy.status_code == 201, policy.text
    await appendix_a_kpis(t, q4, "alice")  # KPI component 96.13 → rating A
    await appendix_a_kpis(t, q4, "bob", rewardable={"GMV", "RETURN_RATE", "NEW_CHANNEL"}, extra=True)
    await set_employee(t, "alice", compensation=comp(240000), hire_date="2026-11-01")
    bonus = await make_plan(t, q4, name="Q4 bonus")
    report = await run(t, bonus)
    alice = by_employee(t, await results_of(t, bonus))["alice"]
    assert alice["amount_minor"] == 190957 == half_up(Fraction(240000) * Fraction(12, 10) * Fraction(61, 92))
    assert (alice["amount"], alice["currency"], alice["status"], alice["kind"]) == (
        "1909.57",
        "USD",
        "draft",
        "payment",
    )
    inputs = alice["inputs"]
    assert inputs["score"]["final_rounded"] == "96.13" and inputs["score"]["rating"] == "A"
    assert inputs["policy"] == {"id": policy.json()["id"], "version": 1}
    assert inputs["multiplier"]["value"] == "1.2"
    assert inputs["proration"] == {"days_employed": 61, "period_days": 92, "value": inputs["proration"]["value"]}
    assert Decimal(inputs["proration"]["value"]).quantize(Decimal("0.0001")) == Decimal("0.6630")
    assert inputs["money"]["target_bonus"]["target_bonus_minor"] == 240000
    assert report["created"] == 1 and report["total_minor"] == 190957
    assert report["skipped"] == {"missing_compensation": 1, "no_score": 4}

    excess = await make_plan(
        t, q4, kind="kpi_excess_reward", name="KPI excess", params={"amount_per_point_minor": 1500}
    )
    await run(t, excess)
    got = by_employee(t, await results_of(t, excess))
    assert set(got) == {"bob"}  # alice has no rewardable KPI: zero amount, no result
    assert got["bob"]["amount_minor"] == 23750 == half_up((Fraction(310, 3) - 100 + Fraction(25, 2)) * 1500)
    assert got["bob"]["earning_code"] == "KPI_REWARD"
    lines = got["bob"]["inputs"]["money"]["lines"]
    assert [Decimal(line["excess_points"]).quantize(Decimal("0.0001")) for line in lines] == [
        Decimal("3.3333"),
        Decimal("12.5"),
    ]


async def test_appendix_a_pool_through_the_api(team, q4):
    t = team
    amounts = {"carol": 150000, "dave": 100000, "lead": 70001}
    await give_scores(t, q4, {k: 90 for k in amounts})  # B: multiplier 1.0
    for key, target in amounts.items():
        await set_employee(t, key, compensation=comp(target))
    plan = await make_plan(t, q4, params={"pool_minor": 300000})
    report = await run(t, plan)
    got = {k: r["amount_minor"] for k, r in by_employee(t, await results_of(t, plan)).items()}
    assert got == {"carol": 140624, "dave": 93750, "lead": 65626}
    assert sum(got.values()) == 300000 == report["total_minor"]
    assert report["pool"] == {
        "pool_minor": 300000,
        "kept_minor": 0,
        "available_minor": 300000,
        "total_raw_minor": 320001,
        "scaled": True,
    }


async def test_pool_ties_go_to_the_smaller_employee_id(team, q4):
    t = team
    keys = ["alice", "bob", "carol"]
    await give_scores(t, q4, {k: 90 for k in keys})
    for key in keys:
        await set_employee(t, key, compensation=comp(100))
    plan = await make_plan(t, q4, params={"pool_minor": 200})
    await run(t, plan)
    got = {r["employee_id"]: r["amount_minor"] for r in await results_of(t, plan)}
    ordered = sorted(got, key=uuid.UUID)
    assert [got[e] for e in ordered] == [67, 67, 66]


async def test_eligibility_through_the_api(team, q4):
    t = team
    c, hr = t.client, t.hr
    sales = (await c.post("/api/v1/departments", headers=hr, json={"name": "Sales"})).json()
    emea = (await c.post("/api/v1/departments", headers=hr, json={"name": "EMEA", "parent_id": sales["id"]})).json()
    ops = (await c.post("/api/v1/departments", headers=hr, json={"name": "Ops"})).json()
    intern = (await c.post("/api/v1/positions", headers=hr, json={"name": "Intern"})).json()
    await set_employee(t, "alice", department_id=emea["id"])
    await set_employee(t, "bob", department_id=ops["id"])
    await set_employee(t, "carol", department_id=sales["id"], status="terminated", termination_date="2026-11-15")
    await set_employee(t, "dave", department_id=sales["id"], hire_date="2026-12-20")
    await set_employee(t, "lead", department_id=sales["id"], position_id=intern["id"])
    await set_employee(t, "boss", department_id=sales["id"])
    everyone = ["alice", "bob", "carol", "dave", "lead", "boss"]
    await give_scores(t, q4, {k: 100 for k in everyone})
    for key in everyone:
        await set_employee(t, key, compensation=comp(92000))
    plan = await make_plan(
        t,
        q4,
        params={
            "eligibility": {
                "min_tenure_days": 30,
                "include_departments": [sales["id"]],
                "exclude_positions": [intern["id"]],
            }
        },
    )
    report = await run(t, plan)
    got = by_employee(t, await results_of(t, plan))
    assert set(got) == {"alice", "boss"}  # alice through the EMEA sub-department
    reasons = {
        t_key: r["reason"]
        for r in report["skipped_employees"]
        for t_key, e in t.employees.items()
        if e["id"] == r["employee_id"]
    }
    assert reasons == {
        "bob": "ineligible_department",
        "carol": "ineligible_status",
        "dave": "ineligible_tenure",
        "lead": "ineligible_position",
    }
    # A terminated leaver can be included, prorated to the last day employed.
    await t.client.patch(
        f"/api/v1/incentive-plans/{plan['id']}",
        headers=hr,
        json={
            "params": {
                "eligibility": {
                    "statuses": ["active", "terminated"],
                    "include_departments": None,
                    "exclude_positions": None,
                }
            }
        },
    )
    await run(t, plan)
    carol = by_employee(t, await results_of(t, plan))["carol"]
    assert carol["amount_minor"] == 55200 == half_up(Fraction(92000) * Fraction(12, 10) * Fraction(46, 92))
    assert carol["inputs"]["proration"]["days_employed"] == 46


async def test_zero_missing_and_foreign_compensation(team, q4):
    t = team
    await give_scores(t, q4, {"alice": 100, "bob": 100, "carol": 100, "dave": 100})
    await set_employee(t, "alice", compensation=comp(0))
    await set_employee(t, "carol", compensation=comp(50000, currency="EUR"))
    await set_employee(t, "dave", compensation={"base_salary_minor": 3650000, "target_bonus_pct": "10"})
    plan = await make_plan(t, q4)
    report = await run(t, plan)
    got = by_employee(t, await results_of(t, plan))
    assert set(got) == {"dave"}  # no currency on file: the plan's is assumed
    assert got["dave"]["amount_minor"] == half_up(
        Fraction(3650000) * Fraction(10, 100) * Fraction(92, 365) * Fraction(12, 10)
    )
    ids = {e["id"]: k for k, e in t.employees.items()}
    reasons = {ids[s["employee_id"]]: s["reason"] for s in report["skipped_employees"]}
    assert reasons == {
        "alice": "zero_amount",
        "bob": "missing_compensation",
        "carol": "currency_mismatch",
        "boss": "no_score",
        "lead": "no_score",
    }


async def test_currencies_with_zero_and_three_decimals(team, q4):
    t = team
    await give_scores(t, q4, {"alice": 100, "bob": 112})  # A, S
    await set_employee(
        t, "alice", compensation={"base_salary_minor": 6000000, "currency": "JPY", "target_bonus_pct": "15"}
    )
    await set_employee(
        t,
        "bob",
        compensation={"base_salary_minor": 24000000, "currency": "KWD", "target_bonus_pct": "10"},
        hire_date="2026-11-01",
    )
    yen = await make_plan(t, q4, currency="JPY", name="Japan")
    dinar = await make_plan(t, q4, currency="kwd", name="Kuwait")
    assert (yen["currency"], dinar["currency"]) == ("JPY", "KWD")
    await run(t, yen)
    await run(t, dinar)
    alice = by_employee(t, await results_of(t, yen))
    bob = by_employee(t, await results_of(t, dinar))
    assert set(alice) == {"alice"} and set(bob) == {"bob"}
    assert (
        alice["alice"]["amount_minor"]
        == 272219
        == half_up(Fraction(6000000) * Fraction(15, 100) * Fraction(92, 365) * Fraction(12, 10))
    )
    assert alice["alice"]["amount"] == "272219"
    assert (
        bob["bob"]["amount_minor"]
        == 601644
        == half_up(Fraction(24000000) * Fraction(10, 100) * Fraction(92, 365) * Fraction(15, 10) * Fraction(61, 92))
    )
    assert bob["bob"]["amount"] == "601.644"
    bad = await t.client.post(
        "/api/v1/incentive-plans",
        headers=t.hr,
        json={"name": "x", "kind": "short_term_bonus", "cycle_id": q4["id"], "currency": "XXY"},
    )
    assert bad.status_code == 422 and ["body", "currency"] in [e["loc"] for e in bad.json()["errors"]]


async def test_rerun_replaces_drafts_only(team, q4):
    t = team
    keys = ["alice", "bob", "carol"]
    await give_scores(t, q4, {k: 90 for k in keys})
    for key in keys:
        await set_employee(t, key, compensation=comp(1000))
    plan = await make_plan(t, q4, params={"pool_minor": 3000})
    await run(t, plan)
    first = by_employee(t, await results_of(t, plan))
    assert {k: r["amount_minor"] for k, r in first.items()} == {"alice": 1000, "bob": 1000, "carol": 1000}
    await act(t, first["alice"], "approve")
    await act(t, first["bob"], "decline", comment="left the team")
    for key in keys:
        await set_employee(t, key, compensation=comp(3000))
    report = await run(t, plan)
    assert (report["created"], report["replaced"], report["kept"]) == (1, 1, 2)
    second = by_employee(t, await results_of(t, plan))
    assert second["alice"]["id"] == first["alice"]["id"] and second["alice"]["amount_minor"] == 1000
    assert second["alice"]["status"] == "approved"
    assert second["bob"]["id"] == first["bob"]["id"] and second["bob"]["status"] == "declined"
    assert second["carol"]["id"] != first["carol"]["id"]
    # carol's new raw is 3000; alice's approved result keeps 1000 of the pool: 2000 left.
    assert second["carol"]["amount_minor"] == 2000
    assert second["carol"]["inputs"]["money"]["pool"]["kept_minor"] == 1000
    gone = await t.client.get(f"/api/v1/incentive-results/{first['carol']['id']}", headers=t.hr)
    assert gone.status_code == 404


async def test_okr_breakthrough_nominations_through_the_api(team, q4):
    t = team
    await give_scores(t, q4, {"alice": 100, "bob": 100, "carol": 80})

    async def aspirational(owner: str, values: tuple[str, str], kind: str = "aspirational") -> None:
        obj = await make_objective(t, q4, owner, type=kind, title=f"Moonshot of {owner}")
        for i, value in enumerate(values):
            kr = await make_kr(t, obj, title=f"Reach the number {i}", start="0", target="100")
            await check_in(t, kr, value=value)
        await publish(t, obj)

    await aspirational("alice", ("70", "75"))  # 0.725: A with it
    await aspirational("bob", ("50", "50"))  # 0.5
    await aspirational("carol", ("80", "80"))  # 0.8 but rating B
    await aspirational("dave", ("90", "90"), kind="committed")  # committed objectives never nominate
    plan = await make_plan(t, q4, kind="okr_breakthrough", params={"nomination_kind": "training"})
    assert plan["params"] == {
        "min_objective_score": "0.7",
        "ratings": ["S", "A"],
        "nomination_kind": "training",
        "history_cycles": 1,
        "min_breakthrough_cycles": 1,
        "min_average_okr_score": None,
        "eligibility": plan["params"]["eligibility"],
    }
    report = await run(t, plan)
    got = by_employee(t, await results_of(t, plan))
    assert set(got) == {"alice"}
    alice = got["alice"]
    assert (alice["kind"], alice["nomination"], alice["amount_minor"], alice["currency"]) == (
        "nomination",
        "training",
        None,
        None,
    )
    assert alice["inputs"]["score"]["rating"] == "A"
    assert alice["inputs"]["objectives"][0]["score_rounded"] == "0.7250"
    assert report["total_minor"] is None and report["skipped"]["not_nominated"] == 3
    listed = await t.client.get("/api/v1/nominations", headers=t.hr, params={"kind": "training"})
    assert [n["id"] for n in listed.json()["items"]] == [alice["id"]]
