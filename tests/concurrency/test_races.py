"""Races through the real app: many requests at once (asyncio.gather over the in-process
ASGI client, each request on its own pooled connection). On PostgreSQL they truly run in
parallel; on SQLite writers serialize on the database lock. Either way the outcome must be
what one-at-a-time would allow: one winner for one If-Match, nothing lost, one execution
per Idempotency-Key, no torn or duplicated rows after overlapping bulk upserts."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from tests.conftest import BACKEND, Tenant
from tests.okr.conftest import make_cycle, make_kr, make_objective

N = 50
E = "/api/v1/employees"


async def test_same_if_match_exactly_one_wins(tenant: Tenant):
    emp = await tenant.add_employee("ann")
    first = await tenant.client.get(f"{E}/{emp['id']}", headers=tenant.hr)
    etag = first.headers["etag"]

    async def rename(i: int) -> Any:
        return await tenant.client.patch(
            f"{E}/{emp['id']}", json={"given_name": f"Name{i}"}, headers={**tenant.hr, "If-Match": etag}
        )

    answers = await asyncio.gather(*(rename(i) for i in range(N)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [412] * (N - 1), codes
    (winner,) = [a for a in answers if a.status_code == 200]
    now = await tenant.client.get(f"{E}/{emp['id']}", headers=tenant.hr)
    assert now.json()["given_name"] == winner.json()["given_name"]
    assert now.headers["etag"] == winner.headers["etag"] != etag
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers if a.status_code == 412)


async def test_concurrent_check_ins_are_all_kept(tenant: Tenant):
    await tenant.add_employee("ann")
    cycle = await make_cycle(tenant)
    kr = await make_kr(tenant, await make_objective(tenant, cycle, "ann"), start="0", target="1000")

    async def check_in(i: int) -> Any:
        return await tenant.client.post(
            f"/api/v1/key-results/{kr['id']}/check-ins", headers=tenant.hr, json={"value": str(i + 1), "note": f"n{i}"}
        )

    answers = await asyncio.gather(*(check_in(i) for i in range(N)))
    assert [a.status_code for a in answers] == [201] * N, [a.text for a in answers if a.status_code != 201]
    listed = await tenant.client.get(
        f"/api/v1/key-results/{kr['id']}/check-ins", headers=tenant.hr, params={"limit": 500}
    )
    assert listed.status_code == 200
    notes = sorted(c["note"] for c in listed.json()["items"])
    assert notes == sorted(f"n{i}" for i in range(N))
    assert len({a.json()["id"] for a in answers}) == N


async def test_one_idempotency_key_executes_once(tenant: Tenant):
    headers = {**tenant.hr, "Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = {"name": "Research"}
    answers = await asyncio.gather(
        *(tenant.client.post("/api/v1/departments", json=body, headers=headers) for _ in range(20))
    )
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    executed = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(executed) == 1
    replays = [a for a in answers if a.status_code == 201 and "idempotent-replayed" in a.headers]
    assert all(r.json()["id"] == executed[0].json()["id"] for r in replays)
    busy = [a for a in answers if a.status_code == 409]
    assert all(a.headers.get("retry-after") for a in busy)
    listed = await tenant.client.get("/api/v1/departments", headers=tenant.hr)
    assert [d["name"] for d in listed.json()["items"]].count("Research") == 1
    # after the race, the key replays the one execution
    again = await tenant.client.post("/api/v1/departments", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == executed[0].json()["id"]


SHARED = [f"shared-{i}" for i in range(30)]


def _rows(call: int) -> list[dict[str, Any]]:
    """Rows shared by every call (each call writes its own name into them) plus rows of
    this call only."""
    mine = [f"own-{call}-{i}" for i in range(5)]
    return [
        {"external_id": x, "email": f"{x}@example.com", "given_name": f"Call{call}", "family_name": f"Call{call}"}
        for x in SHARED + mine
    ]


async def _employees(t: Tenant) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await t.client.get(E, headers=t.hr, params=params)).json()
        for e in page["items"]:
            assert e["external_id"] not in out, f"duplicate {e['external_id']}"
            out[e["external_id"]] = e
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def check_bulk_race(t: Tenant, answers: list[Any], calls: int) -> None:
    codes = [a.status_code for a in answers]
    assert set(codes) <= {200, 409}, [a.text for a in answers]
    won = [i for i, a in enumerate(answers) if a.status_code == 200]
    assert won, codes
    rows = await _employees(t)
    for i, a in enumerate(answers):
        mine = {f"own-{i}-{k}" for k in range(5)}
        if a.status_code == 200:
            assert mine <= set(rows)
            assert all(r["outcome"] in ("created", "updated") for r in a.json()["results"])
        else:  # a failed call applied nothing
            assert not mine & set(rows)
    versions = []
    for x in SHARED:
        row = rows[x]
        # never torn: both names come from the same call, and that call succeeded
        assert row["given_name"] == row["family_name"]
        assert int(row["given_name"].removeprefix("Call")) in won
        full = await t.client.get(f"{E}/{row['id']}", headers=t.hr)
        versions.append(int(full.headers["etag"].strip('"')))
    # no lost update: each successful call created or changed every shared row once
    assert versions == [len(won)] * len(SHARED), versions


async def test_overlapping_bulk_upserts_leave_a_consistent_state(tenant: Tenant):
    calls = 6

    async def upsert(i: int) -> Any:  # one integration token each: rate limits are per caller
        return await tenant.client.post(f"{E}/bulk", json={"rows": _rows(i)}, headers=tenant.as_("hr"))

    answers = await asyncio.gather(*(upsert(i) for i in range(calls)))
    await check_bulk_race(tenant, list(answers), calls)


if BACKEND == "postgresql":
    import asyncpg

    from tests import citus
    from tests.conftest import _admin

    # Who waits on a row lock: on Citus the wait happens on the worker that holds the
    # shard, which citus_lock_waits reports across the cluster.
    LOCK_WAITS = (
        "SELECT count(*) FROM citus_lock_waits"
        if citus.enabled()
        else "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )

    async def test_bulk_upserts_blocked_on_the_same_rows_then_released(tenant: Tenant):
        """A forced interleaving: another connection holds a lock on one shared row while
        every call reads the old rows and then waits for it; on release they all write
        what they read at once, so the version guard must catch the losers (which run
        again on the fresh rows)."""
        seed = await tenant.client.post(f"{E}/bulk", json={"rows": _rows(99)[: len(SHARED)]}, headers=tenant.as_("hr"))
        assert seed.status_code == 200
        db_url = _admin.rsplit("/", 1)[0] + "/" + tenant_db_name()
        holder = await asyncpg.connect(db_url)
        calls = 5
        try:
            tr = holder.transaction()
            await tr.start()
            await holder.execute(
                "SELECT 1 FROM employees WHERE org_id = $1 AND external_id = $2 FOR UPDATE", tenant.org_id, SHARED[-1]
            )
            tasks = [
                asyncio.create_task(tenant.client.post(f"{E}/bulk", json={"rows": _rows(i)}, headers=tenant.as_("hr")))
                for i in range(calls)
            ]
            for _ in range(200):  # until a call waits on the held row lock
                # the holder is in a transaction: pg_stat_activity would keep its first snapshot
                await holder.execute("SELECT pg_stat_clear_snapshot()")
                waiting = await holder.fetchval(LOCK_WAITS)
                if waiting >= 1:
                    break
                await asyncio.sleep(0.05)
            assert waiting >= 1
            await tr.rollback()
            answers = await asyncio.gather(*tasks)
        finally:
            await holder.close()
        # the seed call counts as one more writer of every shared row
        codes = [a.status_code for a in answers]
        assert set(codes) <= {200, 409}
        won = [i for i, a in enumerate(answers) if a.status_code == 200]
        assert won
        rows = await _employees(tenant)
        for x in SHARED:
            row = rows[x]
            assert row["given_name"] == row["family_name"]
            assert int(row["given_name"].removeprefix("Call")) in won
            full = await tenant.client.get(f"{E}/{row['id']}", headers=tenant.hr)
            assert int(full.headers["etag"].strip('"')) == 1 + len(won)

    def tenant_db_name() -> str:
        import os

        return os.environ["DATABASE_URL"].rsplit("/", 1)[1]


async def test_check_ins_racing_the_close_are_in_the_record_or_refused(team: Tenant):
    """Check-ins on a December key result while its quarter closes (closing December with
    it): each is accepted and counted in the official result, or refused with
    `cycle_locked`; none lands after the record without being in it (the lock holds the
    cycle rows FOR SHARE; closing takes them FOR UPDATE)."""
    from sqlalchemy import select

    from service.db import database
    from service.scoring.models import ScoreSnapshot
    from tests.okr.conftest import publish

    t = team
    q4 = await make_cycle(t, "2026-10-01", "2026-12-31", status="active", name="Q4")
    dec = await make_cycle(t, "2026-12-01", "2026-12-31", status="active", name="December", parent_id=q4["id"])
    obj = await make_objective(t, dec, "alice")
    kr = await make_kr(t, obj, start="0", target="1000")
    await make_kr(t, obj, title="Second", start="0", target="10")
    await publish(t, obj)
    for to in ("review", "calibration"):
        assert (
            await t.client.post(f"/api/v1/cycles/{q4['id']}/transition", headers=t.hr, json={"to": to})
        ).status_code == 200

    async def check_in(i: int) -> Any:
        return await t.client.post(
            f"/api/v1/key-results/{kr['id']}/check-ins", headers=t.hr, json={"value": str(10 * (i + 1))}
        )

    async def close() -> Any:
        await asyncio.sleep(0.01)
        return await t.client.post(f"/api/v1/cycles/{q4['id']}/transition", headers=t.hr, json={"to": "closed"})

    *answers, closed = await asyncio.gather(*(check_in(i) for i in range(30)), close())
    assert closed.status_code == 200, closed.text
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    assert all(a.json()["code"] == "cycle_locked" for a in answers if a.status_code == 409)
    record = (await t.client.get(f"/api/v1/cycles/{q4['id']}/scores/{t.employees['alice']['id']}", headers=t.hr)).json()
    assert record["official"] is True
    # the live computation over every stored check-in gives the record's numbers
    assert (await t.client.post(f"/api/v1/cycles/{q4['id']}/scores/recompute", headers=t.hr)).status_code == 200
    async with database.sessions() as session:
        live = (
            await session.execute(
                select(ScoreSnapshot.final).where(
                    ScoreSnapshot.org_id == t.org_id,
                    ScoreSnapshot.cycle_id == uuid.UUID(q4["id"]),
                    ScoreSnapshot.employee_id == uuid.UUID(t.employees["alice"]["id"]),
                )
            )
        ).scalar_one()
    assert record["final"] == str(live.quantize(Decimal("0.01")))
    stored = (
        await t.client.get(f"/api/v1/key-results/{kr['id']}/check-ins", headers=t.hr, params={"limit": 500})
    ).json()["items"]
    assert len(stored) == sum(1 for a in answers if a.status_code == 201)


async def test_overdue_rounds_racing_plan_edits_announce_each_improvement_action_once(team: Tenant):
    """Rounds claim a review meeting's past-due improvement actions while its plan is
    rewritten again and again (the same actions, due in the reverse of their order):
    nothing deadlocks or fails, and each action is announced exactly once."""
    from service.meetings.actions import overdue_round
    from tests.kpi.conftest import make_cycle as make_kpi_cycle
    from tests.meetings.test_actions import overdue_events

    cycle = await make_kpi_cycle(team, status="review")
    owners = ["alice", "bob", "lead", "carol", "alice", "bob"]
    plan = [
        {"action": f"Step {n}", "owner_id": team.employees[who]["id"], "due_date": f"2032-01-{20 - n:02d}"}
        for n, who in enumerate(owners)
    ]
    made = await team.client.post(
        "/api/v1/review-meetings",
        headers=team.hr,
        json={"subject": {"kind": "cycle", "id": cycle["id"]}, "improvement_plan": plan},
    )
    assert made.status_code == 201, made.text
    url = f"/api/v1/review-meetings/{made.json()['id']}"

    async def edits() -> list[int]:
        codes = []
        for i in range(15):
            resp = await team.client.patch(url, headers=team.hr, json={"improvement_plan": plan, "summary": f"v{i}"})
            codes.append(resp.status_code)
        return codes

    async def rounds() -> int:
        return sum([await overdue_round(today=dt.date(2032, 2, 1)) for _ in range(5)])

    codes, *_ = await asyncio.gather(edits(), rounds(), rounds(), rounds())
    assert codes == [200] * 15
    while await overdue_round(today=dt.date(2032, 2, 1)):
        pass
    announced = sorted((e["action_index"], e["owner_id"]) for e in await overdue_events(team))
    assert announced == [(n, team.employees[who]["id"]) for n, who in enumerate(owners)]
