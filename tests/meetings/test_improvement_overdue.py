"""Improvement actions of review meetings are announced by `action.overdue` like meeting
actions: once, the day after their due date, while not done; an action is its position
in the plan, so editing the plan keeps an announced action announced unless its owner
changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from service.db import database
from service.evaluations.models import ImprovementActionState
from tests.conftest import Tenant
from tests.kpi.conftest import make_cycle
from tests.meetings.test_actions import drain, overdue_events

RM = "/api/v1/review-meetings"


def act(t: Tenant, who: str, due: str, status: str = "open", action: str | None = None) -> dict[str, Any]:
    return {
        "action": action or f"{who} follows up",
        "owner_id": t.employees[who]["id"],
        "due_date": due,
        "status": status,
    }


@pytest.fixture
async def review(team: Tenant) -> dict[str, Any]:
    cycle = await make_cycle(team, status="review")
    plan = [
        act(team, "alice", "2031-03-10"),  # past due on the 11th
        act(team, "bob", "2031-03-10", status="done"),  # done: never announced
        act(team, "lead", "2031-03-11", status="in_progress"),  # due on the 11th: not yet
    ]
    resp = await team.client.post(
        RM, headers=team.hr, json={"subject": {"kind": "cycle", "id": cycle["id"]}, "improvement_plan": plan}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def replace_plan(t: Tenant, review: dict[str, Any], plan: list[dict[str, Any]]) -> None:
    resp = await t.client.patch(f"{RM}/{review['id']}", headers=t.hr, json={"improvement_plan": plan})
    assert resp.status_code == 200, resp.text


async def states(t: Tenant) -> list[tuple[int, str, str, bool]]:
    a = ImprovementActionState
    async with database.sessions() as session:
        rows = await session.execute(
            select(a.action_index, a.owner_id, a.status, a.overdue_notified_at)
            .where(a.org_id == t.org_id)
            .order_by(a.action_index)
        )
        return [(i, str(owner), status, notified is not None) for i, owner, status, notified in rows]


async def test_an_overdue_improvement_action_is_announced_once(team: Tenant, review: dict[str, Any]):
    ids = {who: team.employees[who]["id"] for who in ("alice", "bob", "lead")}
    assert await states(team) == [
        (0, ids["alice"], "open", False),
        (1, ids["bob"], "done", False),
        (2, ids["lead"], "in_progress", False),
    ]

    await drain(dt.date(2031, 3, 10))
    assert await overdue_events(team) == []
    await drain(dt.date(2031, 3, 11))
    assert await overdue_events(team) == [
        {
            "source": "improvement_action",
            "action_id": None,
            "meeting_id": None,
            "review_meeting_id": review["id"],
            "action_index": 0,
            "owner_id": ids["alice"],
            "due_date": "2031-03-10",
        }
    ]
    await drain(dt.date(2031, 3, 12))  # the in-progress one is now past due
    assert [(e["action_index"], e["owner_id"]) for e in await overdue_events(team)] == [
        (0, ids["alice"]),
        (2, ids["lead"]),
    ]


async def test_editing_the_plan_keeps_an_announced_action_announced(team: Tenant, review: dict[str, Any]):
    await drain(dt.date(2031, 3, 11))
    assert len(await overdue_events(team)) == 1
    # Alice's action reworded and given more time, same position and owner: announced already.
    await replace_plan(
        team,
        review,
        [
            act(team, "alice", "2031-04-01", action="Alice calls the lapsed accounts"),
            act(team, "bob", "2031-03-10", status="done"),
            act(team, "lead", "2031-03-11", status="done"),
        ],
    )
    await drain(dt.date(2031, 4, 5))
    assert len(await overdue_events(team)) == 1
    assert [s[3] for s in await states(team)] == [True, False, False]

    # The first position handed to bob is another action; the one appended is new too.
    await replace_plan(
        team,
        review,
        [
            act(team, "bob", "2031-04-01"),
            act(team, "bob", "2031-03-10", status="done"),
            act(team, "lead", "2031-03-11", status="done"),
            act(team, "carol", "2031-04-02"),
        ],
    )
    await drain(dt.date(2031, 4, 5))
    events = await overdue_events(team)
    assert sorted((e["action_index"], e["owner_id"]) for e in events[1:]) == [
        (0, team.employees["bob"]["id"]),
        (3, team.employees["carol"]["id"]),
    ]


async def test_a_plan_emptied_or_done_announces_nothing(team: Tenant, review: dict[str, Any]):
    plan = [act(team, "alice", "2031-03-10", status="done"), act(team, "bob", "2031-03-10", status="done")]
    await replace_plan(team, review, plan)
    assert [s[:3] for s in await states(team)] == [
        (0, team.employees["alice"]["id"], "done"),
        (1, team.employees["bob"]["id"], "done"),
    ]
    await drain(dt.date(2031, 6, 1))
    assert await overdue_events(team) == []
    await replace_plan(team, review, [])
    assert await states(team) == []
    # A PATCH without the plan leaves its rows alone.
    await replace_plan(team, review, [act(team, "alice", "2031-03-10")])
    resp = await team.client.patch(f"{RM}/{review['id']}", headers=team.hr, json={"summary": "Reviewed"})
    assert resp.status_code == 200, resp.text
    assert [s[:3] for s in await states(team)] == [(0, team.employees["alice"]["id"], "open")]
