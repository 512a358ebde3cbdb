"""`POST /kpi-measurements/bulk`: addressing, per-row outcomes and errors, idempotency on
source_key, atomic mode, limits, one event per call, and set-based SQL (the statement
count does not depend on the row count)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import event

from service.config import get_settings
from service.db import database
from service.kpi.models import KpiMeasurement
from tests.kpi.conftest import (
    close_cycle,
    count_rows,
    make_assignment,
    make_cycle,
    make_definition,
    outbox_events,
    read,
)

URL = "/api/v1/kpi-measurements/bulk"


@pytest.fixture
async def setup(team, quarter):
    gmv = await make_definition(team, "GMV", "higher_is_better", "sum")
    nps = await make_definition(team, "NPS", "higher_is_better", "last")
    a = await make_assignment(team, "alice", quarter, gmv, method="ratio", target=100)
    b = await make_assignment(team, "bob", quarter, gmv, method="ratio", target=100)
    c = await make_assignment(team, "alice", quarter, nps, method="binary", target=50)
    return {"cycle": quarter, "a": a, "b": b, "c": c}


def keyed(t, who, code, cycle, value, day="2026-10-10", **extra):
    return {
        "employee_external_id": t.employees[who]["external_id"],
        "kpi_code": code,
        "cycle_id": cycle["id"],
        "value": value,
        "measured_at": day,
        **extra,
    }


async def post(t, rows, headers=None, **params):
    return await t.client.post(URL, headers=headers or t.as_scope("kpi:write"), json={"rows": rows}, params=params)


async def test_rows_by_id_and_by_key(team, setup):
    rows = [
        {"assignment_id": setup["a"]["id"], "value": "10", "measured_at": "2026-10-01", "source_key": "k1"},
        keyed(team, "bob", "GMV", setup["cycle"], "20", source_key="k2", source="erp"),
        keyed(team, "alice", "NPS", setup["cycle"], 61),
    ]
    resp = await post(team, rows)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["created"], body["updated"], body["unchanged"], body["errors"]) == (3, 0, 0, 0)
    assert [r["outcome"] for r in body["results"]] == ["created"] * 3
    assert [r["assignment_id"] for r in body["results"]] == [setup[k]["id"] for k in "abc"]
    assert all(r["id"] for r in body["results"])
    assert (await read(team, setup["a"]))["actual"] == "10"
    assert (await read(team, setup["b"]))["points"] == "20.00"
    assert (await read(team, setup["c"]))["points"] == "100.00"


async def test_resending_is_idempotent_on_source_key(team, setup):
    rows = [
        {"assignment_id": setup["a"]["id"], "value": "10", "measured_at": "2026-10-01", "source_key": "k1"},
        keyed(team, "bob", "GMV", setup["cycle"], "20", source_key="k2"),
    ]
    first = (await post(team, rows)).json()
    again = (await post(team, rows)).json()
    assert [r["outcome"] for r in again["results"]] == ["unchanged", "unchanged"]
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    rows[0]["value"] = "10.00"  # the same number
    rows[1]["value"] = "25"
    third = (await post(team, rows)).json()
    assert [r["outcome"] for r in third["results"]] == ["unchanged", "updated"]
    assert (await read(team, setup["b"]))["actual"] == "25"
    assert await count_rows(KpiMeasurement, KpiMeasurement.org_id == team.org_id) == 2
    # same key on another assignment is another measurement
    other = (await post(team, [{**rows[0], "assignment_id": setup["c"]["id"]}])).json()
    assert other["results"][0]["outcome"] == "created"


async def test_one_event_per_call(team, setup):
    rows = [
        {"assignment_id": setup["a"]["id"], "value": n, "measured_at": "2026-10-01", "source_key": f"e{n}"}
        for n in range(5)
    ] + [keyed(team, "bob", "GMV", setup["cycle"], 1, source_key="b")]
    await post(team, rows)
    events = await outbox_events(team)
    assert len(events) == 1
    assert events[0]["count"] == 6 and events[0]["created"] == 6
    assert sorted(events[0]["assignment_ids"]) == sorted([setup["a"]["id"], setup["b"]["id"]])
    await post(team, rows)  # all unchanged: no event
    assert len(await outbox_events(team)) == 1
    rows[0]["value"] = 99
    await post(team, rows)
    events = await outbox_events(team)
    assert len(events) == 2 and events[1]["count"] == 1 and events[1]["updated"] == 1


async def test_bad_rows_get_their_own_errors(team, setup, other_tenant):
    cycle = setup["cycle"]
    foreign = await make_cycle(other_tenant)
    rows = [
        {"assignment_id": str(uuid.uuid4()), "value": 1, "measured_at": "2026-10-01"},  # 0 unknown id
        keyed(team, "alice", "GMV", cycle, 1, employee_external_id="nobody"),  # 1 unknown employee
        keyed(team, "alice", "NOPE", cycle, 1),  # 2 unknown code
        keyed(team, "alice", "GMV", {"id": str(uuid.uuid4())}, 1),  # 3 unknown cycle
        keyed(team, "carol", "GMV", cycle, 1),  # 4 no assignment
        {"assignment_id": setup["a"]["id"], "value": "lots", "measured_at": "2026-10-01"},  # 5 bad value
        {"assignment_id": setup["a"]["id"], "value": 1, "measured_at": "2026-02-30"},  # 6 bad date
        {"assignment_id": setup["a"]["id"], "value": 1, "measured_at": "2026-10-01", "source_key": "dup"},  # 7 ok
        {"assignment_id": setup["a"]["id"], "value": 2, "measured_at": "2026-10-02", "source_key": "dup"},  # 8 dup
        {"value": 1, "measured_at": "2026-10-01"},  # 9 no address
        {**keyed(team, "alice", "GMV", cycle, 1), "assignment_id": setup["a"]["id"]},  # 10 both
        {"employee_external_id": "x", "value": 1, "measured_at": "2026-10-01"},  # 11 partial key
        {"assignment_id": setup["a"]["id"], "value": 1, "measured_at": "2026-10-01", "extra": 1},  # 12 unknown field
        keyed(team, "alice", "GMV", foreign, 1),  # 13 other org's cycle
        {"assignment_id": setup["b"]["id"], "value": "NaN", "measured_at": "2026-10-01"},  # 14 not finite
    ]
    resp = await post(team, rows)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    outcomes = [r["outcome"] for r in results]
    assert outcomes == ["error"] * 7 + ["created"] + ["error"] * 7
    locs = [{tuple(e["loc"][3:]) for e in r["errors"]} for r in results]
    assert locs[0] == {("assignment_id",)}
    assert locs[1] == {("employee_external_id",)}
    assert locs[2] == {("kpi_code",)}
    assert locs[3] == {("cycle_id",)}
    assert locs[4] == {()}
    assert locs[5] == {("value",)} and locs[6] == {("measured_at",)}
    assert locs[8] == {("source_key",)}
    assert locs[9] == {("assignment_id",)} and locs[10] == {("assignment_id",)}
    assert ("kpi_code",) in locs[11] and ("cycle_id",) in locs[11]
    assert locs[12] == {("extra",)} and locs[13] == {("cycle_id",)} and locs[14] == {("value",)}
    assert all(e["loc"][:3] == ["body", "rows", i] for i, r in enumerate(results) for e in r["errors"])
    assert resp.json()["created"] == 1 and resp.json()["errors"] == 14
    assert await count_rows(KpiMeasurement, KpiMeasurement.org_id == team.org_id) == 1


async def test_atomic_applies_nothing_when_a_row_is_bad(team, setup):
    rows = [
        {"assignment_id": setup["a"]["id"], "value": 1, "measured_at": "2026-10-01"},
        {"assignment_id": str(uuid.uuid4()), "value": 1, "measured_at": "2026-10-01"},
    ]
    resp = await post(team, rows, atomic="true")
    assert resp.status_code == 422
    body = resp.json()
    assert body["errors"][0]["loc"] == ["body", "rows", 1, "assignment_id"]
    assert [r["outcome"] for r in body["results"]] == ["created", "error"]  # what would have happened
    assert body["results"][0]["id"] is None
    assert await count_rows(KpiMeasurement, KpiMeasurement.org_id == team.org_id) == 0
    assert await outbox_events(team) == []
    ok = await post(team, rows[:1], atomic="true")
    assert ok.status_code == 200 and ok.json()["created"] == 1


async def test_closed_cycle_rows_are_errors(team, setup):
    old = await make_cycle(team, "2026-07-01", "2026-09-30", name="Q3")
    d = await make_definition(team, "OLD", "higher_is_better", "sum")
    a_old = await make_assignment(team, "alice", old, d, method="ratio", target=1)
    await close_cycle(team, old)
    rows = [
        {"assignment_id": a_old["id"], "value": 1, "measured_at": "2026-08-01"},
        keyed(team, "alice", "OLD", old, 1, "2026-08-01"),
        {"assignment_id": setup["a"]["id"], "value": 1, "measured_at": "2026-10-01"},
    ]
    results = (await post(team, rows)).json()["results"]
    assert [r["outcome"] for r in results] == ["error", "error", "created"]
    assert results[0]["errors"][0]["loc"][-1] == "cycle_id"


async def test_row_limit(team, setup, monkeypatch):
    monkeypatch.setattr(get_settings(), "bulk_max_measurement_rows", 3)
    row = {"assignment_id": setup["a"]["id"], "value": 1, "measured_at": "2026-10-01"}
    resp = await post(team, [row] * 4)
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await post(team, [row] * 3)).status_code == 200
    assert (await post(team, [])).status_code == 422


def test_default_row_limit_is_50000():
    assert get_settings().bulk_max_measurement_rows == 50000


async def test_five_thousand_rows(team, setup):
    rows = []
    for n in range(5000):
        if n % 2:
            rows.append(
                {"assignment_id": setup["a"]["id"], "value": "1.5", "measured_at": "2026-11-01", "source_key": f"a-{n}"}
            )
        else:
            rows.append(keyed(team, "bob", "GMV", setup["cycle"], "2", "2026-11-02", source_key=f"b-{n}"))
    resp = await post(team, rows)
    assert resp.status_code == 200
    assert resp.json()["created"] == 5000
    assert Decimal((await read(team, setup["a"]))["actual"]) == Decimal("3750.0")
    assert Decimal((await read(team, setup["b"]))["actual"]) == 5000
    again = await post(team, rows)
    assert again.json()["unchanged"] == 5000
    assert len(await outbox_events(team)) == 1


def _rows(t, setup, n, tag, value="1"):
    rows = []
    for i in range(n):
        if i % 2:
            rows.append(
                {
                    "assignment_id": setup["a"]["id"],
                    "value": value,
                    "measured_at": "2026-11-01",
                    "source_key": f"{tag}-{i}",
                }
            )
        else:
            rows.append(keyed(t, "bob", "GMV", setup["cycle"], value, "2026-11-02", source_key=f"{tag}-{i}"))
    return rows


async def _statements(t, rows) -> int:
    count = 0

    def on_execute(*_args, **_kw):
        nonlocal count
        count += 1

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        resp = await post(t, rows)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert resp.status_code == 200, resp.text
    return count


async def test_statement_count_does_not_depend_on_row_count(team, setup):
    small, large = _rows(team, setup, 100, "s"), _rows(team, setup, 2000, "l")
    created = (await _statements(team, small), await _statements(team, large))
    unchanged = (await _statements(team, small), await _statements(team, large))
    updated = (
        await _statements(team, _rows(team, setup, 100, "s", "2")),
        await _statements(team, _rows(team, setup, 2000, "l", "2")),
    )
    assert created[0] == created[1], created
    assert unchanged[0] == unchanged[1], unchanged
    assert updated[0] == updated[1], updated
    # 8, plus the lock on official results: the cycles held and read, then their records;
    # an update also reads the rows it changes and their assignments (whose stored
    # scores it touches: service/scoring/freshness.py)
    assert max(created + unchanged) <= 10
    assert max(updated) <= 12
