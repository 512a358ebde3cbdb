"""Background work on a real Citus cluster: the outbox relay, webhook delivery claims and
score jobs on tables distributed by organization, where `FOR UPDATE` works only in a
query routed to one shard (`org_id = :org`).

Runs when `TEST_CITUS_URL` names a Citus coordinator (tests/citus.py; `make test-citus`
sets it). The module makes a database of its own on every node, migrated (which
distributes every table, service/citus.py), and drops it at the end, so its real worker
process sees no other test's subscriptions. Without the variable the module is skipped
with a banner."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from standardwebhooks import Webhook

from service.config import get_settings
from service.cycles.models import Cycle
from service.db import Database
from service.kit import outbox
from service.kit.models import IdempotencyRecord, OutboxEvent
from service.migrate import upgrade
from service.org.events import EmployeeUpserted
from service.org.models import Employee, Organization
from service.scoring import freshness, jobs
from service.scoring.models import ScoreJob, ScoreJobChunk
from service.types import new_id, utcnow
from service.webhooks import signing
from service.webhooks.delivery import DeliveryConfig, Dispatcher
from service.webhooks.models import WebhookDelivery, WebhookSubscription
from tests import citus as cluster
from tests.required import loud
from tests.webhooks.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
HOW = "run `make test-citus`, or set TEST_CITUS_URL to a Citus coordinator (tests/citus.py)"
# a cycle for the score jobs to belong to
A_YEAR: dict[str, Any] = {
    "name": "2026",
    "cadence": "annual",
    "start_date": dt.date(2026, 1, 1),
    "end_date": dt.date(2026, 12, 31),
    "status": "active",
    "version": 1,
}


class LoopbackOrRefuse(httpx.AsyncHTTPTransport):
    """Attempts reach 127.0.0.1 only; any other address fails as a refused connection
    (another organization's subscription in a shared database), without traffic."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "127.0.0.1":
            raise httpx.ConnectError(f"the Citus tests reach 127.0.0.1 only, not {request.url.host}", request=request)
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
async def citus(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """The distributed database (migrated and distributed on first use)."""
    if not cluster.enabled():
        message = f"NO Citus cluster: the Citus tests of the background work are SKIPPED ({HOW})"
        loud(request.config, message)
        pytest.skip(message)
    name = f"citus_webhooks_{os.getpid()}"
    await cluster.create_database(name)
    url = cluster.database_url(name)
    await asyncio.to_thread(upgrade, url)
    db = Database(url=url)
    yield db
    await db.dispose()
    await cluster.drop_database(name)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


# --- making things in the distributed database ----------------------------------------------


async def node_of(db: Database, org_id: uuid.UUID) -> int:
    """The port of the worker node holding the organization's shard of `outbox_events`."""
    async with db.sessions() as session:
        return (
            await session.execute(
                text(
                    "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n ON n.groupid = p.groupid "
                    "WHERE p.shardid = get_shard_id_for_distribution_column('outbox_events', CAST(:org AS uuid))"
                ),
                {"org": org_id},
            )
        ).scalar_one()


async def make_org(db: Database, name: str) -> uuid.UUID:
    org_id = new_id()
    now = utcnow()
    async with db.sessions() as session, session.begin():
        await session.execute(
            insert(Organization).values(
                id=org_id,
                name=f"{name} {org_id.hex[:6]}",
                currency="USD",
                timezone="UTC",
                fiscal_year_start="01-01",
                settings={"webhooks_allow_private": True},
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
    return org_id


async def orgs_on_every_node(db: Database, count: int) -> list[uuid.UUID]:
    """`count` new organizations, at least one on each worker node holding shards."""
    async with db.sessions() as session:
        nodes = set(
            (
                await session.execute(
                    text("SELECT DISTINCT nodeport FROM citus_shards WHERE citus_table_type = 'distributed'")
                )
            )
            .scalars()
            .all()
        )
    found: dict[int, list[uuid.UUID]] = {}
    while len(found) < min(len(nodes), count) or sum(map(len, found.values())) < count:
        org_id = await make_org(db, "Citus")
        found.setdefault(await node_of(db, org_id), []).append(org_id)
    firsts = [ids[0] for ids in found.values()]
    rest = [o for ids in found.values() for o in ids[1:]]
    return (firsts + rest)[:count]


async def subscribe(db: Database, org_id: uuid.UUID, url: str) -> str:
    """A subscription to `employee.upserted` at `url`; answers its signing secret."""
    secret = signing.generate_secret()
    now = utcnow()
    async with db.sessions() as session, session.begin():
        session.add(
            WebhookSubscription(
                org_id=org_id,
                id=new_id(),
                url=url,
                events=["employee.upserted"],
                active=True,
                secret=signing.seal(secret),
                consecutive_dead=0,
                created_by="citus-test",
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
    return secret


async def emit(db: Database, org_id: uuid.UUID, count: int = 1) -> list[uuid.UUID]:
    ids = []
    for _ in range(count):
        async with db.sessions() as session, session.begin():
            payload = EmployeeUpserted(employee_ids=[uuid.uuid4()], created=1, updated=0)
            ids.append(await outbox.emit(session, org_id, "employee.upserted", payload))
    return ids


async def delivery_rows(db: Database, orgs: list[uuid.UUID]) -> list[WebhookDelivery]:
    async with db.sessions() as session:
        found = []
        for org_id in orgs:  # one routed read per organization
            found += (
                (await session.execute(select(WebhookDelivery).where(WebhookDelivery.org_id == org_id))).scalars().all()
            )
        return found


def engine(db: Database, **overrides: Any) -> Dispatcher:
    """A delivery engine serving every organization, with the retry schedule in milliseconds."""
    options: dict[str, Any] = {
        "retry_scale": 1e-4,
        "retry_jitter": 0.0,
        "total_timeout": 5.0,
        "connect_timeout": 2.0,
        **overrides,
    }
    return Dispatcher(DeliveryConfig(**options), db=db, transport=LoopbackOrRefuse())


async def until(check: Callable[[], Awaitable[bool]], rounds: Callable[[], Awaitable[Any]], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("the engine did not reach the expected state in time")
        await rounds()
        await asyncio.sleep(0.01)


def settled(db: Database, orgs: list[uuid.UUID], count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        rows = await delivery_rows(db, orgs)
        return len(rows) == count and all(r.status == "succeeded" for r in rows)

    return check


# --- the tests ------------------------------------------------------------------------------


async def test_the_tables_are_distributed_and_a_global_claim_is_refused(citus: Database) -> None:
    """What the engine works around: the old claim across organizations fails on Citus."""
    async with citus.sessions() as session:
        distributed = dict(
            (
                await session.execute(text("SELECT logicalrelid::regclass::text, colocationid FROM pg_dist_partition"))
            ).all()
        )
        for table in ("organizations", "outbox_events", "webhook_deliveries", "webhook_subscriptions", "score_jobs"):
            assert table in distributed, f"{table} is not distributed"
        assert len({distributed[t] for t in ("organizations", "outbox_events", "webhook_deliveries")}) == 1
        old_claim = (
            select(OutboxEvent.org_id, OutboxEvent.id)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.created_at)
            .limit(200)
            .with_for_update(skip_locked=True)
        )
        with pytest.raises(DBAPIError, match="could not run distributed query with FOR UPDATE"):
            await session.execute(old_claim)


async def test_events_of_organizations_on_every_node_are_delivered_signed(citus: Database, receiver: Receiver) -> None:
    orgs = await orgs_on_every_node(citus, 3)
    assert len({await node_of(citus, o) for o in orgs}) >= 2, "the organizations live on more than one node"
    secrets_ = {org_id: await subscribe(citus, org_id, receiver.url(f"/{org_id}")) for org_id in orgs}
    events = {org_id: await emit(citus, org_id, 4) for org_id in orgs}
    d = engine(citus)
    try:
        await until(settled(citus, orgs, 12), d.run_once)
    finally:
        await d.aclose()
    await asyncio.sleep(0.2)
    got: dict[uuid.UUID, list[str]] = {}
    for req in receiver.requests:
        org_id = uuid.UUID(req.path.strip("/"))
        payload = Webhook(secrets_[org_id]).verify(req.body, req.headers)  # signed with its organization's secret
        assert payload["type"] == "employee.upserted"
        got.setdefault(org_id, []).append(req.webhook_id)
    assert {o: len(ids) for o, ids in got.items()} == {o: 4 for o in orgs}
    assert len({i for ids in got.values() for i in ids}) == 12, "every delivery once"
    rows = await delivery_rows(citus, orgs)
    assert {(r.org_id, r.event_id) for r in rows} == {(o, e) for o, ids in events.items() for e in ids}


async def test_the_work_of_one_organization_routes_to_one_shard(citus: Database, receiver: Receiver) -> None:
    """With Citus told to refuse any statement that fans out to several shards, an engine
    working for one organization fans out, claims, delivers and acknowledges: each of
    those statements is routed to the organization's shard. Only the discovery of
    organizations with pending work (a plain read, no locks) fans out."""
    org_id = await make_org(citus, "Routed")
    secret = await subscribe(citus, org_id, receiver.url())
    await emit(citus, org_id, 2)
    routed = Database(url=citus.url)

    def refuse_multi_shard(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET citus.multi_task_query_log_level = 'error'")
        cursor.close()

    event.listen(routed.engine.sync_engine, "connect", refuse_multi_shard)
    mine, everyone = engine(routed, org_id=org_id), engine(routed)
    try:
        assert await mine.fan_out() == 2
        claims = await mine.claim()
        assert len(claims) == 2
        assert all([await mine.deliver(c) for c in claims])
        with pytest.raises(DBAPIError, match="multi-task query about to be executed"):
            await everyone.fan_out()
    finally:
        await mine.aclose()
        await everyone.aclose()
        await routed.dispose()
    assert len(receiver.requests) == 2
    for req in receiver.requests:
        Webhook(secret).verify(req.body, req.headers)
    assert all(r.status == "succeeded" for r in await delivery_rows(citus, [org_id]))


async def test_concurrent_dispatchers_never_deliver_twice(citus: Database, receiver: Receiver) -> None:
    """Three engines, each with a pool of its own (as three worker processes), small
    batches so that they meet on the same organizations, rows and shards."""
    orgs = await orgs_on_every_node(citus, 2)
    for org_id in orgs:
        await subscribe(citus, org_id, receiver.url())
        await emit(citus, org_id, 15)
    dbs = [Database(url=citus.url) for _ in range(3)]
    workers = [engine(db, batch_size=3, outbox_batch_size=4) for db in dbs]

    async def loop(w: Dispatcher) -> None:
        idle = 0
        while idle < 3:
            idle = 0 if await w.run_once() else idle + 1
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(loop(w) for w in workers))
        await until(settled(citus, orgs, 30), workers[0].run_once)
    finally:
        for w, db in zip(workers, dbs, strict=True):
            await w.aclose()
            await db.dispose()
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30
    rows = await delivery_rows(citus, orgs)
    assert all(r.attempts == 1 for r in rows)


async def test_a_dead_workers_lease_is_taken_over(citus: Database, receiver: Receiver) -> None:
    org_id = await make_org(citus, "Lease")
    await subscribe(citus, org_id, receiver.url())
    await emit(citus, org_id)
    dead = engine(citus, org_id=org_id, total_timeout=0.2, lease_seconds=0)  # lease: 1.2 s
    live = engine(citus, org_id=org_id)
    try:
        await dead.fan_out()
        (claim,) = await dead.claim()  # and then the process is gone
        assert await live.claim() == [], "still leased"
        await asyncio.sleep(1.4)
        (taken,) = await live.claim()
        assert taken.delivery_id == claim.delivery_id and taken.token != claim.token
        assert await live.deliver(taken) is True
        assert await dead.deliver(claim) is False, "a late acknowledgement is ignored"
    finally:
        await dead.aclose()
        await live.aclose()
    (row,) = await delivery_rows(citus, [org_id])
    assert row.status == "succeeded" and row.attempts == 1


async def test_the_worker_process_delivers_from_the_distributed_outbox(citus: Database, receiver: Receiver) -> None:
    org_id = await make_org(citus, "Worker")
    secret = await subscribe(citus, org_id, receiver.url())
    await emit(citus, org_id, 3)
    env = {
        **os.environ,
        "DATABASE_URL": citus.url,
        "WEBHOOK_POLL_SECONDS": "0.05",
        "WEBHOOK_RETRY_SCALE": "0.0001",
        "WEBHOOK_RETRY_JITTER": "0",
        "WEBHOOK_TIMEOUT_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "service", "worker", "--once"]
    done = await asyncio.to_thread(subprocess.run, command, cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"FOR UPDATE" not in done.stderr
    assert len(receiver.requests) == 3
    assert len({r.webhook_id for r in receiver.requests}) == 3
    for req in receiver.requests:
        assert Webhook(secret).verify(req.body, req.headers)["type"] == "employee.upserted"
    assert all(r.status == "succeeded" for r in await delivery_rows(citus, [org_id]))


async def test_score_job_chunks_are_shared_and_taken_over_on_citus(
    citus: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recompute job's chunks on Citus: two runners claim different chunks (per
    organization, one shard), a chunk whose runner died is claimed again once its lease has
    run out, and the last chunk ends the job and marks the cycle's stored scores complete."""
    monkeypatch.setattr(jobs, "database", citus)
    monkeypatch.setattr(get_settings(), "score_job_chunk", 2)
    org_id = await make_org(citus, "Jobs")
    now = utcnow()
    cycle_id = new_id()
    async with citus.sessions() as session, session.begin():
        session.add(Cycle(org_id=org_id, id=cycle_id, created_at=now, updated_at=now, **A_YEAR))
        for i in range(5):
            session.add(
                Employee(
                    org_id=org_id,
                    id=new_id(),
                    external_id=f"e{i}",
                    email=f"e{i}@example.com",
                    given_name=f"E{i}",
                    family_name="Citus",
                    status="active",
                )
            )
    async with citus.sessions() as session:
        job = await jobs.queue(session, org_id, cycle_id, requested_by="citus-test", reason="requested")
        await session.commit()
    first = await jobs.claim("runner-a", org_id=org_id)
    second = await jobs.claim("runner-b", org_id=org_id)
    assert first is not None and second is not None and first.seq != second.seq
    async with citus.sessions() as session, session.begin():  # runner-a died: its lease ran out
        await session.execute(
            update(ScoreJobChunk)
            .where(ScoreJobChunk.org_id == org_id, ScoreJobChunk.job_id == job.id, ScoreJobChunk.seq == first.seq)
            .values(lease_until=now - dt.timedelta(hours=1))
        )
    assert await jobs.run_chunk(second)
    assert await jobs.drain("runner-c", org_id=org_id) == 2  # the lost chunk, then the last one
    async with citus.sessions() as session:
        done = await session.get(ScoreJob, (org_id, job.id))
        assert done is not None and (done.status, done.done, done.total) == ("succeeded", 5, 5)
        assert await freshness.is_complete(session, org_id, cycle_id)


async def test_outbox_lag_and_a_retention_delete_read_across_shards(
    citus: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`outbox_lag_seconds` is a plain read across shards (no lock); a retention DELETE by
    age across organizations is a multi-shard modify, which Citus runs."""
    import service.db
    from service.observability import OUTBOX_LAG, SCRAPE_ERRORS, update_outbox_lag

    org_id = await make_org(citus, "Lag")
    async with citus.sessions() as session, session.begin():
        await session.execute(
            insert(OutboxEvent).values(
                org_id=org_id,
                id=new_id(),
                event_type="employee.upserted",
                payload=EmployeeUpserted(employee_ids=[], created=0, updated=0).dump(),
                created_at=utcnow() - dt.timedelta(minutes=10),
            )
        )
        session.add(
            IdempotencyRecord(
                org_id=org_id,
                principal="citus-test",
                key="old",
                request_hash="x",
                created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            )
        )
    errors = SCRAPE_ERRORS.labels("outbox_lag_seconds")._value.get()
    monkeypatch.setattr(service.db, "database", citus)
    await update_outbox_lag()
    assert SCRAPE_ERRORS.labels("outbox_lag_seconds")._value.get() == errors
    assert OUTBOX_LAG._value.get() >= 600
    d = engine(citus, org_id=org_id)
    try:
        assert await d.fan_out() == 1
    finally:
        await d.aclose()

    async with citus.sessions() as session, session.begin():
        cutoff = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
        await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
        left = await session.execute(
            select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.org_id == org_id)
        )
        assert left.scalar_one() == 0
