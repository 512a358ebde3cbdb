"""okr_breakthrough plans over several cycles, through the API: four quarterly cycles
(one closed, so its results are of record), objectives graded in each, a plan with
`history_cycles` 4; its nominations, skip reasons and window in `inputs`, the
`nomination.created` events, the one name `nomination_kind` on both lists and in the
contract (the old names deprecated), and GraphQL's `nominationKind`."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.incentives.conftest import by_employee, give_scores, make_plan, outbox, results_of, run
from tests.kpi.conftest import close_cycle
from tests.okr.conftest import check_in, make_kr, make_objective, publish


async def cycle(t: Tenant, name: str, start: str, end: str, cadence: str = "quarterly") -> dict[str, Any]:
    resp = await t.client.post(
        "/api/v1/cycles", headers=t.hr, json={"name": name, "cadence": cadence, "start_date": start, "end_date": end}
    )
    assert resp.status_code == 201, resp.text
    out = resp.json()
    r = await t.client.post(f"/api/v1/cycles/{out['id']}/transition", headers=t.hr, json={"to": "active"})
    assert r.status_code == 200, r.text
    return r.json()


async def objective(t: Tenant, c: dict[str, Any], owner: str, value: str, kind: str = "aspirational") -> None:
    obj = await make_objective(t, c, owner, type=kind, title=f"{kind} goal of {owner} in {c['name']}")
    for i in range(2):  # two key results, both at `value` (an objective needs at least two)
        kr = await make_kr(t, obj, title=f"Reach the number {i}", start="0", target="100")
        await check_in(t, kr, value=value)
    await publish(t, obj)


async def quarters(t: Tenant) -> dict[str, dict[str, Any]]:
    """2025 Q4 (outside a four-quarter window), 2026 Q1–Q4, 2027 Q1 (after the plan's
    cycle) and the 2026 year (another cadence)."""
    spans = {
        "q0": ("2025 Q4", "2025-10-01", "2025-12-31"),
        "q1": ("2026 Q1", "2026-01-01", "2026-03-31"),
        "q2": ("2026 Q2", "2026-04-01", "2026-06-30"),
        "q3": ("2026 Q3", "2026-07-01", "2026-09-30"),
        "q4": ("2026 Q4", "2026-10-01", "2026-12-31"),
        "next": ("2027 Q1", "2027-01-01", "2027-03-31"),
    }
    out = {key: await cycle(t, *span) for key, span in spans.items()}
    out["year"] = await cycle(t, "FY2026", "2026-01-01", "2026-12-31", cadence="annual")
    return out


async def history_world(t: Tenant) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    cs = await quarters(t)
    await give_scores(t, cs["q4"], {"alice": 100, "bob": 100, "carol": 100, "dave": 100})
    # alice: breakthroughs in Q4, Q3 and Q2, nothing in Q1: 3 of 4, mean grade (0.8 + 0.75 + 0.7) / 3 = 0.75
    for key, value in (("q4", "80"), ("q3", "75"), ("q2", "70")):
        await objective(t, cs[key], "alice", value)
    # bob: breakthroughs in Q4 and Q1 only (committed objectives elsewhere): 2 of 4
    await objective(t, cs["q4"], "bob", "90")
    await objective(t, cs["q1"], "bob", "90")
    await objective(t, cs["q3"], "bob", "100", kind="committed")
    # carol: three breakthroughs, but a weak committed objective beside the earlier two:
    # grades 0.7, 0.4 and 0.4, mean 0.5
    for key in ("q4", "q3", "q2"):
        await objective(t, cs[key], "carol", "70")
    for key in ("q3", "q2"):
        await objective(t, cs[key], "carol", "10", kind="committed")
    # dave: Q4, then only cycles the window never holds: 2025 Q4, 2027 Q1 and the year
    for key in ("q4", "q0", "next", "year"):
        await objective(t, cs[key], "dave", "95")
    await close_cycle(t, cs["q2"])  # Q2's results become scores of record
    plan = await make_plan(
        t,
        cs["q4"],
        kind="okr_breakthrough",
        name="Four quarters",
        params={
            "nomination_kind": "training",
            "history_cycles": 4,
            "min_breakthrough_cycles": 3,
            "min_average_okr_score": "0.6",
        },
    )
    return cs, plan


async def test_four_quarters_through_the_api(team: Tenant):
    t = team
    cs, plan = await history_world(t)
    assert {k: plan["params"][k] for k in ("history_cycles", "min_breakthrough_cycles", "min_average_okr_score")} == {
        "history_cycles": 4,
        "min_breakthrough_cycles": 3,
        "min_average_okr_score": "0.6",
    }
    report = await run(t, plan)
    got = by_employee(t, await results_of(t, plan))
    assert set(got) == {"alice"}
    reasons = {s["employee_id"]: s["reason"] for s in report["skipped_employees"]}
    ids = {k: e["id"] for k, e in t.employees.items()}
    assert reasons[ids["bob"]] == "too_few_breakthrough_cycles"
    assert reasons[ids["carol"]] == "okr_average_below_minimum"
    assert reasons[ids["dave"]] == "too_few_breakthrough_cycles"
    assert report["skipped"]["too_few_breakthrough_cycles"] == 2

    alice = got["alice"]
    assert (alice["nomination"], alice["nomination_kind"]) == ("training", "training")
    window = alice["inputs"]["window"]
    assert [c["id"] for c in window["cycles"]] == [cs[k]["id"] for k in ("q4", "q3", "q2", "q1")]
    assert [c["official"] for c in window["cycles"]] == [False, False, True, False]
    assert [c["breakthrough"] for c in window["cycles"]] == [True, True, True, False]
    assert window["cycles"][1]["qualifying_objectives"][0]["score_rounded"] == "0.7500"
    assert window["cycles"][1]["start"] == "2026-07-01" and window["cycles"][1]["name"] == "2026 Q3"
    assert (window["cycles_counted"], window["breakthrough_cycles"], window["okr_average_rounded"]) == (
        4,
        3,
        "0.7500",
    )
    assert alice["inputs"]["criteria"]["min_average_okr_score"] == "0.6"

    [created] = await outbox(t, "nomination.created")
    assert created == {
        "nomination_id": alice["id"],
        "plan_id": plan["id"],
        "cycle_id": cs["q4"]["id"],
        "employee_id": ids["alice"],
        "nomination_kind": "training",
        "cycles_counted": 4,
        "window_cycle_ids": [cs[k]["id"] for k in ("q4", "q3", "q2", "q1")],
    }
    # a re-run replaces the draft and announces the new one
    again = await run(t, plan)
    later = await outbox(t, "nomination.created")
    assert len(later) == 2 and later[1]["nomination_id"] == again["result_ids"][0]


async def test_one_name_for_the_nomination_kind(team: Tenant):
    t = team
    cs, plan = await history_world(t)
    await run(t, plan)
    [alice] = await results_of(t, plan)

    async def ids(path: str, **params: Any) -> list[str] | int:
        resp = await t.client.get(path, headers=t.hr, params=params)
        if resp.status_code != 200:
            assert resp.headers["content-type"].startswith("application/problem+json")
            return resp.status_code
        return [i["id"] for i in resp.json()["items"]]

    for name in ("nomination_kind", "kind"):
        assert await ids("/api/v1/nominations", **{name: "training"}) == [alice["id"]]
        assert await ids("/api/v1/nominations", **{name: "promotion_track"}) == []
    for name in ("nomination_kind", "nomination"):
        assert await ids("/api/v1/incentive-results", plan_id=plan["id"], **{name: "training"}) == [alice["id"]]
        assert await ids("/api/v1/incentive-results", plan_id=plan["id"], **{name: "promotion_track"}) == []
    assert await ids("/api/v1/nominations", nomination_kind="training", kind="training") == [alice["id"]]
    assert await ids("/api/v1/nominations", nomination_kind="training", kind="promotion_track") == 422
    assert await ids("/api/v1/incentive-results", nomination_kind="training", nomination="promotion_track") == 422
    one = (await t.client.get(f"/api/v1/nominations/{alice['id']}", headers=t.hr)).json()
    assert (one["nomination_kind"], one["kind"]) == ("training", "training")

    resp = await t.client.post(f"/api/v1/nominations/{alice['id']}/approve", headers=t.hr)
    assert resp.status_code == 200, resp.text
    [decided] = await outbox(t, "nomination.decided")
    assert (decided["nomination_kind"], decided["kind"]) == ("training", "training")

    query = """query($kind: NominationKind) {
        nominations(nominationKind: $kind) { edges { node { databaseId nominationKind kind } } }
        incentiveResults(nominationKind: $kind) { edges { node { databaseId nominationKind nomination } } }
    }"""
    for kind, expected in (("TRAINING", [alice["id"]]), ("PROMOTION_TRACK", [])):
        resp = await t.client.post("/graphql", headers=t.hr, json={"query": query, "variables": {"kind": kind}})
        assert resp.status_code == 200, resp.text
        data = resp.json()["data"]
        assert [e["node"]["databaseId"] for e in data["nominations"]["edges"]] == expected
        assert [e["node"]["databaseId"] for e in data["incentiveResults"]["edges"]] == expected
        for e in data["nominations"]["edges"] + data["incentiveResults"]["edges"]:
            assert e["node"]["nominationKind"] == "TRAINING"


async def test_window_parameters_are_validated(team: Tenant, q4):
    t = team
    bad = await make_plan(
        t, q4, kind="okr_breakthrough", expect=422, params={"history_cycles": 2, "min_breakthrough_cycles": 3}
    )
    assert bad["status"] == 422
    for params in ({"history_cycles": 9}, {"history_cycles": 0}, {"min_average_okr_score": "1.5"}):
        await make_plan(t, q4, kind="okr_breakthrough", expect=422, params=params)
    plan = await make_plan(t, q4, kind="okr_breakthrough", params={"history_cycles": 4, "min_breakthrough_cycles": 3})
    resp = await t.client.patch(
        f"/api/v1/incentive-plans/{plan['id']}", headers=t.hr, json={"params": {"history_cycles": 2}}
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    resp = await t.client.patch(
        f"/api/v1/incentive-plans/{plan['id']}", headers=t.hr, json={"params": {"min_breakthrough_cycles": None}}
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["params"]["history_cycles"], resp.json()["params"]["min_breakthrough_cycles"]) == (4, 1)
    query = """query($id: ID!) { incentivePlan(id: $id) { params } }"""
    resp = await t.client.post("/graphql", headers=t.hr, json={"query": query, "variables": {"id": plan["id"]}})
    assert resp.json()["data"]["incentivePlan"]["params"]["history_cycles"] == 4


def test_the_contract_marks_the_old_names_deprecated(app: Any):
    doc = app.openapi()

    def parameter(path: str, name: str) -> dict[str, Any]:
        [p] = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name]
        return p

    assert parameter("/api/v1/nominations", "kind").get("deprecated") is True
    assert parameter("/api/v1/incentive-results", "nomination").get("deprecated") is True
    assert "deprecated" not in parameter("/api/v1/nominations", "nomination_kind")
    assert "deprecated" not in parameter("/api/v1/incentive-results", "nomination_kind")
    schemas = doc["components"]["schemas"]
    assert schemas["NominationRead"]["properties"]["kind"].get("deprecated") is True
    assert "nomination_kind" in schemas["NominationRead"]["required"]
    assert "nomination_kind" in schemas["IncentiveResultRead"]["properties"]
    decided = doc["webhooks"]["nomination.decided"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "nomination.created" in doc["webhooks"]
    assert decided  # the payload's own schema is a component
    payload = schemas["NominationDecided"]
    assert payload["properties"]["kind"].get("deprecated") is True
    assert "nomination_kind" in payload["properties"]
    params = schemas["OkrBreakthroughParams"]["properties"]
    assert {"history_cycles", "min_breakthrough_cycles", "min_average_okr_score"} <= set(params)
