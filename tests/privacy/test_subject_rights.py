"""A data subject's rights (docs/data-protection.md): the export holds the person's data
and nobody else's, with peer feedback anonymized; the erasure waits for the retention
(409 with the day it becomes possible), then leaves the person's name, e-mail, external id
and free text in no answer of any API nor in the logs, while every finalized payout and
its totals stay as they were; a second erasure changes nothing; the retention job erases
exactly the people past it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from service import cli
from service.cli import build_parser
from service.db import database
from service.kit.models import AuditEvent, OutboxEvent
from service.org.models import Employee
from service.privacy.export import SECTION_NAMES, document
from service.privacy.service import apply_retention, retention_rounds
from tests.conftest import Tenant
from tests.evaluations.conftest import act as eval_act
from tests.evaluations.conftest import answer, ask, open_evaluation
from tests.incentives.conftest import act, comp, give_scores, make_plan, results_of, run, set_employee
from tests.kpi.conftest import make_cycle
from tests.meetings.conftest import MEETINGS, schedule
from tests.okr.conftest import check_in, make_kr, make_objective, publish

GIVEN, FAMILY = "Zebulon", "Quixotwhistle"
EMAIL = "zebulon.quixotwhistle@example.com"
EXTERNAL = "ZQ-7723104"
NOTE = "Zebulon's private check-in note about a knee surgery"
SELF_REVIEW = "My own review: I struggled during my divorce"
FEEDBACK_GIVEN = "Feedback Zebulon wrote about Bob's teamwork"
DESCRIPTION = "Zebulon's personal objective description"
FEEDBACK_RECEIVED = "A colleague thinks Zebulon communicates clearly"
YAN_SELF = "Yan's own words about a hard year"
REVIEW_OF_YAN = "Solid quarter for Yan, as the manager sees it"
SECRETS = (GIVEN, FAMILY, EMAIL, EXTERNAL, "zebulon", NOTE, SELF_REVIEW, FEEDBACK_GIVEN, DESCRIPTION)
FEED = "/api/v1/payroll/incentive-results"


async def _world(t: Tenant) -> dict[str, Any]:
    """zed (the subject) reports to lead beside alice and bob: KPIs, an OKR with a
    check-in, a finalized bonus, an evaluation with 360 feedback, feedback zed gave."""
    await t.add_employee("zed", manager="lead", given_name=GIVEN, family_name=FAMILY, email=EMAIL, external_id=EXTERNAL)
    q4 = await make_cycle(t, status="active")
    await give_scores(t, q4, {"zed": 90, "alice": 80, "bob": 70})
    obj = await make_objective(t, q4, "zed", description=DESCRIPTION)
    kr = await make_kr(t, obj)
    await make_kr(t, obj, title="Second")
    await publish(t, obj)
    await check_in(t, kr, headers=t.employee("zed"), value="40", note=NOTE)
    for key, amount in {"zed": 1000, "alice": 2000, "bob": 3000}.items():
        await set_employee(t, key, compensation=comp(amount))
    plan = await make_plan(t, q4)
    await run(t, plan)
    results = [r for r in await results_of(t, plan) if r["kind"] != "adjustment"]
    for r in results:
        await act(t, r, "approve")
        await act(t, r, "finalize")
    scores = await t.client.get(f"/api/v1/cycles/{q4['id']}/scores/{t.employees['zed']['id']}", headers=t.hr)
    assert scores.status_code == 200, scores.text

    review = await make_cycle(t, "2026-07-01", "2026-09-30", name="Q3", status="review")
    ev = await open_evaluation(t, "zed", review)
    await eval_act(t, ev, "submit_self", t.employee("zed"), self_review={"rating": 4, "comments": SELF_REVIEW})
    for reviewer in ("bob", "alice"):
        await ask(t, ev, reviewer)
    await answer(t, ev, "bob", 5, FEEDBACK_RECEIVED)
    await t.add_employee("yan", manager="zed")
    yan_ev = await open_evaluation(t, "yan", review)
    await eval_act(t, yan_ev, "submit_self", t.employee("yan"), self_review={"rating": 2, "comments": YAN_SELF})
    review_of_yan = {"rating": 3, "comments": REVIEW_OF_YAN}
    await eval_act(t, yan_ev, "submit_manager", t.employee("zed"), manager_review=review_of_yan)
    bob_ev = await open_evaluation(t, "bob", review)
    await ask(t, bob_ev, "zed")
    await answer(t, bob_ev, "zed", 3, FEEDBACK_GIVEN)
    return {"q4": q4, "review": review, "objective": obj, "kr": kr, "evaluation": ev, "bob_evaluation": bob_ev}


async def _meetings(t: Tenant, w: dict[str, Any]) -> dict[str, Any]:
    """zed's one-on-one with lead and the action zed owns from it, zed's calendar feed, and
    a cycle's review meeting whose plan gives zed its second action."""
    zed, lead = t.employees["zed"]["id"], t.employees["lead"]["id"]
    meeting = await schedule(t, title="Lead and Zed", attendee_ids=[zed, lead])
    action = await t.client.post(
        f"{MEETINGS}/{meeting['id']}/occurrences/2027-01-04T08:00:00Z/actions",
        headers=t.employee("lead"),
        json={"owner_id": zed, "title": "Send the notes", "due_date": "2027-01-08"},
    )
    assert action.status_code == 201, action.text
    feed = await t.client.post("/api/v1/me/calendar-feed", headers=t.employee("zed"))
    assert feed.status_code in (200, 201), feed.text
    plan = [
        {"action": "Lead writes the playbook", "owner_id": lead, "due_date": "2026-10-15"},
        {"action": "Zed trains the team", "owner_id": zed, "due_date": "2026-10-30"},
    ]
    review = await t.client.post(
        "/api/v1/review-meetings",
        headers=t.hr,
        json={"subject": {"kind": "cycle", "id": w["review"]["id"]}, "improvement_plan": plan},
    )
    assert review.status_code == 201, review.text
    return {
        "meeting": meeting,
        "action": action.json(),
        "feed_url": feed.json()["url"],
        "review_meeting": review.json(),
    }


