"""The payroll contract: finalized money results only, cursor pages that never skip or
repeat (also while results are being finalized concurrently, proven with a transaction
held open across a reader's pulls), `updated_since`, CSV streamed in chunks with exactly
the agreed columns, and acknowledgements that are idempotent."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import uuid
from typing import Any

import pytest
from sqlalchemy import insert

from service.auth.context import Ctx
from service.db import database
from service.incentives import results as results_service
from service.incentives.models import IncentivePlan, IncentiveResult, PayrollSequence
from service.org.models import Employee
from service.principal import Principal
from tests.conftest import Tenant, bearer
from tests.incentives.conftest import (
    act,
    audit_events,
    by_employee,
    comp,
    finalize_plan,
    give_scores,
    make_plan,
    pull_all,
    results_of,
    run,
    set_employee,
)

FEED = "/api/v1/payroll/incentive-results"
COLUMNS = [
    "result_id",
    "employee_external_id",
    "plan",
    "period_start",
    "period_end",
    "earning_code",
    "amount",
    "currency",
    "kind",
    "adjusts_id",
    "finalized_at",
]


def payroll(t: Tenant) -> dict[str, str]:
    return t.as_scope("payroll:read")


async def bonus(
    t: Tenant, cycle: dict[str, Any], amounts: dict[str, int], score: int = 90, **plan_fields: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    await give_scores(t, cycle, {k: score for k in amounts})
    for key, amount in amounts.items():
        await set_employee(t, key, compensation=comp(amount, currency=plan_fields.get("currency", "USD")))
    plan = await make_plan(t, cycle, **plan_fields)
    await run(t, plan)
    return plan, by_employee(t, await results_of(t, plan))


async def csv_rows(t: Tenant, headers: dict[str, str], **params: Any) -> tuple[list[list[str]], Any]:
    resp = await t.client.get(FEED, headers={**headers, "Accept": "text/csv"}, params=params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(resp.text))), resp


async def test_feed_pages_resume_and_filters(team, q4):
    t = team
    first, got = await bonus(t, q4, {"alice": 1000, "bob": 2000, "carol": 3000})
    await act(t, got["carol"], "approve")  # approved, not finalized: not in the feed
    await act(t, got["alice"], "approve")
    await act(t, got["bob"], "approve")
    before = dt.datetime.now(dt.UTC)
    await act(t, got["alice"], "finalize")
    await act(t, got["bob"], "finalize")
    items, resume = await pull_all(t, payroll(t), limit=1)
    assert [(i["id"], i["sequence"]) for i in items] == [(got["alice"]["id"], 1), (got["bob"]["id"], 2)]
    alice = items[0]
    assert alice == {
        **alice,
        "employee_external_id": t.employees["alice"]["external_id"],
        "plan": first["name"],
        "plan_id": first["id"],
        "period_start": "2026-10-01",
        "period_end": "2026-12-31",
        "earning_code": "BONUS",
        "amount_minor": 1000,
        "amount": "10.00",
        "currency": "USD",
        "kind": "payment",
        "adjusts_id": None,
        "payroll": None,
    }
    page = await t.client.get(FEED, headers=payroll(t), params={"limit": 5})
    assert page.json()["next_cursor"] is None and page.json()["resume_cursor"] == resume
    # Nothing new: the resume cursor stays where it was.
    again, same = await pull_all(t, payroll(t), cursor=resume)
    assert again == [] and same == resume
    await act(t, got["carol"], "finalize")
    later, resume2 = await pull_all(t, payroll(t), cursor=resume)
    assert [i["id"] for i in later] == [got["carol"]["id"]] and resume2 != resume
    # Filters
    other, other_got = await bonus(t, q4, {"dave": 500}, name="Spot award")
    await finalize_plan(t, other)
    only_other, _ = await pull_all(t, payroll(t), plan_id=other["id"])
    assert {i["id"] for i in only_other} == {r["id"] for r in other_got.values()} and len(only_other) == 4
    since = (await t.client.get(FEED, headers=payroll(t), params={"updated_since": before.isoformat()})).json()
    assert len(since["items"]) == 7
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert (await t.client.get(FEED, headers=payroll(t), params={"updated_since": future})).json()["items"] == []
    naive = (await t.client.get(FEED, headers=payroll(t), params={"updated_since": "2000-01-01T00:00:00"})).json()
    assert len(naive["items"]) == 7


async def test_only_finalized_money_reaches_payroll(team, q4):
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000, "bob": 2000, "carol": 3000})
    await act(t, got["alice"], "decline")
    await act(t, got["bob"], "approve")
    okr = await make_plan(t, q4, kind="okr_breakthrough")
    await run(t, okr)
    items, _ = await pull_all(t, payroll(t))
    assert items == []
    await act(t, got["bob"], "finalize")
    items, _ = await pull_all(t, payroll(t))
    assert [i["id"] for i in items] == [got["bob"]["id"]]


@pytest.mark.parametrize("cursor", ["nope", "eyJpZCI6IDF9", "eyJwYXlyb2xsX3NlcSI6IC0xfQ"])
async def test_bad_cursor_is_422(team, cursor):
    resp = await team.client.get(FEED, headers=payroll(team), params={"cursor": cursor})
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["query", "cursor"]
    csv_resp = await team.client.get(FEED, headers={**payroll(team), "Accept": "text/csv"}, params={"cursor": cursor})
    assert csv_resp.status_code == 422
    assert (await team.client.get(FEED, headers=payroll(team), params={"limit": 501})).status_code == 422


async def test_csv_columns_currencies_adjustments_and_resume_header(team, q4):
    t = team
    await set_employee(t, "alice", external_id="=HYPERLINK(1)")
    usd, usd_got = await bonus(t, q4, {"alice": 190957, "bob": 2000}, name="Q4, bonus")
    yen, yen_got = await bonus(t, q4, {"carol": 272219}, currency="JPY", name="Japan")
    kwd, kwd_got = await bonus(t, q4, {"dave": 601644}, currency="KWD", name="Kuwait")
    for plan in (usd, yen, kwd):
        await finalize_plan(t, plan)
    adj = await t.client.post(
        f"/api/v1/incentive-results/{kwd_got['dave']['id']}/adjust",
        headers=t.hr,
        json={"amount_minor": -5, "reason": "rounding agreed with payroll"},
    )
    await act(t, await act(t, adj.json(), "approve"), "finalize")
    rows, resp = await csv_rows(t, payroll(t))
    assert rows[0] == COLUMNS
    body = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    json_items, resume = await pull_all(t, payroll(t), limit=500)
    assert [r["result_id"] for r in body] == [i["id"] for i in json_items]  # the feed's order
    assert resp.headers["x-resume-cursor"] == resume
    shown = {r["result_id"]: (r["amount"], r["currency"], r["kind"]) for r in body}
    assert shown == {
        usd_got["alice"]["id"]: ("1909.57", "USD", "payment"),
        usd_got["bob"]["id"]: ("20.00", "USD", "payment"),
        yen_got["carol"]["id"]: ("272219", "JPY", "payment"),
        kwd_got["dave"]["id"]: ("601.644", "KWD", "payment"),
        adj.json()["id"]: ("-0.005", "KWD", "adjustment"),
    }
    assert [r["currency"] for r in body] == ["USD", "USD", "JPY", "KWD", "KWD"]
    by_id = {r["result_id"]: r for r in body}
    alice = by_id[usd_got["alice"]["id"]]
    assert alice["employee_external_id"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert alice["plan"] == "Q4, bonus" and resp.text.count('"Q4, bonus"') == 2
    assert by_id[adj.json()["id"]]["adjusts_id"] == kwd_got["dave"]["id"] and alice["adjusts_id"] == ""
    assert (alice["period_start"], alice["period_end"], alice["earning_code"]) == ("2026-10-01", "2026-12-31", "BONUS")
    assert alice["finalized_at"].endswith("Z") and dt.datetime.fromisoformat(alice["finalized_at"])
    assert resp.text.endswith("\r\n")
    # From a cursor, and limited: the cursors are those the JSON pages hand out.
    after_three = (await t.client.get(FEED, headers=payroll(t), params={"limit": 3})).json()["next_cursor"]
    after_two = (await t.client.get(FEED, headers=payroll(t), params={"limit": 2})).json()["next_cursor"]
    tail, tail_resp = await csv_rows(t, payroll(t), cursor=after_three)
    assert [r[0] for r in tail[1:]] == [i["id"] for i in json_items[3:]]
    assert tail_resp.headers["x-resume-cursor"] == resume
    limited, limited_resp = await csv_rows(t, payroll(t), limit=2)
    assert [r[0] for r in limited[1:]] == [i["id"] for i in json_items[:2]]
    assert limited_resp.headers["x-resume-cursor"] == after_two
    nothing, nothing_resp = await csv_rows(t, payroll(t), cursor=resume)
    assert nothing == [COLUMNS] and nothing_resp.headers["x-resume-cursor"] == resume


async def seed_finalized(org_id: uuid.UUID, count: int) -> None:
    """`count` finalized results written straight into the database (set-based)."""
    from service.cycles.models import Cycle

    now = dt.datetime.now(dt.UTC)
    cycle_id, plan_id = uuid.uuid4(), uuid.uuid4()
    people = [uuid.uuid4() for _ in range(count)]
    async with database.sessions() as session:
        await session.execute(
            insert(Cycle).values(
                org_id=org_id,
                id=cycle_id,
                name="Seeded",
                cadence="custom",
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2026, 3, 31),
                status="closed",
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await session.execute(
            insert(IncentivePlan).values(
                org_id=org_id,
                id=plan_id,
                name="Seeded plan",
                kind="short_term_bonus",
                cycle_id=cycle_id,
                currency="USD",
                params={"earning_code": "BONUS"},
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await session.execute(
            insert(Employee),
            [
                {
                    "org_id": org_id,
                    "id": e,
                    "external_id": f"S{i:06d}",
                    "email": f"s{i}@example.com",
                    "given_name": "S",
                    "family_name": "Seed",
                    "status": "active",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, e in enumerate(people)
            ],
        )
        await session.execute(
            insert(IncentiveResult),
            [
                {
                    "org_id": org_id,
                    "id": uuid.uuid4(),
                    "plan_id": plan_id,
                    "employee_id": e,
                    "kind": "payment",
                    "status": "finalized",
                    "amount_minor": 1000 + i,
                    "currency": "USD",
                    "earning_code": "BONUS",
                    "period_start": dt.date(2026, 1, 1),
                    "period_end": dt.date(2026, 3, 31),
                    "inputs": {},
                    "created_by": "seed",
                    "finalized_at": now,
                    "finalized_by": "seed",
                    "payroll_seq": i + 1,
                    "version": 3,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, e in enumerate(people)
            ],
        )
        await session.execute(insert(PayrollSequence).values(org_id=org_id, last_seq=count))
        await session.commit()


async def test_csv_is_streamed_in_chunks(app, team):
    """At the ASGI level: the body leaves in several messages (1,000 rows each), not as
    one buffered answer."""
    t = team
    await seed_finalized(t.org_id, 2500)
    token = payroll(t)["Authorization"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": FEED,
        "raw_path": FEED.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"authorization", token), (b"accept", b"text/csv")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 5000),
    }
    messages: list[dict[str, Any]] = []
    requested = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # the client stays connected until the whole body is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    await app(scope, receive, send)
    assert messages[0]["status"] == 200
    chunks = [m["body"] for m in messages if m["type"] == "http.response.body" and m.get("body")]
    assert len(chunks) >= 4  # the header, then 1,000 + 1,000 + 500 rows
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[0] == COLUMNS and len(rows) == 2501
    assert [r[1] for r in rows[1:4]] == ["S000000", "S000001", "S000002"] and rows[-1][6] == "34.99"


# --- acknowledgements --------------------------------------------------------------------------------


async def test_acknowledge_once_and_harmlessly_again(team, q4):
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000, "bob": 2000})
    await act(t, got["bob"], "approve")
    await act(t, await act(t, got["alice"], "approve"), "finalize")
    ack = t.as_scope("payroll:ack")
    path = f"{FEED}/{got['alice']['id']}/ack"
    first = await t.client.post(path, headers=ack, json={"payroll_reference": "PR-2026-12-0042"})
    assert first.status_code == 200, first.text
    assert first.json()["payroll_reference"] == "PR-2026-12-0042" and first.json()["result_id"] == got["alice"]["id"]
    second = await t.client.post(path, headers=t.as_scope("payroll:ack"), json={"payroll_reference": "PR-2026-12-0042"})
    assert second.status_code == 200 and second.json() == first.json()
    other = await t.client.post(path, headers=ack, json={"payroll_reference": "PR-OTHER"})
    assert other.status_code == 409 and other.json()["payroll_reference"] == "PR-2026-12-0042"
    assert [e.action for e in await audit_events(t, got["alice"]["id"])].count("incentive_result.acknowledged") == 1
    items, _ = await pull_all(t, payroll(t))
    assert items[0]["payroll"]["payroll_reference"] == "PR-2026-12-0042"
    assert (await pull_all(t, payroll(t), acknowledged="false"))[0] == []
    assert len((await pull_all(t, payroll(t), acknowledged="true"))[0]) == 1
    shown = (await t.client.get(f"/api/v1/incentive-results/{got['alice']['id']}", headers=t.hr)).json()
    assert shown["payroll"]["payroll_reference"] == "PR-2026-12-0042" and shown["status"] == "finalized"
    # Not finalized: hidden from a client, a state conflict for hr.
    bob_path = f"{FEED}/{got['bob']['id']}/ack"
    assert (await t.client.post(bob_path, headers=ack, json={"payroll_reference": "x"})).status_code == 404
    refused = await t.client.post(bob_path, headers=t.hr, json={"payroll_reference": "x"})
    assert (refused.status_code, refused.json()["status"], refused.json()["result_status"]) == (409, 409, "approved")
    bad = await t.client.post(path, headers=ack, json={"payroll_reference": ""})
    assert bad.status_code == 422
    missing = await t.client.post(f"{FEED}/{uuid.uuid4()}/ack", headers=ack, json={"payroll_reference": "x"})
    assert missing.status_code == 404


async def test_concurrent_acknowledgements_with_one_reference_both_succeed(team, q4):
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000})
    await finalize_plan(t, plan)
    path = f"{FEED}/{got['alice']['id']}/ack"
    answers = await asyncio.gather(
        *[t.client.post(path, headers=t.as_scope("payroll:ack"), json={"payroll_reference": "PR-1"}) for _ in range(4)]
    )
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["acknowledged_at"] for a in answers}) == 1


# --- concurrency -----------------------------------------------------------------------------------------


def hr_ctx(session: Any, t: Tenant) -> Ctx:
    return Ctx(
        session=session, principal=Principal(sub="hr-in-test", org_id=t.org_id, kind="person", roles=frozenset({"hr"}))
    )


async def test_a_finalization_committing_later_never_lands_behind_a_readers_cursor(team, q4):
    """Transaction A finalizes alice and stays open; B finalizes bob meanwhile (over
    HTTP). B must wait for A, so bob cannot commit with a position a reader has already
    passed. The reader pulls while A is open, then after both: it gets alice then bob,
    each once."""
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000, "bob": 2000})
    await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/approve", headers=t.hr)
    nothing, cursor = await pull_all(t, payroll(t))
    assert nothing == []
    async with database.sessions() as session:
        await results_service.transition(hr_ctx(session, t), uuid.UUID(got["alice"]["id"]), "finalize")
        b = asyncio.create_task(t.client.post(f"/api/v1/incentive-results/{got['bob']['id']}/finalize", headers=t.hr))
        await asyncio.sleep(0.6)
        assert not b.done(), "a second finalization must wait for the first one's commit"
        during, cursor = await pull_all(t, payroll(t), cursor=cursor)
        assert during == []  # neither is committed
        await session.commit()
    answer = await asyncio.wait_for(b, timeout=30)
    assert answer.status_code == 200, answer.text
    after, cursor = await pull_all(t, payroll(t), cursor=cursor, limit=1)
    assert [(i["id"], i["sequence"]) for i in after] == [(got["alice"]["id"], 1), (got["bob"]["id"], 2)]
    assert (await pull_all(t, payroll(t), cursor=cursor))[0] == []


async def test_a_rolled_back_finalization_leaves_no_gap_and_no_duplicate(team, q4):
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000, "bob": 2000})
    await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/approve", headers=t.hr)
    async with database.sessions() as session:
        await results_service.transition(hr_ctx(session, t), uuid.UUID(got["alice"]["id"]), "finalize")
        await session.rollback()
    await act(t, got["bob"], "finalize")
    await act(t, got["alice"], "finalize")
    items, _ = await pull_all(t, payroll(t))
    assert [(i["id"], i["sequence"]) for i in items] == [(got["bob"]["id"], 1), (got["alice"]["id"], 2)]


async def test_pull_under_concurrent_finalization_never_skips_or_repeats(team, q4):
    """Many finalizations race (one request each) while a reader keeps pulling one
    result at a time; every result arrives exactly once, in sequence order."""
    t = team
    for i in range(6):
        await t.add_employee(f"extra{i}")
    keys = list(t.employees)
    await give_scores(t, q4, {k: 90 for k in keys})
    for i, key in enumerate(keys):
        await set_employee(t, key, compensation=comp(100 + i))
    ids: list[str] = []
    for n in range(2):
        plan = await make_plan(t, q4, name=f"Plan {n}")
        await run(t, plan)
        approved = await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/approve", headers=t.hr)
        ids.extend(approved.json()["result_ids"])
    assert len(ids) == 2 * len(keys)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    done = asyncio.Event()

    async def reader() -> None:
        nonlocal cursor
        while True:
            finished = done.is_set()
            query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            resp = await t.client.get(FEED, headers=payroll(t), params=query)
            assert resp.status_code == 200, resp.text
            seen.extend(resp.json()["items"])
            cursor = resp.json()["resume_cursor"]
            if finished and resp.json()["next_cursor"] is None:
                return
            await asyncio.sleep(0)

    async def finalize(result_id: str) -> int:
        return (
            await t.client.post(f"/api/v1/incentive-results/{result_id}/finalize", headers=bearer(t.token(["hr"])))
        ).status_code

    reading = asyncio.create_task(reader())
    statuses = await asyncio.gather(*[finalize(i) for i in ids])
    done.set()
    await asyncio.wait_for(reading, timeout=60)
    assert statuses == [200] * len(ids)
    assert len(seen) == len(ids) == len({i["id"] for i in seen})
    assert {i["id"] for i in seen} == set(ids)
    assert [i["sequence"] for i in seen] == list(range(1, len(ids) + 1))
    feed_after, _ = await pull_all(t, payroll(t), limit=500)
    assert [i["id"] for i in feed_after] == [i["id"] for i in seen]


async def test_payroll_exports_the_plan_name_it_was_finalized_under(team, q4):
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000}, name="Q4 bonus")
    await finalize_plan(t, plan)
    renamed = await t.client.patch(f"/api/v1/incentive-plans/{plan['id']}", headers=t.hr, json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    rows, _ = await csv_rows(t, payroll(t))
    assert rows[0] == COLUMNS and [r[COLUMNS.index("plan")] for r in rows[1:]] == ["Q4 bonus"]
    items, _ = await pull_all(t, payroll(t))
    assert [i["plan"] for i in items] == ["Q4 bonus"]
    # a correction finalized after the rename carries the name it was finalized under
    adj = await act(t, got["alice"], "adjust", expect=201, amount_minor=5, reason="fix")
    await act(t, await act(t, adj, "approve"), "finalize")
    rows, _ = await csv_rows(t, payroll(t))
    assert [r[COLUMNS.index("plan")] for r in rows[1:]] == ["Q4 bonus", "Renamed"]
