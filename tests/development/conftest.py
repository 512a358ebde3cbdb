"""Helpers of the development plan tests: a cycle in review with alice's evaluation, a
review meeting about it with improvement actions, nominations written as a breakthrough
run writes them, and plans made through the API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from tests.conftest import Tenant
from tests.evaluations.conftest import open_evaluation
from tests.incentives.conftest import make_plan, nominate
from tests.kpi.conftest import make_cycle

DP = "/api/v1/development-plans"
RM = "/api/v1/review-meetings"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def meeting_world(t: Tenant) -> dict[str, Any]:
    """Q4 in review, alice's evaluation, lead's review meeting on it with three actions:
    two owned by alice (one in progress), one by lead."""
    cycle = await make_cycle(t, status="review")
    ev = await open_evaluation(t, "alice", cycle)
    due = (today() + dt.timedelta(days=10)).isoformat()
    actions = [
        {"action": "Shadow a senior on pricing calls", "owner_id": t.employees["alice"]["id"], "due_date": due},
        {"action": "Book a coaching slot", "owner_id": t.employees["lead"]["id"], "due_date": due},
        {
            "action": "Rewrite the pipeline report",
            "owner_id": t.employees["alice"]["id"],
            "due_date": "2027-01-31",
            "status": "in_progress",
        },
    ]
    resp = await t.client.post(
        RM,
        headers=t.employee("lead"),
        json={
            "subject": {"kind": "evaluation", "id": ev["id"]},
            "held_on": today().isoformat(),
            "gap": "Win rate below target",
            "improvement_plan": actions,
        },
    )
    assert resp.status_code == 201, resp.text
    return {"cycle": cycle, "ev": ev, "meeting": resp.json()}


async def nominations(
    t: Tenant, cycle: dict[str, Any], *who: str, kind: str = "promotion_track", status: str = "approved"
) -> list[str]:
    """Nominations of a new breakthrough plan on `cycle`, as a run writes them."""
    plan = await make_plan(t, cycle, kind="okr_breakthrough", name=f"Breakthrough {uuid.uuid4().hex[:6]}")
    return await nominate(t, plan, *who, kind=kind, status=status)


async def make_plan_for(
    t: Tenant, employee: str, headers: dict[str, str] | None = None, expect: int = 201, **fields: Any
) -> dict[str, Any]:
    body = {"employee_id": t.employees[employee]["id"], "title": "Grow into a lead role", **fields}
    resp = await t.client.post(DP, headers=headers or t.hr, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()