async def _export(t: Tenant, key: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/employees/{t.employees[key]['id']}/export", headers=headers or t.hr)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    return json.loads(resp.content)


async def _feed(t: Tenant) -> list[dict[str, Any]]:
    resp = await t.client.get(FEED, headers=t.as_scope("payroll:read"), params={"limit": 500})
    assert resp.status_code == 200, resp.text
    return [{k: i[k] for k in ("id", "amount_minor", "amount", "currency", "sequence")} for i in resp.json()["items"]]


async def _terminate(t: Tenant, key: str, days_ago: int) -> None:
    day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)).isoformat()
    await set_employee(t, key, status="terminated", termination_date=day)


async def _retention(t: Tenant, days: int) -> None:
    resp = await t.client.patch(
        "/api/v1/organization", headers=t.admin, json={"settings": {"retention_days_after_termination": days}}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["settings"]["retention_days_after_termination"] == days


async def _erase(t: Tenant, key: str, expect: int = 200, reason: str = "erasure request") -> Any:
    resp = await t.client.post(
        f"/api/v1/employees/{t.employees[key]['id']}/erase", headers=t.admin, json={"reason": reason}
    )
    assert resp.status_code == expect, resp.text
    return resp


# --- the export ---------------------------------------------------------------------------------


async def test_export_holds_the_persons_data_and_nobody_elses(team: Tenant):
    t = team
    w = await _world(t)
    zed, bob, alice = (t.employees[k]["id"] for k in ("zed", "bob", "alice"))
    w.update(await _meetings(t, w))
    doc = await _export(t, "zed")
    assert list(doc) == ["employee_id", "exported_at", "sections", *SECTION_NAMES]
    assert doc["employee_id"] == zed
    assert [p["email"] for p in doc["profile"]] == [EMAIL]
    assert [o["id"] for o in doc["objectives"]] == [w["objective"]["id"]]
    assert len(doc["key_results"]) == 2
    assert [c["note"] for c in doc["check_ins"]] == [NOTE]
    assert {a["employee_id"] for a in doc["kpi_assignments"]} == {zed} and len(doc["kpi_measurements"]) == 1
    assert [e["id"] for e in doc["evaluations_received"]] == [w["evaluation"]["id"]]
    assert doc["evaluations_received"][0]["self_comments"] == SELF_REVIEW
    assert [i["employee_id"] for i in doc["incentive_results"]] == [zed]
    assert all(s["employee_id"] == zed for s in doc["scores"])
    assert [p["comments"] for p in doc["peer_feedback_written"]] == [FEEDBACK_GIVEN]
    # The reviews zed wrote of others: zed's words only, not the rest of yan's evaluation.
    assert [e["manager_comments"] for e in doc["evaluations_written"]] == [REVIEW_OF_YAN]
    assert YAN_SELF not in json.dumps(doc) and "self_comments" not in doc["evaluations_written"][0]
    assert doc["peer_feedback_written"][0]["employee_id"] == bob
    assert any(a["action"] == "employee.created" for a in doc["audit_events"])
    # Peer feedback received: the answers, never who gave them.
    received = doc["peer_feedback_received"]
    assert sorted(str(p["comments"]) for p in received) == sorted([FEEDBACK_RECEIVED, "None"])
    for row in received:
        assert not {"reviewer_id", "requested_by", "requested_by_employee_id"} & set(row)
    assert bob not in json.dumps(received) and alice not in json.dumps(received)
    # Nobody else's rows: alice's and bob's own data is in no section but as zed's counterpart.
    others = json.dumps({k: v for k, v in doc.items() if k not in ("peer_feedback_written", "audit_events")})
    assert alice not in others and bob not in others
    assert "Bob" not in others and "alice@example.com" not in others
    # Meetings they attend, the actions they own (of meetings and of review meetings'
    # plans) and their calendar feed, without its token.
    assert [m["id"] for m in doc["meetings"]] == [w["meeting"]["id"]]
    assert [(a["id"], a["title"]) for a in doc["meeting_actions"]] == [(w["action"]["id"], "Send the notes")]
    assert [(a["review_meeting_id"], a["action_index"]) for a in doc["improvement_actions"]] == [
        (w["review_meeting"]["id"], 1)
    ]
    assert len(doc["calendar_feeds"]) == 1 and "token_hash" not in doc["calendar_feeds"][0]
    assert w["feed_url"].rsplit("/", 1)[-1].removesuffix(".ics") not in json.dumps(doc)
    # The export is audited, with who asked.
    log = await t.client.get("/api/v1/audit-events", headers=t.auditor, params={"entity_id": zed})
    assert "employee.exported" in [e["action"] for e in log.json()["items"]]


async def test_export_is_streamed_in_sections(team: Tenant):
    """The body is written piece by piece (a piece per section at least), not built whole;
    the pieces make one JSON document."""
    t = team
    await t.add_employee("zed", manager="lead")
    emp_id = uuid.UUID(t.employees["zed"]["id"])
    pieces = [p async for p in document(t.org_id, emp_id, dt.datetime.now(dt.UTC))]
    assert len(pieces) > 2 * len(SECTION_NAMES)
    assert max(len(p) for p in pieces) < 4000
    assert json.loads(b"".join(pieces))["profile"][0]["id"] == str(emp_id)


async def test_export_of_an_unknown_employee_is_404(tenant: Tenant):
    resp = await tenant.client.get(f"/api/v1/employees/{uuid.uuid4()}/export", headers=tenant.hr)
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")


# --- the erasure ------------------------------------------------------------------------------------


async def test_erase_is_refused_before_the_retention_is_over(team: Tenant):
    t = team
    await t.add_employee("zed", manager="lead", given_name=GIVEN)
    resp = await _erase(t, "zed", 409)
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "retention_not_over" and resp.json()["possible_from"] is None
    await _terminate(t, "zed", 10)
    resp = await _erase(t, "zed", 409)
    expected = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=10) + dt.timedelta(days=2555)
    assert resp.json()["possible_from"] == expected.isoformat()
    assert expected.isoformat() in resp.json()["detail"]
    again = await t.client.get(f"/api/v1/employees/{t.employees['zed']['id']}", headers=t.hr)
    assert again.json()["given_name"] == GIVEN


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "x", "erase_payouts": True}, {"reason": 5}],
    ids=["none", "empty", "extra", "type"],
)
async def test_erase_body_is_checked(tenant: Tenant, body: dict[str, Any]):
    emp = await tenant.add_employee("zed")
    resp = await tenant.client.post(f"/api/v1/employees/{emp['id']}/erase", headers=tenant.admin, json=body)
    assert resp.status_code == 422, resp.text


