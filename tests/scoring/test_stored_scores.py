"""Stored scores (service/scoring/stored.py, freshness.py): once a cycle's scores are
stored, every write re-scores whom it affects in its own transaction, and score lists read
the rows in SQL. Each test compares the stored answer with the live computation of the
same request (the code path the service used before scores were stored)."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import event, select

from service.auth.context import Ctx
from service.cycles.models import Cycle
from service.db import database
from service.principal import Principal
from service.scoring import freshness, stored
from service.scoring import service as scoring
from service.scoring.models import ScoreSnapshot
from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure
from tests.okr.conftest import check_in, make_kr, make_objective, publish


async def store(t: Tenant, cycle: dict[str, Any]) -> None:
    """Store every score of the cycle at its current version and mark it complete (what a
    finished recompute job leaves)."""
    async with database.sessions() as session:
        ctx = Ctx(
            session=session, principal=Principal(sub="t", org_id=t.org_id, kind="person", roles=frozenset({"hr"}))
        )
        found = await session.get(Cycle, (t.org_id, uuid.UUID(cycle["id"])))
        assert found is not None
        version = await freshness.begin(session, t.org_id, found.id)
        await stored.rescore(ctx, found, await scoring.population(ctx, found), version)
        assert await freshness.complete(session, t.org_id, found.id, version)
        await session.commit()


async def rows(t: Tenant, cycle: dict[str, Any]) -> dict[str, Any]:
    async with database.sessions() as session:
        found = await session.execute(
            select(ScoreSnapshot).where(
                ScoreSnapshot.org_id == t.org_id, ScoreSnapshot.cycle_id == uuid.UUID(cycle["id"])
            )
        )
        return {str(r.employee_id): r for r in found.scalars()}


async def listing(t: Tenant, cycle: dict[str, Any], headers: dict[str, str] | None = None, **params: Any) -> Any:
    resp = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores", headers=headers or t.hr, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def both(
    t: Tenant,
    cycle: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> Any:
    """The list read from the stored rows, checked equal to the live computation."""
    assert await complete(t, cycle)
    read = await listing(t, cycle, headers, **params)
    with monkeypatch.context() as m:
        m.setattr(freshness, "is_complete", _never)
        live = await listing(t, cycle, headers, **params)
    assert read == live
    return read


async def complete(t: Tenant, cycle: dict[str, Any]) -> bool:
    async with database.sessions() as session:
        return await freshness.is_complete(session, t.org_id, uuid.UUID(cycle["id"]))


async def _never(*_: Any) -> bool:
    return False


@pytest.fixture
async def scored(team: Tenant) -> dict[str, Any]:
    """A quarter where alice, bob and carol have KPI results and boss an objective."""
    t = team
    cycle = await make_cycle(t)
    d = await make_definition(t, "SALES")
    assignments = {}
    for who, value in (("alice", "90"), ("bob", "120"), ("carol", "90")):
        assignments[who] = await make_assignment(t, who, cycle, d, method="ratio", target=100)
        await measure(t, assignments[who], value, "2026-10-02")
    obj = await make_objective(t, cycle, "boss", title="Grow")
    kr = await make_kr(t, obj, start="0", target="100")
    await make_kr(t, obj, title="Ship it", kind="boolean", start=None, target=None)
    await publish(t, obj)
    await store(t, cycle)
    return {"cycle": cycle, "assignments": assignments, "kr": kr, "definition": d}


async def test_a_measurement_rescores_its_employee_in_the_same_transaction(team: Tenant, scored, monkeypatch):
    t, cycle = team, scored["cycle"]
    alice = t.employees["alice"]["id"]
    before = (await rows(t, cycle))[alice]
    await measure(t, scored["assignments"]["alice"], "30", "2026-10-03")
    after = (await rows(t, cycle))[alice]
    assert after.final != before.final and after.inputs_version == before.inputs_version
    single = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{alice}", headers=t.hr)
    listed = {s["employee_id"]: s for s in (await both(t, cycle, monkeypatch))["items"]}
    assert listed[alice]["final"] == single.json()["final"]
    assert await complete(t, cycle)


async def test_a_check_in_rescores_the_objective_owner(team: Tenant, scored, monkeypatch):
    t, cycle = team, scored["cycle"]
    boss = t.employees["boss"]["id"]
    before = (await rows(t, cycle))[boss]
    await check_in(t, scored["kr"], value="80")
    after = (await rows(t, cycle))[boss]
    assert before.components.get("okr") != after.components.get("okr")
    await both(t, cycle, monkeypatch)


async def test_a_new_employee_gets_a_row_and_a_leaver_loses_it(team: Tenant, scored, monkeypatch):
    t, cycle = team, scored["cycle"]
    erin = await t.add_employee("erin", manager="lead")
    assert erin["id"] in await rows(t, cycle)
    resp = await t.client.patch(
        f"/api/v1/employees/{erin['id']}", headers=t.hr, json={"termination_date": "2026-01-15"}
    )
    assert resp.status_code == 200, resp.text
    assert erin["id"] not in await rows(t, cycle)
    await both(t, cycle, monkeypatch)


async def test_a_failed_write_leaves_the_stored_score_alone(team: Tenant, scored):
    t, cycle = team, scored["cycle"]
    before = {k: (r.final, r.computed_at) for k, r in (await rows(t, cycle)).items()}
    await measure(t, scored["assignments"]["alice"], "not a number", "2026-10-03", expect=422)
    assert {k: (r.final, r.computed_at) for k, r in (await rows(t, cycle)).items()} == before


async def test_a_policy_change_makes_lists_compute_live_until_recomputed(team: Tenant, scored, monkeypatch):
    t, cycle = team, scored["cycle"]
    resp = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={"name": "Org", "scope": {"kind": "organization"}, "w_kpi": "1", "w_okr": "0", "w_eval": "0"},
    )
    assert resp.status_code == 201, resp.text
    async with database.sessions() as session:
        state = await freshness.state(session, t.org_id, uuid.UUID(cycle["id"]))
    assert state is not None and state[0] == state[1] + 1
    live = await listing(t, cycle)
    assert {s["weights"]["kpi"] for s in live["items"] if s["status"] == "scored"} <= {"1.0000"}
    await store(t, cycle)
    await both(t, cycle, monkeypatch)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sort": "-final", "limit": 2},
        {"sort": "final,family_name", "limit": 3},
        {"sort": "-composite"},
        {"sort": "family_name,-given_name", "limit": 2},
    ],
)
async def test_pages_sorts_and_filters_match_the_live_lists(team: Tenant, scored, monkeypatch, params):
    t, cycle = team, scored["cycle"]
    page = await both(t, cycle, monkeypatch, **params)
    seen = [s["employee_id"] for s in page["items"]]
    while page.get("next_cursor"):
        page = await both(t, cycle, monkeypatch, **params, cursor=page["next_cursor"])
        seen.extend(s["employee_id"] for s in page["items"])
    assert sorted(seen) == sorted(await rows(t, cycle))
    first = (await both(t, cycle, monkeypatch, sort="-final"))["items"]
    rating = first[0]["rating"]
    if rating is not None:
        rated = await both(t, cycle, monkeypatch, sort="-final", rating=rating)
        assert rated["items"] and {s["rating"] for s in rated["items"]} == {rating}


async def test_visibility_and_people_filters_match_the_live_lists(team: Tenant, scored, monkeypatch):
    t, cycle = team, scored["cycle"]
    lead = t.as_("manager", emp=t.employees["lead"]["id"])
    mine = await both(t, cycle, monkeypatch, headers=lead)
    assert {s["employee_id"] for s in mine["items"]} == {t.employees[k]["id"] for k in ("lead", "alice", "bob")}
    own = await both(t, cycle, monkeypatch, headers=t.employee("alice"))
    assert [s["employee_id"] for s in own["items"]] == [t.employees["alice"]["id"]]
    boss = t.employees["boss"]["id"]
    subtree = await both(t, cycle, monkeypatch, manager_id=boss, subtree="true", sort="-final")
    assert len(subtree["items"]) == 4
    direct = await both(t, cycle, monkeypatch, manager_id=boss)
    assert {s["employee_id"] for s in direct["items"]} == {t.employees[k]["id"] for k in ("lead", "carol")}
    await both(t, cycle, monkeypatch, q="alice")
    await both(t, cycle, monkeypatch, explain="true", limit=2)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_random_histories_never_leave_a_stored_score_behind(team: Tenant, scored, monkeypatch, seed):
    """A random history of writes to a stored cycle: after each one the stored rows and
    the lists read from them equal the live computation (the pure engine on the inputs)."""
    t, cycle = team, scored["cycle"]
    rng = random.Random(seed)
    krs = [scored["kr"]]
    assignments = dict(scored["assignments"])
    for step in range(12):
        op = rng.choice(["measure", "measure", "check_in", "assign", "objective", "hire_date"])
        who = rng.choice(["alice", "bob", "carol", "dave", "lead"])
        if op == "measure" and assignments:
            target = assignments[rng.choice(sorted(assignments))]
            day = rng.choice(["2026-10-05", "2026-11-20", "2026-12-30", "2027-01-10"])
            await measure(t, target, str(rng.randint(0, 200)), day)  # one outside the cycle counts for nothing
        elif op == "check_in":
            await check_in(t, rng.choice(krs), value=str(rng.randint(0, 120)))
        elif op == "assign" and who not in assignments:
            assignments[who] = await make_assignment(
                t, who, cycle, scored["definition"], method="ratio", target=rng.choice([50, 100, 150])
            )
        elif op == "objective":
            obj = await make_objective(t, cycle, who, title=f"Objective {step}")
            krs.append(await make_kr(t, obj, start="0", target="100"))
            await make_kr(t, obj, title="Done", kind="boolean", start=None, target=None)
            await publish(t, obj)
        elif op == "hire_date":
            hired = rng.choice(["2026-01-01", "2026-11-01", "2027-02-01"])
            resp = await t.client.patch(
                f"/api/v1/employees/{t.employees[who]['id']}", headers=t.hr, json={"hire_date": hired}
            )
            assert resp.status_code == 200, resp.text
        page = await both(t, cycle, monkeypatch, sort="-final", limit=100)
        stored_rows = await rows(t, cycle)
        assert {s["employee_id"] for s in page["items"]} == set(stored_rows)
        for item in page["items"]:
            single = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{item['employee_id']}", headers=t.hr)
            live = single.json()
            assert (item["final"], item["rating"], item["components"]) == (
                live["final"],
                live["rating"],
                live["components"],
            ), (seed, step, op)


async def test_the_demo_organization_is_stored_and_its_lists_read_the_rows(client, monkeypatch):
    from service.cycles.models import Cycle as CycleRow
    from service.demo import DEMO_ORG_ID, load_demo

    await load_demo()
    async with database.sessions() as session:
        cycles = (await session.execute(select(CycleRow.id).where(CycleRow.org_id == DEMO_ORG_ID))).scalars().all()
        assert cycles and all([await freshness.is_complete(session, DEMO_ORG_ID, c) for c in cycles])
    t = Tenant(org_id=DEMO_ORG_ID, client=client)
    for cycle_id in cycles:
        await both(t, {"id": str(cycle_id)}, monkeypatch, sort="-final")


@pytest.mark.parametrize("sort", [None, [{"field": "FINAL", "direction": "DESC"}]])
async def test_graphql_pages_match_the_live_pages(team: Tenant, scored, monkeypatch, sort):
    """GraphQL's cycleScores walked forward and backward (`last`/`before`) over the stored
    rows: the same nodes and cursors as the live computation."""
    from tests.org.test_graphql_org import gql, ok

    t, cycle = team, scored["cycle"]
    q = """query($c: ID!, $after: String, $before: String, $first: Int, $last: Int, $sort: [ScoreOrder!]) {
             cycleScores(cycleId: $c, first: $first, last: $last, after: $after, before: $before, orderBy: $sort) {
               edges { cursor node { employeeId final rating } }
               pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }"""

    async def walk() -> list[Any]:
        pages, after = [], None
        while True:
            page = ok(await gql(t, q, c=cycle["id"], first=2, after=after, sort=sort))["cycleScores"]
            pages.append(page)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        back = ok(await gql(t, q, c=cycle["id"], last=2, before=after, sort=sort))["cycleScores"]
        return [*pages, back]

    stored_pages = await walk()
    assert sum(len(p["edges"]) for p in stored_pages[:-1]) == len(await rows(t, cycle))
    with monkeypatch.context() as m:
        m.setattr(freshness, "is_complete", _never)
        assert await walk() == stored_pages


async def test_a_later_page_bounds_the_index_by_the_first_sort_key(team: Tenant, scored, monkeypatch):
    """Page 2 of `sort=-final` narrows `final_shown` with a plain range beside the keyset
    disjunction: PostgreSQL uses it as the index bound (`Index Cond`), so page n does not
    read the pages before it. The NULLs past the last value come from a second query only
    when a page reaches them; the pages stay equal to the live ones."""
    t, cycle = team, scored["cycle"]
    first = await both(t, cycle, monkeypatch, sort="-final", limit=1)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM score_snapshots" in statement and "ORDER BY" in statement:
            sent.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await listing(t, cycle, sort="-final", limit=1, cursor=first["next_cursor"])
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    await both(t, cycle, monkeypatch, sort="-final", limit=1, cursor=first["next_cursor"])
    bound = re.compile(r"(CAST\()?score_snapshots\.final_shown( AS REAL\))? <= ")
    ranged = [(s, p) for s, p in sent if bound.search(s.split("ORDER BY")[0])]
    assert ranged, [s for s, _ in sent]
    if database.engine.dialect.name == "postgresql":
        statement, parameters = ranged[0]
        raw = await database.engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            async with driver.transaction():
                if await driver.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'citus'"):
                    # the plan that matters is the shard's, made on a worker
                    await driver.execute("SET LOCAL citus.propagate_set_commands = 'local'")
                await driver.execute("SET LOCAL enable_seqscan = off")
                plan = "\n".join(r[0] for r in await driver.fetch("EXPLAIN " + statement, *parameters))
        finally:
            raw.close()
        conds = [line for line in plan.splitlines() if "Index Cond" in line]
        assert any("final_shown <=" in line for line in conds), plan


@pytest.mark.parametrize(
    ("params", "headers_of"),
    [
        ({}, "hr"),
        ({"sort": "-final,family_name"}, "hr"),
        ({"rating": "B"}, "hr"),
        ({"q": "alice"}, "hr"),
        ({"sort": "given_name"}, "lead"),
    ],
)
async def test_the_csv_export_reads_the_stored_rows(
    team: Tenant, scored: dict[str, Any], monkeypatch: pytest.MonkeyPatch, params: dict[str, str], headers_of: str
):
    """Once the cycle is complete the export pages through the stored rows, `CHUNK` at a
    time, scoring nobody; its rows are those the live export writes."""
    from service.kit import export
    from tests.conftest import statement_hook
    from tests.listing import read_csv

    cycle = scored["cycle"]
    await store(team, cycle)
    headers = {**(team.hr if headers_of == "hr" else team.employee(headers_of)), "Accept": "text/csv"}
    path = f"/api/v1/cycles/{cycle['id']}/scores"
    monkeypatch.setattr(export, "CHUNK", 2)
    sent: list[str] = []
    with statement_hook(sent.append):
        read = read_csv(await team.client.get(path, headers=headers, params=params))
    assert not [s for s in sent if "FROM kpi_assignments" in s]  # nobody scored
    pages = [s for s in sent if "FROM score_snapshots" in s]
    assert len(pages) >= max(1, -(-(len(read) - 1) // 2))  # keyset pages of 2 rows, not one read
    with monkeypatch.context() as m:
        m.setattr(freshness, "is_complete", _never)
        live = read_csv(await team.client.get(path, headers=headers, params=params))
    assert read == live and len(read) > 1
