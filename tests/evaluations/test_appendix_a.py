"""SPEC Appendix A through the API alone: the specialist's KPIs and OKRs, a policy with
weights 0.6 / 0.3 / 0.1, and the evaluation (manager rating 4 of 5 = 80.00 points).
Without a submitted manager rating the composite is 94.24 (reweighted); with it 92.81,
rating B; a calibration adjustment of -2.5 gives final 90.31, still B."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.evaluations.conftest import act, get, open_evaluation, transition
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure
from tests.okr.conftest import check_in, make_kr, make_objective, publish


async def kpis(t: Tenant, cycle: dict[str, Any]) -> None:
    gmv = await make_definition(t, "GMV", "higher_is_better", "sum")
    rr = await make_definition(t, "RETURN_RATE", "lower_is_better", "avg")
    csat = await make_definition(t, "CSAT", "target_range", "last")
    conv = await make_definition(t, "CONVERSION", "higher_is_better", "last")
    a = await make_assignment(
        t, "alice", cycle, gmv, method="banded", weight=40, threshold=1000000, target=1200000, stretch=1400000
    )
    for value, day in ((410000, "2026-10-31"), (380000, "2026-11-15"), (395000, "2026-11-20")):
        await measure(t, a, value, day)
    a = await make_assignment(
        t, "alice", cycle, rr, method="banded", weight=20, threshold="0.05", target="0.04", stretch="0.03"
    )
    for value, day in (("0.041", "2026-10-31"), ("0.038", "2026-11-15"), ("0.036", "2026-11-20")):
        await measure(t, a, value, day)
    a = await make_assignment(
        t, "alice", cycle, csat, method="range", weight=20, range_low="4.5", range_high="4.8", tolerance="0.25"
    )
    await measure(t, a, "4.45", "2026-11-20")
    a = await make_assignment(t, "alice", cycle, conv, method="ratio", weight=20, target="0.03")
    await measure(t, a, "0.031", "2026-11-20")


async def okrs(t: Tenant, cycle: dict[str, Any]) -> None:
    company = await make_objective(t, cycle, "boss", title="Become the favourite online retailer")
    await make_kr(t, company, title="Online revenue reaches 12M", start="0", target="12000000")
    await make_kr(t, company, title="Repeat purchases reach 30%", start="18", target="30")
    await publish(t, company)

    o1 = await make_objective(
        t,
        cycle,
        "alice",
        title="Turn live streams into a sales channel",
        level="individual",
        type="aspirational",
        parent_id=company["id"],
    )
    live = await make_kr(t, o1, title="Live-stream sales reach 50000", start="0", target="50000", weight=2)
    complaints = await make_kr(t, o1, title="Delivery complaints fall from 8 to 5", start="8", target="5")
    show = await make_kr(
        t,
        o1,
        title="Weekly show is live",
        kind="milestone",
        start=None,
        target=None,
        milestones=[
            {"title": "Pilot aired", "weight": 1},
            {"title": "Sponsor signed", "weight": 1},
            {"title": "Ten shows aired", "weight": 2},
        ],
    )
    await publish(t, o1)
    await check_in(t, live, value="36000")
    await check_in(t, complaints, value="6.5")
    await check_in(t, show, milestone=0, done=True)
    await check_in(t, show, milestone=1, done=True)

    o2 = await make_objective(
        t,
        cycle,
        "alice",
        title="Make checkout effortless",
        level="individual",
        type="committed",
        parent_id=company["id"],
    )
    app = await make_kr(t, o2, title="One-tap checkout is live", kind="boolean", start=None, target=None)
    nps = await make_kr(t, o2, title="Checkout satisfaction from 20 to 100", start="20", target="100")
    await publish(t, o2)
    await check_in(t, app, done=True)
    await check_in(t, nps, value="90")


async def test_appendix_a_through_the_api(team: Tenant):
    t = team
    policy = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={"name": "Appendix A", "scope": {"kind": "organization"}, "w_kpi": "0.6", "w_okr": "0.3", "w_eval": "0.1"},
    )
    assert policy.status_code == 201, policy.text
    cycle = await make_cycle(t, "2026-10-01", "2026-12-31", name="FY2026 Q4", status="active")
    await kpis(t, cycle)
    await okrs(t, cycle)
    alice = t.employees["alice"]["id"]
    path = f"/api/v1/cycles/{cycle['id']}/scores/{alice}"

    ev = await open_evaluation(t, "alice", cycle)
    await act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 4})
    draft = await t.client.patch(
        f"/api/v1/evaluations/{ev['id']}", headers=t.employee("lead"), json={"manager_review": {"rating": 4}}
    )
    assert draft.status_code == 200
    score = await get(t, path)
    assert (score["components"]["kpi"], score["components"]["okr"]) == ("96.13", "90.45")
    assert score["components"]["eval"] is None and score["composite"] == "94.24"
    assert "reweighted" in score["flags"]

    await act(t, ev, "submit_manager", t.employee("lead"))
    score = await get(t, path)
    assert score["components"] == {"kpi": "96.13", "okr": "90.45", "eval": "80.00"}
    assert (score["composite"], score["final"], score["rating"]) == ("92.81", "92.81", "B")
    assert "reweighted" not in score["flags"]

    await transition(t, cycle, "review")
    cal = await t.client.post(
        "/api/v1/calibrations",
        headers=t.hr,
        json={"cycle_id": cycle["id"], "name": "E-commerce", "employee_ids": [alice]},
    )
    assert cal.status_code == 201, cal.text
    adj = await t.client.post(
        f"/api/v1/calibrations/{cal.json()['id']}/adjustments",
        headers=t.hr,
        json={"employee_id": alice, "delta": "-2.5", "reason": "Appendix A calibration"},
    )
    assert adj.status_code == 201, adj.text
    score = await get(t, path)
    assert (score["composite"], score["calibration_delta"], score["final"], score["rating"]) == (
        "92.81",
        "-2.50",
        "90.31",
        "B",
    )
    dist = await get(t, f"/api/v1/calibrations/{cal.json()['id']}/distribution")
    assert dist["employees"][0]["final"] == "90.31" and dist["employees"][0]["rating"] == "B"
