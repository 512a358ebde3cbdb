"""The briefs against hand-built data (tests/briefs/conftest.py): exactly which key results
and KPIs a team brief lists and why, the one-on-one's objectives, feedback and tasks,
the quarterly review's figures equal to the engine's as the API shows them, pre-filling a
review meeting, the interview brief, and the Markdown rendering."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.briefs.conftest import Scene, at, day
from tests.conftest import statement_hook
from tests.evaluations.conftest import ask
from tests.okr.conftest import check_in, make_kr, make_objective, publish


async def _get(s: Scene, path: str, headers: dict[str, str] | None = None, expect: int = 200) -> Any:
    r = await s.t.client.get(path, headers=headers or s.t.hr)
    assert r.status_code == expect, r.text
    return r.json() if expect == 200 else r


def _team(s: Scene, since: int = -7) -> str:
    return f"/api/v1/departments/{s['dep']}/team-brief?from={day(-7)}&to={day(1)}&since={day(since)}"


async def test_team_brief_lists_exactly_the_key_results_off_pace_dropped_or_stale(scene: Scene):
    s = scene
    brief = await _get(s, _team(s))
    assert brief["period"] == {"from": day(-7), "to": day(1)}
    assert brief["as_of"] == day(0)
    assert set(brief["employee_ids"]) == {s["lead"], s["alice"], s["bob"]}
    listed = {k["key_result_id"]: k for k in brief["key_results"]}
    assert set(listed) == {s["kr_off"], s["kr_drop"], s["kr_stale"]}  # never the one on pace
    codes = {k: [r["code"] for r in v["reasons"]] for k, v in listed.items()}
    assert codes == {
        s["kr_off"]: ["off_pace"],
        s["kr_drop"]: ["confidence_dropped"],
        s["kr_stale"]: ["check_in_overdue"],
    }

    off = listed[s["kr_off"]]
    kr = await _get(s, f"/api/v1/key-results/{s['kr_off']}")
    assert off["pace"] == kr["pace"] == "off_track"  # the pace the API shows
    assert Decimal(off["progress"]) == Decimal(kr["progress"]) == Decimal("0.05")
    figures = off["reasons"][0]["figures"]
    assert figures["pace"] == "off_track" and Decimal(figures["progress"]) == Decimal("0.05")
    assert Decimal(figures["expected_progress"]) == Decimal("0.5")  # 30 of 60 days

    drop = listed[s["kr_drop"]]["reasons"][0]["figures"]
    assert (drop["before"], drop["latest"]) == (8, 4)
    stale = listed[s["kr_stale"]]["reasons"][0]["figures"]
    assert stale["due"] == day(-3) and stale["cadence_days"] == 7 and stale["days_overdue"] == 3
    assert listed[s["kr_stale"]]["owner_id"] == s["alice"]


async def test_a_confidence_drop_counts_from_since(scene: Scene):
    s = scene
    # both check-ins of the dropped key result are after `since`: nothing to compare with
    brief = await _get(s, _team(s, since=-15))
    assert s["kr_drop"] not in {k["key_result_id"] for k in brief["key_results"]}


async def test_team_brief_kpis_below_threshold_in_both_directions(scene: Scene):
    s = scene
    brief = await _get(s, _team(s))
    kpis = {k["assignment_id"]: k for k in brief["kpis"]}
    assert set(kpis) == {s["alice_deals"], s["alice_churn"], s["bob_band"]}
    assert kpis[s["bob_band"]]["reasons"] == [
        {"code": "out_of_range", "figures": {"value": "5", "range_low": "2", "range_high": "4"}}
    ]
    deals = kpis[s["alice_deals"]]
    assert deals["reasons"] == [
        {
            "code": "below_threshold",
            "figures": {"value": "50", "measured_at": day(-2), "threshold": "60", "direction": "higher_is_better"},
        }
    ]
    churn = kpis[s["alice_churn"]]["reasons"][0]
    assert churn["code"] == "below_threshold"
    assert churn["figures"]["value"] == "12" and churn["figures"]["threshold"] == "10"
    assert churn["figures"]["direction"] == "lower_is_better"


async def test_team_brief_carries_open_improvement_actions(scene: Scene):
    s = scene
    actions = (await _get(s, _team(s)))["actions"]
    got = {a["title"]: [r["code"] for r in a["reasons"]] for a in actions}
    assert got == {"Call every lapsed account": ["overdue"], "Train bob": ["open"]}  # the done one is gone
    assert all(a["source"] == "review_meeting" and a["source_id"] == s["earlier"] for a in actions)


async def test_team_brief_shows_only_what_the_caller_may_read(scene: Scene):
    s = scene
    t = s.t
    lead = await _get(s, _team(s), t.employee("lead"))
    assert {k["assignment_id"] for k in lead["kpis"]} == {s["alice_deals"], s["alice_churn"], s["bob_band"]}
    bob = await _get(s, _team(s), t.employee("bob"))  # his own KPIs only
    assert {k["assignment_id"] for k in bob["kpis"]} == {s["bob_band"]}
    carol = await _get(s, _team(s), t.employee("carol"))  # no report in the team
    assert carol["kpis"] == [] and carol["actions"] == []
    assert {k["key_result_id"] for k in carol["key_results"]} == {s["kr_off"], s["kr_drop"], s["kr_stale"]}
    r = await t.client.patch(
        f"/api/v1/objectives/{s['obj']}",
        json={"visibility": "private"},
        headers={
            **t.hr,
            "If-Match": (await t.client.get(f"/api/v1/objectives/{s['obj']}", headers=t.hr)).headers["ETag"],
        },
    )
    assert r.status_code == 200, r.text
    assert (await _get(s, _team(s), t.employee("carol")))["key_results"] == []
    assert len((await _get(s, _team(s), t.employee("lead")))["key_results"]) == 3


async def test_team_brief_refuses_bad_periods_and_unknown_departments(scene: Scene):
    s = scene
    bad = await _get(s, f"/api/v1/departments/{s['dep']}/team-brief?from={day(0)}&to={day(0)}", expect=422)
    assert bad.headers["content-type"].startswith("application/problem+json")
    await _get(s, f"/api/v1/departments/{s['dep']}/team-brief?from={day(0)}&to={day(-1)}", expect=422)
    await _get(s, f"/api/v1/departments/{s['dep']}/team-brief?from=yesterday", expect=422)
    for edge in ("from=9999-12-31", "to=0001-01-01", "from=0001-01-01&to=0001-01-02"):
        r = await s.t.client.get(f"/api/v1/departments/{s['dep']}/team-brief?{edge}", headers=s.t.hr)
        assert r.status_code in (200, 422), (edge, r.text)
    await _get(s, f"/api/v1/employees/{s['alice']}/one-on-one-brief?to=0001-01-01", expect=422)
    # the default period: the seven days up to today included
    default = await _get(s, f"/api/v1/departments/{s['dep']}/team-brief")
    assert default["period"] == {"from": day(-6), "to": day(1)} and default["since"] == day(-6)
    assert (await _get(s, f"/api/v1/departments/{s['dep']}/team-brief?from={day(-3)}"))["period"]["to"] == day(4)
    await _get(s, f"/api/v1/departments/{s['dep']}/team-brief?from={day(-500)}&to={day(0)}", expect=422)
    await _get(s, f"/api/v1/departments/{s['ev']}/team-brief?from={day(-7)}&to={day(0)}", expect=404)


async def test_team_brief_markdown(scene: Scene):
    s = scene
    r = await s.t.client.get(_team(s) + "&format=markdown", headers=s.t.hr)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/markdown")
    text = r.text
    assert text.startswith("# Team brief")
    assert "Grow accounts from 0 to 100" in text and "off\\_pace" not in text and "off_pace" in text
    assert "Grow revenue from 0 to 100" not in text  # on pace: not listed
    assert "## KPIs below threshold" in text and "below_threshold" in text


async def test_one_on_one_brief(scene: Scene):
    s = scene
    t = s.t
    ev = {"id": s["ev"]}
    await ask(t, ev, "bob", t.employee("lead"))  # bob owes alice peer feedback
    path = f"/api/v1/employees/{s['alice']}/one-on-one-brief?from={day(-7)}&to={day(1)}"
    brief = await _get(s, path, t.employee("lead"))
    assert [o["objective_id"] for o in brief["objectives"]] == [s["obj"]]
    obj = brief["objectives"][0]
    api = await _get(s, f"/api/v1/objectives/{s['obj']}")
    assert Decimal(obj["score"]) == Decimal(api["score"]) and Decimal(obj["progress"]) == Decimal(api["progress"])
    last = {k["key_result_id"]: k["last_check_in"] for k in obj["key_results"]}
    assert last[s["kr_drop"]]["confidence"] == 4 and Decimal(last[s["kr_drop"]]["value"]) == 60
    assert [f["evaluation_id"] for f in brief["feedback"]] == [s["ev"]]
    tasks = {(x["kind"], x["subject"]["id"]) for x in brief["tasks"]}
    assert tasks == {
        ("self_review", s["ev"]),
        ("check_in_overdue", s["kr_stale"]),
        ("improvement_action", s["earlier"]),  # "Call every lapsed account", still open
    }

    # bob's own work includes the request; his manager's brief of him does not say whom he reviews
    bob_path = f"/api/v1/employees/{s['bob']}/one-on-one-brief?from={day(-7)}&to={day(1)}"
    own = await _get(s, bob_path, t.employee("bob"))
    assert "peer_feedback" in {x["kind"] for x in own["tasks"]}
    seen = await _get(s, bob_path, t.employee("lead"))
    assert "peer_feedback" not in {x["kind"] for x in seen["tasks"]}

    await _get(s, path, t.employee("bob"), expect=404)  # a peer: not theirs to read
    md = await s.t.client.get(path + "&format=markdown", headers=t.employee("alice"))
    assert md.status_code == 200 and "# One-on-one brief" in md.text and "Win the northern region" in md.text


async def _meeting(s: Scene, prefill: bool = True, **body: Any) -> Any:
    r = await s.t.client.post(
        "/api/v1/review-meetings",
        headers=s.t.employee("lead"),
        json={"subject": {"kind": "evaluation", "id": s["ev"]}, "held_on": day(0), "prefill": prefill, **body},
    )
    return r


async def test_quarterly_review_brief_is_the_engines_numbers(scene: Scene):
    s = scene
    r = await _meeting(s)
    assert r.status_code == 201, r.text
    meeting = r.json()
    brief = await _get(s, f"/api/v1/review-meetings/{meeting['id']}/brief", s.t.employee("lead"))
    assert brief["scope"] == {"kind": "employees", "objective_id": None, "employee_ids": [s["alice"]]}
    assert brief["cycle_id"] == s["cycle"]
    [obj] = brief["objectives"]
    api = await _get(s, f"/api/v1/objectives/{s['obj']}")
    assert Decimal(obj["score"]) == Decimal(api["score"])
    assert Decimal(obj["gap"]) == 1 - Decimal(api["score"]) and Decimal(obj["target"]) == 1
    kpis = {k["assignment_id"]: k for k in brief["kpis"]}
    assert set(kpis) == {s["alice_deals"], s["alice_churn"]}
    for key, gap in (("alice_deals", Decimal(50)), ("alice_churn", Decimal(7))):
        engine = await _get(s, f"/api/v1/kpi-assignments/{s[key]}")
        k = kpis[s[key]]
        assert Decimal(k["actual"]) == Decimal(engine["actual"])
        assert Decimal(k["points"]) == Decimal(engine["points"])
        assert Decimal(k["gap"]) == gap  # target 100 - 50; 12 - target 5
        assert Decimal(k["points_gap"]) == Decimal(k["target_points"]) - Decimal(engine["points"])
    plan = brief["previous_review"]
    assert plan["review_meeting_id"] == s["earlier"]
    assert [(a["action"], a["status"], a["overdue"]) for a in plan["improvement_plan"]] == [
        ("Call every lapsed account", "open", True),
        ("Write the playbook", "done", False),
        ("Train bob", "in_progress", False),
    ]
    # pre-filled from the same brief, not typed
    assert meeting["result_data"]["objectives"] == brief["objectives"]
    assert meeting["result_data"]["kpis"] == brief["kpis"]
    assert "Win the northern region" in meeting["gap"] and "deals" in meeting["gap"]
    md = await s.t.client.get(f"/api/v1/review-meetings/{meeting['id']}/brief?format=markdown", headers=s.t.hr)
    assert md.status_code == 200 and "Call every lapsed account" in md.text and "overdue" in md.text


async def test_prefill_replaces_typed_result_data_and_typed_input_still_works(scene: Scene):
    s = scene
    typed = await _meeting(s, prefill=False, result_data={"revenue": 5}, gap="typed")
    assert typed.status_code == 201, typed.text
    assert typed.json()["result_data"] == {"revenue": 5} and typed.json()["gap"] == "typed"
    both = await _meeting(s, result_data={"revenue": 5})
    assert both.status_code == 422, both.text
    m = typed.json()
    etag = typed.headers["ETag"]
    r = await s.t.client.post(
        f"/api/v1/review-meetings/{m['id']}/prefill", headers={**s.t.employee("lead"), "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    assert [o["objective_id"] for o in r.json()["result_data"]["objectives"]] == [s["obj"]]
    stale = await s.t.client.post(
        f"/api/v1/review-meetings/{m['id']}/prefill", headers={**s.t.employee("lead"), "If-Match": etag}
    )
    assert stale.status_code == 412


async def test_interview_brief(scene: Scene):
    s = scene
    t = s.t
    r = await t.client.post(
        f"/api/v1/evaluations/{s['ev']}/submit_self",
        headers=t.employee("alice"),
        json={"self_review": {"rating": 4, "comments": "Strong quarter"}},
    )
    assert r.status_code == 200, r.text
    i = await t.client.post(
        "/api/v1/interviews", headers=t.employee("lead"), json={"evaluation_id": s["ev"], "plan": "Talk about Q2"}
    )
    assert i.status_code == 201, i.text
    path = f"/api/v1/interviews/{i.json()['id']}/brief"
    brief = await _get(s, path, t.employee("alice"))
    assert brief["self_review"]["comments"] == "Strong quarter"
    assert brief["manager_review"] is None
    score = await _get(s, f"/api/v1/cycles/{s['cycle']}/scores/{s['alice']}")
    assert brief["score"]["final"] == score["final"] and brief["score"]["components"] == score["components"]
    assert brief["evaluation"]["id"] == s["ev"]
    await _get(s, path, t.employee("bob"), expect=404)
    md = await t.client.get(path + "?format=markdown", headers=t.employee("lead"))
    assert md.status_code == 200 and "Strong quarter" in md.text


async def test_graphql_answers_the_rest_document(scene: Scene):
    s = scene
    doc = """query($d: ID!, $from: Date, $to: Date, $since: Date) {
        teamBrief(departmentId: $d, from: $from, to: $to, since: $since) { kind document markdown } }"""
    variables = {"d": s["dep"], "from": day(-7), "to": day(1), "since": day(-7)}
    r = await s.t.client.post("/graphql", json={"query": doc, "variables": variables}, headers=s.t.hr)
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    got = r.json()["data"]["teamBrief"]
    assert got["kind"] == "team"
    assert got["document"] == await _get(s, _team(s))
    assert got["markdown"] == (await s.t.client.get(_team(s) + "&format=markdown", headers=s.t.hr)).text

    r = await s.t.client.post(
        "/graphql",
        json={
            "query": "mutation($id: ID!) { prefillReviewMeeting(id: $id) { id resultData gap } }",
            "variables": {"id": s["earlier"]},
        },
        headers=s.t.employee("lead"),
    )
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    meeting = r.json()["data"]["prefillReviewMeeting"]
    assert [o["objective_id"] for o in meeting["resultData"]["objectives"]] == [s["obj"]]


async def test_a_team_brief_costs_the_same_statements_whatever_the_team_holds(scene: Scene):
    s = scene
    t = s.t

    async def count() -> tuple[int, int]:
        seen: list[str] = []
        with statement_hook(seen.append):
            brief = await _get(s, _team(s))
        return len(brief["key_results"]), len([x for x in seen if x.lstrip().upper().startswith(("SELECT", "WITH"))])

    few = await count()
    obj = await make_objective(t, s.rows["cycle"], "bob", title="Open the western region")
    krs = [await make_kr(t, obj, title=f"Grow {n} from 0 to 100") for n in ("calls", "visits", "trials")]
    await publish(t, obj)
    for kr in krs:
        await check_in(t, kr, value="1", confidence=5, checked_in_at=at(-1))
    many = await count()
    assert (few[0], many[0]) == (3, 6)  # three more off pace
    assert few[1] == many[1], (few, many)