async def test_retention_setting_is_validated_and_in_graphql(tenant: Tenant):
    for bad in (-1, "many", 36501):
        resp = await tenant.client.patch(
            "/api/v1/organization", headers=tenant.admin, json={"settings": {"retention_days_after_termination": bad}}
        )
        assert resp.status_code == 422, resp.text
    resp = await tenant.client.patch(
        "/api/v1/organization", headers=tenant.hr, json={"settings": {"retention_days_after_termination": 0}}
    )
    assert resp.status_code == 403
    await _retention(tenant, 0)
    q = "{ organization { settings { retentionDaysAfterTermination } } }"
    gql = await tenant.client.post("/graphql", json={"query": q}, headers=tenant.admin)
    assert gql.json()["data"]["organization"]["settings"] == {"retentionDaysAfterTermination": 0}


def _leaks(text_: str) -> list[str]:
    low = text_.lower()
    return [s for s in SECRETS if s.lower() in low]


async def _answers(t: Tenant, w: dict[str, Any], zed: str) -> dict[str, str]:
    """Every answer about the person the API gives, by what was asked."""
    scim = t.as_scope("scim")
    gql_one = (
        "query($id: ID!) { employee(id: $id) { givenName familyName email externalId } }",
        {"id": zed},
    )
    gql_search = ("query($q: String!) { employees(first: 50, q: $q) { edges { node { givenName email } } } }", {})
    gets: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
        "employee": (f"/api/v1/employees/{zed}", {}, t.hr),
        "employees": ("/api/v1/employees", {"limit": 500}, t.hr),
        "employees csv": ("/api/v1/employees", {"limit": 500}, {**t.hr, "Accept": "text/csv"}),
        "search name": ("/api/v1/employees", {"q": GIVEN}, t.hr),
        "search email": ("/api/v1/employees", {"q": "zebulon"}, t.hr),
        "scim user": (f"/scim/v2/Users/{zed}", {}, scim),
        "scim users": ("/scim/v2/Users", {"count": 200}, scim),
        "scim filter": ("/scim/v2/Users", {"filter": f'userName eq "{EMAIL}"'}, scim),
        "export": (f"/api/v1/employees/{zed}/export", {}, t.admin),
        "score": (f"/api/v1/cycles/{w['q4']['id']}/scores/{zed}", {}, t.hr),
        "scores": (f"/api/v1/cycles/{w['q4']['id']}/scores", {"limit": 500}, t.hr),
        "audit": ("/api/v1/audit-events", {"limit": 500}, t.admin),
        "audit of zed": ("/api/v1/audit-events", {"entity_id": zed, "limit": 500}, t.auditor),
        "evaluations": ("/api/v1/evaluations", {"limit": 500}, t.hr),
        "evaluation": (f"/api/v1/evaluations/{w['evaluation']['id']}", {}, t.hr),
        "feedback": (f"/api/v1/evaluations/{w['bob_evaluation']['id']}/feedback", {}, t.hr),
        "objective": (f"/api/v1/objectives/{w['objective']['id']}", {}, t.hr),
        "check-ins": (f"/api/v1/key-results/{w['kr']['id']}/check-ins", {}, t.hr),
        "incentives": ("/api/v1/incentive-results", {"limit": 500}, t.hr),
        "payroll": (FEED, {"limit": 500}, t.as_scope("payroll:read")),
        "me": ("/api/v1/me", {}, t.employee("zed")),
    }
    out: dict[str, str] = {}
    for name, (path, params, headers) in gets.items():
        resp = await t.client.get(path, params=params, headers=headers)
        assert resp.status_code == 200, f"{name}: {resp.status_code} {resp.text}"
        out[name] = resp.text
    for name, (query, variables) in {"graphql employee": gql_one, "graphql search": gql_search}.items():
        for q in [GIVEN, "zebulon"] if name == "graphql search" else [None]:
            body = {"query": query, "variables": {**variables, **({"q": q} if q else {})}}
            resp = await t.client.post("/graphql", json=body, headers=t.hr)
            assert resp.status_code == 200 and "errors" not in resp.json(), resp.text
            out[f"{name} {q}"] = resp.text
    return out


