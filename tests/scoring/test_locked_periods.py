"""Locked periods (SPEC section 9, service/scoring/locks.py): once alice's result in Q4 is
official (her calibration session finalized) or Q4 is closed, every write of a scoring
input of hers in Q4 or in its December child answers 409 `cycle_locked` and changes
nothing, through REST and GraphQL; closing Q4 closes December with it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from service.db import database
from service.kit.models import AuditEvent, OutboxEvent
from tests.conftest import Tenant
from tests.evaluations.conftest import act as ev_act
from tests.evaluations.conftest import ask, open_evaluation
from tests.kpi.conftest import make_assignment, make_definition, measure
from tests.okr.conftest import make_kr, make_objective, publish
from tests.org.test_graphql_org import gql

Q4 = ("2026-10-01", "2026-12-31")
DEC = ("2026-12-01", "2026-12-31")


@dataclass
class World:
    t: Tenant
    ids: dict[str, str] = field(default_factory=dict)


async def transition(t: Tenant, cycle_id: str, *steps: str) -> dict[str, Any]:
    for to in steps:
        resp = await t.client.post(f"/api/v1/cycles/{cycle_id}/transition", headers=t.hr, json={"to": to})
        assert resp.status_code == 200, resp.text
    return resp.json()


async def _inputs(
    t: Tenant, cycle: dict[str, Any], prefix: str, ids: dict[str, str], definition: dict[str, Any], day: str
) -> None:
    """alice's published objective with two key results, a draft objective, a KPI
    assignment with a measurement, all in `cycle`."""
    obj = await make_objective(t, cycle, "alice", title=f"{prefix} objective")
    kr = await make_kr(t, obj, title="Revenue", start="0", target="100")
    await make_kr(t, obj, title="Launch", kind="boolean", start=None, target=None)
    await publish(t, obj)
    draft = await make_objective(t, cycle, "alice", title=f"{prefix} draft")
    asg = await make_assignment(t, "alice", cycle, definition, method="ratio", target=100)
    await measure(t, asg, "90", day)
    await measure(t, asg, "30", day.replace("-15", "-20"))
    ids.update(
        {
            f"{prefix}": cycle["id"],
            f"{prefix}_obj": obj["id"],
            f"{prefix}_kr": kr["id"],
            f"{prefix}_draft": draft["id"],
            f"{prefix}_asg": asg["id"],
            f"{prefix}_day": day,
        }
    )


async def build(t: Tenant, lock: str) -> World:
    """Q4 (custom) holding December; alice's inputs in both, her Q4 evaluation reviewed
    with bob asked for 360 feedback, a calibration session over her; then the lock:
    `calibration` finalizes her session (her Q4 result becomes official), `closed`
    closes Q4 (and December with it) while the session is still open."""
    resp = await t.client.post(
        "/api/v1/cycles",
        headers=t.hr,
        json={"name": "Q4", "cadence": "quarterly", "start_date": Q4[0], "end_date": Q4[1]},
    )
    q4 = resp.json()
    resp = await t.client.post(
        "/api/v1/cycles",
        headers=t.hr,
        json={
            "name": "December",
            "cadence": "monthly",
            "start_date": DEC[0],
            "end_date": DEC[1],
            "parent_id": q4["id"],
        },
    )
    dec = resp.json()
    await transition(t, q4["id"], "active")
    await transition(t, dec["id"], "active")
    ids: dict[str, str] = {
        "alice": t.employees["alice"]["id"],
        "bob": t.employees["bob"]["id"],
        "carol": t.employees["carol"]["id"],
    }
    sales = await make_definition(t, "SALES", "higher_is_better", "sum")
    spare = await make_definition(t, "SPARE", "higher_is_better", "last")
    ids["spare"] = spare["id"]
    await _inputs(t, q4, "q4", ids, sales, "2026-10-15")
    await _inputs(t, dec, "dec", ids, sales, "2026-12-15")
    pos = (await t.client.post("/api/v1/positions", headers=t.hr, json={"name": "Analyst"})).json()
    tpl = await t.client.post(
        "/api/v1/kpi-templates",
        headers=t.hr,
        json={"position_id": pos["id"], "items": [{"definition_id": spare["id"], "method": "ratio", "target": "1"}]},
    )
    assert tpl.status_code == 201, tpl.text
    ids["tpl"] = tpl.json()["id"]
    ev = await open_evaluation(t, "alice", q4)
    req = await ask(t, ev, "bob", t.employee("lead"))
    await ev_act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 4})
    await ev_act(t, ev, "submit_manager", t.employee("lead"), manager_review={"rating": 4})
    ids.update(ev=ev["id"], req=req["id"])
    await transition(t, q4["id"], "review", "calibration")
    cal = await t.client.post(
        "/api/v1/calibrations", headers=t.hr, json={"cycle_id": q4["id"], "name": "Ops", "employee_ids": [ids["alice"]]}
    )
    assert cal.status_code == 201, cal.text
    ids["cal"] = cal.json()["id"]
    if lock == "calibration":
        fin = await t.client.post(f"/api/v1/calibrations/{ids['cal']}/finalize", headers=t.hr)
        assert fin.status_code == 200, fin.text
    else:
        await transition(t, q4["id"], "closed")
    return World(t=t, ids=ids)


# (name, caller, method, path, body) with {placeholders} from the world's ids; {c} is the
# cycle under test (q4 or dec).
PER_CYCLE = [
    (
        "objective.create",
        "hr",
        "POST",
        "/api/v1/objectives",
        {"title": "New", "level": "company", "owner_id": "{alice}", "cycle_id": "{c}"},
    ),
    ("objective.patch", "hr", "PATCH", "/api/v1/objectives/{c_obj}", {"title": "Renamed"}),
    ("objective.delete", "hr", "DELETE", "/api/v1/objectives/{c_draft}", None),
    ("objective.submit", "hr", "POST", "/api/v1/objectives/{c_draft}/submit", {}),
    ("objective.close", "hr", "POST", "/api/v1/objectives/{c_obj}/close", {}),
    (
        "key_result.create",
        "hr",
        "POST",
        "/api/v1/key-results",
        {"objective_id": "{c_obj}", "title": "New KR", "kind": "boolean"},
    ),
    ("key_result.patch", "hr", "PATCH", "/api/v1/key-results/{c_kr}", {"title": "Renamed"}),
    ("key_result.grade", "hr", "PATCH", "/api/v1/key-results/{c_kr}", {"grade": "0.9", "grade_reason": "late win"}),
    ("key_result.delete", "hr", "DELETE", "/api/v1/key-results/{c_kr}", None),
    ("check_in.create", "hr", "POST", "/api/v1/key-results/{c_kr}/check-ins", {"value": "95"}),
    ("check_in.by_owner", "alice", "POST", "/api/v1/key-results/{c_kr}/check-ins", {"value": "96"}),
    (
        "kpi_assignment.create",
        "hr",
        "POST",
        "/api/v1/kpi-assignments",
        {"employee_id": "{alice}", "cycle_id": "{c}", "definition_id": "{spare}", "method": "ratio", "target": "1"},
    ),
    ("kpi_assignment.patch", "hr", "PATCH", "/api/v1/kpi-assignments/{c_asg}", {"weight": "3"}),
    ("kpi_assignment.delete", "hr", "DELETE", "/api/v1/kpi-assignments/{c_asg}", None),
    (
        "kpi_template.apply",
        "hr",
        "POST",
        "/api/v1/kpi-templates/{tpl}/apply",
        {"cycle_id": "{c}", "employee_ids": ["{alice}"]},
    ),
    (
        "measurement.create",
        "hr",
        "POST",
        "/api/v1/kpi-assignments/{c_asg}/measurements",
        {"value": "5", "measured_at": "{c_day}"},
    ),
    ("measurement.put", "hr", "PUT", "/api/v1/kpi-assignments/{c_asg}/measurements/{c_day}", {"value": "6"}),
    ("measurement.delete", "hr", "DELETE", "/api/v1/kpi-assignments/{c_asg}/measurements/{c_day}", None),
]
EVALUATION = [
    ("evaluation.create", "hr", "POST", "/api/v1/evaluations", {"employee_id": "{alice}", "cycle_id": "{q4}"}),
    ("evaluation.patch", "hr", "PATCH", "/api/v1/evaluations/{ev}", {"manager_review": {"rating": 2}}),
    ("evaluation.submit_self", "alice", "POST", "/api/v1/evaluations/{ev}/submit_self", None),
    ("evaluation.submit_manager", "hr", "POST", "/api/v1/evaluations/{ev}/submit_manager", None),
    ("peer_request.create", "hr", "POST", "/api/v1/evaluations/{ev}/peer-requests", {"reviewer_id": "{carol}"}),
    ("peer_feedback.submit", "bob", "POST", "/api/v1/evaluations/{ev}/feedback", {"rating": 1}),
    ("peer_request.decline", "bob", "POST", "/api/v1/peer-requests/{req}/decline", {"reason": "busy"}),
    (
        "calibration.adjust",
        "hr",
        "POST",
        "/api/v1/calibrations/{cal}/adjustments",
        {"employee_id": "{alice}", "delta": "5", "reason": "late evidence"},
    ),
]
CASES = [
    pytest.param(lock, c, case, id=f"{lock}-{c}-{case[0]}")
    for lock in ("calibration", "closed")
    for c in ("q4", "dec")
    for case in PER_CYCLE
] + [
    pytest.param(lock, "q4", case, id=f"{lock}-q4-{case[0]}")
    for lock in ("calibration", "closed")
    for case in EVALUATION
]


def fill(value: Any, ids: dict[str, str], c: str) -> Any:
    if isinstance(value, str):
        out = value.replace("{c_", "{" + c + "_").replace("{c}", "{" + c + "}")
        return out.format(**ids) if "{" in out else out
    if isinstance(value, dict):
        return {k: fill(v, ids, c) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids, c) for v in value]
    return value


def headers(w: World, caller: str) -> dict[str, str]:
    return w.t.hr if caller == "hr" else w.t.employee(caller)


async def footprint(w: World) -> tuple[int, int, Any]:
    """What any change would leave: audit events, outbox events, alice's Q4 score."""
    async with database.sessions() as session:
        audits = (
            await session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.org_id == w.t.org_id))
        ).scalar_one()
        events = (
            await session.execute(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.org_id == w.t.org_id))
        ).scalar_one()
    score = (await w.t.client.get(f"/api/v1/cycles/{w.ids['q4']}/scores/{w.ids['alice']}", headers=w.t.hr)).json()
    return audits, events, score


