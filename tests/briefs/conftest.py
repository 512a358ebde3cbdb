"""A hand-built team for the brief tests: a department of lead, alice and bob (boss above
lead, carol beside them), a cycle around today, alice's published objective with four
key results (one on pace, one off pace, one whose confidence dropped, one stale), KPIs
on both sides of their bars in both directions and one out of its range, an evaluation of alice with a previous
review meeting's improvement plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from service.types import utcnow
from tests.conftest import Tenant
from tests.evaluations.conftest import open_evaluation
from tests.kpi.conftest import make_assignment, make_definition, measure
from tests.okr.conftest import check_in, make_cycle, make_kr, make_objective, publish

TODAY = utcnow().date()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def at(offset: int) -> str:
    return f"{day(offset)}T12:00:00Z"


@dataclass
class Scene:
    t: Tenant
    ids: dict[str, str] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.ids[key]


async def build_scene(t: Tenant) -> Scene:
    s = Scene(t)
    c = t.client
    dep = await c.post("/api/v1/departments", json={"name": "Sales"}, headers=t.hr)
    assert dep.status_code == 201, dep.text
    s.ids["dep"] = dep.json()["id"]
    for who in ("lead", "alice", "bob"):
        e = t.employees[who]
        r = await c.patch(
            f"/api/v1/employees/{e['id']}",
            json={"department_id": s["dep"]},
            headers={**t.hr, "If-Match": await _etag(t, f"/api/v1/employees/{e['id']}")},
        )
        assert r.status_code == 200, r.text
    s.ids.update({k: v["id"] for k, v in t.employees.items()})

    cycle = await make_cycle(t, start=day(-30), end=day(30), name="Now")
    s.rows["cycle"], s.ids["cycle"] = cycle, cycle["id"]
    obj = await make_objective(t, cycle, "alice", title="Win the northern region")
    krs = {}
    for key, title in (
        ("on", "Grow revenue from 0 to 100"),
        ("off", "Grow accounts from 0 to 100"),
        ("drop", "Grow meetings from 0 to 100"),
        ("stale", "Grow demos from 0 to 100"),
    ):
        krs[key] = await make_kr(t, obj, title=title)
    await publish(t, obj)
    s.ids["obj"] = obj["id"]
    s.ids.update({f"kr_{k}": v["id"] for k, v in krs.items()})
    await check_in(t, krs["on"], value="60", confidence=8, checked_in_at=at(-1))
    await check_in(t, krs["off"], value="5", confidence=7, checked_in_at=at(-1))
    await check_in(t, krs["drop"], value="60", confidence=8, checked_in_at=at(-10))
    await check_in(t, krs["drop"], value="60", confidence=4, checked_in_at=at(-1))
    await check_in(t, krs["stale"], value="60", confidence=7, checked_in_at=at(-10))

    higher = await make_definition(t, "deals", "higher_is_better", "last")
    lower = await make_definition(t, "churn", "lower_is_better", "last")
    kpis = {
        "alice_deals": ("alice", higher, {"threshold": "60", "target": "100"}, "50"),
        "bob_deals": ("bob", higher, {"threshold": "60", "target": "100"}, "70"),
        "alice_churn": ("alice", lower, {"threshold": "10", "target": "5"}, "12"),
        "bob_churn": ("bob", lower, {"threshold": "10", "target": "5"}, "8"),
    }
    band = await make_definition(t, "response_hours", "target_range", "last")
    kpis["bob_band"] = ("bob", band, {"method": "range", "range_low": "2", "range_high": "4", "tolerance": "2"}, "5")
    for key, (who, definition, params, value) in kpis.items():
        a = await make_assignment(t, who, cycle, definition, **params)
        if key == "alice_deals":  # an earlier good value does not hide the latest bad one
            await measure(t, a, "90", day(-5))
        await measure(t, a, value, day(-2))
        s.ids[key] = a["id"]

    ev = await open_evaluation(t, "alice", cycle)
    s.ids["ev"] = ev["id"]
    earlier = await c.post(
        "/api/v1/review-meetings",
        headers=t.employee("lead"),
        json={
            "subject": {"kind": "evaluation", "id": ev["id"]},
            "title": "Last quarter",
            "held_on": day(-20),
            "improvement_plan": [
                {"action": "Call every lapsed account", "owner_id": s["alice"], "due_date": day(-3), "status": "open"},
                {"action": "Write the playbook", "owner_id": s["lead"], "due_date": day(-5), "status": "done"},
                {"action": "Train bob", "owner_id": s["lead"], "due_date": day(10), "status": "in_progress"},
            ],
        },
    )
    assert earlier.status_code == 201, earlier.text
    s.ids["earlier"] = earlier.json()["id"]
    return s


async def _etag(t: Tenant, path: str) -> str:
    r = await t.client.get(path, headers=t.hr)
    return r.headers["ETag"]


@pytest.fixture
async def scene(team: Tenant) -> Scene:
    return await build_scene(team)