async def test_erasure_leaves_the_person_in_no_answer_and_payouts_unchanged(
    team: Tenant, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
):
    t = team
    w = await _world(t)
    zed = t.employees["zed"]["id"]
    before = await _answers(t, w, zed)
    assert _leaks(before["employee"]) and _leaks(before["export"])  # the checks below can fail
    feed = await _feed(t)
    assert len(feed) == 3 and sum(i["amount_minor"] for i in feed) > 0
    await _terminate(t, "zed", 30)
    await _retention(t, 30)
    capsys.readouterr()
    caplog.clear()
    # The service logs at INFO (LOG_LEVEL); the drivers' DEBUG lines echo statement parameters.
    with caplog.at_level(logging.INFO):
        first = (await _erase(t, "zed", reason="employee asked on 2026-12-01")).json()
        assert first["employee_id"] == zed
        after = await _answers(t, w, zed)
    leaks = {name: _leaks(body) for name, body in after.items() if _leaks(body)}
    assert leaks == {}
    # What the service logged, but the request lines of the searches, which echo the caller's own query.
    lines = (caplog.text + "".join(capsys.readouterr())).splitlines()
    logged = [line for line in lines if _leaks(line) and not any(f"{k}=" in line for k in ("q", "filter"))]
    assert logged == []

    # The person is still there, pseudonymized; the numbers others depend on are unchanged.
    emp = json.loads(after["employee"])
    assert emp["status"] == "terminated" and emp["given_name"] == "Erased"
    assert emp["email"].endswith("@erased.invalid") and emp["external_id"].startswith("erased-")
    assert (emp.get("compensation") or {}).get("base_salary_minor") is None
    assert await _feed(t) == feed
    incentives = json.loads(after["incentives"])["items"]
    assert sorted(i["amount_minor"] for i in incentives if i["kind"] == "payment") == sorted(
        i["amount_minor"] for i in feed
    )
    score = json.loads(after["score"])
    assert score["employee_id"] == zed and score["final"] is not None
    assert "[erased]" in after["feedback"]  # the feedback zed gave bob: the rating stays, the text goes
    assert "[erased]" in after["check-ins"] and "[erased]" in after["evaluation"]
    assert REVIEW_OF_YAN in after["evaluations"]  # yan's record, kept

    # The audit log keeps that it happened, who did it and why.
    events = json.loads(after["audit of zed"])["items"]
    erased = [e for e in events if e["action"] == "employee.erased"]
    assert len(erased) == 1 and erased[0]["reason"] == "employee asked on 2026-12-01"
    assert erased[0]["before"] is None and erased[0]["after"] is None

    # Twice: the same answer, nothing changed.
    async with database.sessions() as session:
        audit_count = len((await session.execute(select(AuditEvent.id).where(AuditEvent.org_id == t.org_id))).all())
        version = (await session.get(Employee, (t.org_id, uuid.UUID(zed)))).version  # type: ignore[union-attr]
    second = (await _erase(t, "zed", reason="again")).json()
    assert second == first
    async with database.sessions() as session:
        assert len((await session.execute(select(AuditEvent.id).where(AuditEvent.org_id == t.org_id))).all()) == (
            audit_count
        )
        assert (await session.get(Employee, (t.org_id, uuid.UUID(zed)))).version == version  # type: ignore[union-attr]