_worlds: dict[str, World] = {}


async def world(client: Any, lock: str) -> World:
    """One world per lock kind for the whole module: every case is refused, so none
    changes it (which each case checks)."""
    if lock not in _worlds:
        from tests.conftest import make_team, new_tenant

        _worlds[lock] = await build(await make_team(await new_tenant(client)), lock)
    return _worlds[lock]


def assert_locked(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 409, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == "cycle_locked" and body["status"] == 409 and body["title"] == "Cycle locked", body
    return body


@pytest.mark.parametrize(("lock", "c", "case"), CASES)
async def test_every_input_write_is_refused(client: Any, lock: str, c: str, case: tuple[Any, ...]):
    w = await world(client, lock)
    _name, caller, method, path, body = case
    before = await footprint(w)
    kwargs: dict[str, Any] = {"headers": headers(w, caller)}
    if body is not None:
        kwargs["json"] = fill(body, w.ids, c)
    problem = assert_locked(await w.t.client.request(method, fill(path, w.ids, c), **kwargs))
    # an official Q4 result locks December too; a closed Q4 closed December with it
    expected = (
        {"cycle_id": w.ids["q4"], "reason": "finalized"}
        if lock == "calibration"
        else {"cycle_id": w.ids[c], "reason": "closed"}
    )
    assert problem["locked_by"] == expected
    assert await footprint(w) == before


@pytest.mark.parametrize("lock", ["calibration", "closed"])
@pytest.mark.parametrize("c", ["q4", "dec"])
async def test_bulk_measurement_rows_are_row_errors(client: Any, lock: str, c: str):
    w = await world(client, lock)
    before = await footprint(w)
    resp = await w.t.client.post(
        "/api/v1/kpi-measurements/bulk",
        headers=w.t.hr,
        json={"rows": [{"assignment_id": w.ids[f"{c}_asg"], "value": "1", "measured_at": w.ids[f"{c}_day"]}]},
    )
    assert resp.status_code == 200, resp.text
    (row,) = resp.json()["results"]
    assert row["outcome"] == "error" and row["errors"][0]["code"] == "cycle_locked", row
    assert await footprint(w) == before


# --- GraphQL ------------------------------------------------------------------------------

GQL = [
    (
        "createObjective",
        "hr",
        "mutation($i: ObjectiveInput!) { createObjective(input: $i) { id } }",
        {"i": {"title": "New", "level": "COMPANY", "ownerId": "{alice}", "cycleId": "{c}"}},
    ),
    (
        "updateObjective",
        "hr",
        'mutation($id: ID!) { updateObjective(id: $id, input: {title: "R"}) { id } }',
        {"id": "{c_obj}"},
    ),
    ("submitObjective", "hr", "mutation($id: ID!) { submitObjective(id: $id) { id } }", {"id": "{c_draft}"}),
    ("closeObjective", "hr", "mutation($id: ID!) { closeObjective(id: $id) { id } }", {"id": "{c_obj}"}),
    (
        "createKeyResult",
        "hr",
        "mutation($i: KeyResultInput!) { createKeyResult(input: $i) { id } }",
        {"i": {"objectiveId": "{c_obj}", "title": "KR", "kind": "BOOLEAN"}},
    ),
    (
        "updateKeyResult",
        "hr",
        'mutation($id: ID!) { updateKeyResult(id: $id, input: {grade: "0.9", gradeReason: "late"}) { id } }',
        {"id": "{c_kr}"},
    ),
    (
        "createCheckIn",
        "alice",
        'mutation($k: ID!) { createCheckIn(keyResultId: $k, input: {value: "97"}) { id } }',
        {"k": "{c_kr}"},
    ),
    (
        "createKpiAssignment",
        "hr",
        "mutation($i: KpiAssignmentInput!) { createKpiAssignment(input: $i) { id } }",
        {
            "i": {
                "employeeId": "{alice}",
                "cycleId": "{c}",
                "definitionId": "{spare}",
                "method": "RATIO",
                "target": "1",
            }
        },
    ),
    (
        "updateKpiAssignment",
        "hr",
        'mutation($id: ID!) { updateKpiAssignment(id: $id, input: {weight: "3"}) { id } }',
        {"id": "{c_asg}"},
    ),
    (
        "recordKpiMeasurement",
        "hr",
        "mutation($a: ID!, $i: KpiMeasurementInput!) { recordKpiMeasurement(assignmentId: $a, input: $i) { id } }",
        {"a": "{c_asg}", "i": {"value": "7", "measuredAt": "{c_day}"}},
    ),
]
GQL_EVALUATION = [
    (
        "createEvaluation",
        "hr",
        "mutation($i: EvaluationInput!) { createEvaluation(input: $i) { id } }",
        {"i": {"employeeId": "{alice}", "cycleId": "{q4}"}},
    ),
    (
        "updateEvaluation",
        "hr",
        "mutation($id: ID!) { updateEvaluation(id: $id, input: {managerReview: {rating: 2}}) { id } }",
        {"id": "{ev}"},
    ),
    ("submitManagerReview", "hr", "mutation($id: ID!) { submitManagerReview(id: $id) { id } }", {"id": "{ev}"}),
    (
        "requestPeerFeedback",
        "hr",
        "mutation($e: ID!, $i: PeerRequestInput!) { requestPeerFeedback(evaluationId: $e, input: $i) { id } }",
        {"e": "{ev}", "i": {"reviewerId": "{carol}"}},
    ),
    (
        "submitPeerFeedback",
        "bob",
        "mutation($e: ID!) { submitPeerFeedback(evaluationId: $e, input: {rating: 1}) { id } }",
        {"e": "{ev}"},
    ),
    (
        "declinePeerRequest",
        "bob",
        'mutation($id: ID!) { declinePeerRequest(id: $id, reason: "busy") { id } }',
        {"id": "{req}"},
    ),
    (
        "addCalibrationAdjustment",
        "hr",
        "mutation($c: ID!, $i: AdjustmentInput!) { addCalibrationAdjustment(calibrationId: $c, input: $i) { id } }",
        {"c": "{cal}", "i": {"employeeId": "{alice}", "delta": "5", "reason": "late"}},
    ),
]
GQL_CASES = [
    pytest.param(lock, c, case, id=f"{lock}-{c}-{case[0]}")
    for lock in ("calibration", "closed")
    for c in ("q4", "dec")
    for case in GQL
] + [
    pytest.param(lock, "q4", case, id=f"{lock}-q4-{case[0]}")
    for lock in ("calibration", "closed")
    for case in GQL_EVALUATION
]


@pytest.mark.parametrize(("lock", "c", "case"), GQL_CASES)
async def test_every_graphql_input_mutation_is_refused(client: Any, lock: str, c: str, case: tuple[Any, ...]):
    w = await world(client, lock)
    name, caller, doc, variables = case
    before = await footprint(w)
    result = await gql(w.t, doc, headers(w, caller), **fill(variables, w.ids, c))
    assert result["data"] is None or result["data"].get(name) is None, result
    ext = result["errors"][0]["extensions"]
    assert (ext["status"], ext["code"]) == (409, "cycle_locked"), result
    assert await footprint(w) == before


def test_the_tables_name_every_input_route():
    """Every write route of OKRs, KPIs and the evaluation inputs is in the REST table
    (reads, the lint and the interview/meeting routes, which are not scoring inputs, and
    the evaluation finalize/acknowledge, which read the record, excepted)."""
    from service.web.app import create_app

    paths = create_app().openapi()["paths"]
    inputs = (
        "/api/v1/objectives",
        "/api/v1/key-results",
        "/api/v1/kpi-assignments",
        "/api/v1/kpi-templates/{template_id}/apply",
        "/api/v1/evaluations",
        "/api/v1/peer-requests",
        "/api/v1/calibrations/{calibration_id}/adjustments",
    )
    served = {(m.upper(), p) for p, ops in paths.items() for m in ops if m != "get" and p.startswith(inputs)}
    normal = {
        "{c_obj}": "{objective_id}",
        "{c_draft}": "{objective_id}",
        "{c_kr}": "{key_result_id}",
        "{c_asg}": "{assignment_id}",
        "{c_day}": "{measured_at}",
        "{tpl}": "{template_id}",
        "{ev}": "{evaluation_id}",
        "{req}": "{request_id}",
        "{cal}": "{calibration_id}",
    }

    def norm(path: str) -> str:
        for k, v in normal.items():
            path = path.replace(k, v)
        return path

    actions = re.compile(r"/(submit|close|submit_self|submit_manager)$")
    table = {(m, actions.sub("/{action}", norm(p))) for _, _, m, p, _ in PER_CYCLE + EVALUATION}
    table.add(("POST", "/api/v1/evaluations/bulk"))  # test_bulk_evaluations_in_a_closed_cycle
    assert served <= table, sorted(served - table)


async def test_bulk_evaluations_in_a_closed_cycle(client: Any):
    w = await world(client, "closed")
    before = await footprint(w)
    assert_locked(
        await w.t.client.post(
            "/api/v1/evaluations/bulk", headers=w.t.hr, json={"cycle_id": w.ids["q4"], "employee_ids": [w.ids["bob"]]}
        )
    )
    assert await footprint(w) == before


async def test_closing_closes_the_children_and_freezes_everyone(client: Any):
    w = await world(client, "closed")
    dec = (await w.t.client.get(f"/api/v1/cycles/{w.ids['dec']}", headers=w.t.hr)).json()
    assert dec["status"] == "closed"
    # another employee's December inputs are locked too: the cycle is closed
    problem = assert_locked(
        await w.t.client.post(
            "/api/v1/objectives",
            headers=w.t.hr,
            json={"title": "Bob's", "level": "company", "owner_id": w.ids["bob"], "cycle_id": w.ids["dec"]},
        )
    )
    assert problem["locked_by"] == {"cycle_id": w.ids["dec"], "reason": "closed"}
    # every employee of both cycles has an official result
    for cycle in ("q4", "dec"):
        scores = (await w.t.client.get(f"/api/v1/cycles/{w.ids[cycle]}/scores?limit=500", headers=w.t.hr)).json()
        assert scores["items"] and all(s["official"] and s["record_version"] == 1 for s in scores["items"])
    audit = (
        await w.t.client.get(
            "/api/v1/audit-events", headers=w.t.admin, params={"entity_type": "cycle", "entity_id": w.ids["dec"]}
        )
    ).json()["items"]
    assert any(
        e["action"] == "cycle.transitioned"
        and (e["after"] or {}).get("status") == "closed"
        and "Q4" in (e.get("reason") or "")
        for e in audit
    )


async def test_interviews_and_the_evaluation_finalize_still_work_after_calibration(client: Any):
    """Finalizing an evaluation and acknowledging it read the official result; they are
    not inputs, so a calibration-locked result does not stop them (a closed cycle does)."""
    from tests.conftest import make_team, new_tenant

    w = await build(await make_team(await new_tenant(client)), "calibration")
    t = w.t
    ev = await ev_act(t, {"id": w.ids["ev"]}, "finalize", t.employee("lead"))
    score = (await t.client.get(f"/api/v1/cycles/{w.ids['q4']}/scores/{w.ids['alice']}", headers=t.hr)).json()
    assert score["official"] is True
    assert ev["final_score"] == score["final"] and ev["final_rating"] == score["rating"]