async def test_erasure_redacts_undelivered_webhook_payloads_and_keeps_the_audit_log_append_only(team: Tenant):
    """Event payloads carry ids, not personal data; one that held a value anyway (an older
    payload) is redacted while undelivered. The stored audit payloads hold no value either."""
    t = team
    await t.add_employee("zed", given_name=GIVEN, family_name=FAMILY, email=EMAIL, external_id=EXTERNAL)
    zed = t.employees["zed"]["id"]
    legacy = uuid.uuid4()
    async with database.sessions() as session:
        payload = {"employee_ids": [zed], "created": 0, "updated": 1, "email": EMAIL, "note": f"for {GIVEN} {FAMILY}"}
        session.add(OutboxEvent(org_id=t.org_id, id=legacy, event_type="employee.upserted", payload=payload))
        await session.commit()
    await _terminate(t, "zed", 1)
    await _retention(t, 0)
    await _erase(t, "zed")
    async with database.sessions() as session:
        event = await session.get(OutboxEvent, (t.org_id, legacy))
        assert event is not None and event.payload["employee_ids"] == [zed]
        assert _leaks(json.dumps(event.payload)) == []
        audit = await session.execute(
            select(AuditEvent.before, AuditEvent.after, AuditEvent.reason).where(AuditEvent.org_id == t.org_id)
        )
        stored = json.dumps([list(r) for r in audit], default=str)
        await session.delete(event)  # not a payload of the documented schema
        await session.commit()
    assert _leaks(stored) == []
    # Redacted events stay append-only: no other change, no delete.
    for statement in (
        "UPDATE audit_events SET action = 'x' WHERE entity_id = :e",
        "UPDATE audit_events SET actor = 'x', redacted_at = at WHERE entity_id = :e",
        "DELETE FROM audit_events WHERE entity_id = :e",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with database.engine.begin() as conn:
                await conn.execute(text(statement), {"e": zed})


# --- the retention job ------------------------------------------------------------------------------


async def test_retention_job_erases_exactly_those_past_due(team: Tenant, other_tenant: Tenant):
    t = team
    for key in ("old", "recent", "active", "undated"):
        await t.add_employee(key, given_name=f"Keep{key.title()}")
    await _retention(t, 100)
    await _terminate(t, "old", 101)
    await _terminate(t, "recent", 99)
    await set_employee(t, "undated", status="terminated")
    foreign = await other_tenant.add_employee("far", given_name="Faraway")
    day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1000)).isoformat()
    resp = await other_tenant.client.patch(
        f"/api/v1/employees/{foreign['id']}",
        headers=other_tenant.hr,
        json={"status": "terminated", "termination_date": day},
    )
    assert resp.status_code == 200, resp.text

    # only these two organizations: the shared test database holds others' terminated people
    mine = {t.org_id, other_tenant.org_id}
    done = await apply_retention(org_ids=mine)
    assert done.get(str(t.org_id)) == 1 and str(other_tenant.org_id) not in done  # the other keeps 2555 days
    names = {
        k: (await t.client.get(f"/api/v1/employees/{t.employees[k]['id']}", headers=t.hr)).json()["given_name"]
        for k in ("old", "recent", "active", "undated")
    }
    assert names == {"old": "Erased", "recent": "KeepRecent", "active": "KeepActive", "undated": "KeepUndated"}
    events = await t.client.get("/api/v1/audit-events", headers=t.admin, params={"entity_id": t.employees["old"]["id"]})
    erased = [e for e in events.json()["items"] if e["action"] == "employee.erased"]
    assert len(erased) == 1 and erased[0]["actor"] == "system:retention"
    assert str(t.org_id) not in await apply_retention(org_ids=mine)  # idempotent: nothing left to erase


async def test_the_worker_round_and_the_command_apply_retention(tenant: Tenant):
    t = tenant
    await t.add_employee("gone", given_name="Gonzalo")
    await _retention(t, 0)
    await _terminate(t, "gone", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(retention_rounds(stop, 0.05, org_ids={t.org_id}))
    try:
        for _ in range(200):
            resp = await t.client.get(f"/api/v1/employees/{t.employees['gone']['id']}", headers=t.hr)
            if resp.json()["given_name"] == "Erased":
                break
            await asyncio.sleep(0.05)
        assert resp.json()["given_name"] == "Erased"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    args = build_parser().parse_args(["apply-retention"])
    assert args.fn is cli._apply_retention
