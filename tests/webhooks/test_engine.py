"""The delivery engine as a real engine: at-least-once across a worker dying between
claim and acknowledgement (in-process and a killed `python -m service worker`), leases,
concurrent workers (SKIP LOCKED on PostgreSQL), graceful SIGTERM, the in-process mode of
the app's lifespan, and the pure rules (schedule, jitter, Retry-After, address checks)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from service.config import get_settings
from service.db import database
from service.kit.models import OutboxEvent
from service.webhooks import urls
from service.webhooks.delivery import (
    SCHEDULE,
    DeliveryConfig,
    Dispatcher,
    parse_retry_after,
    retry_delay,
)
from service.webhooks.models import WebhookDelivery
from tests.conftest import BACKEND
from tests.webhooks.helpers import all_settled, deliveries, drain, emit, subscribe
from tests.webhooks.receiver import HANG

ROOT = Path(__file__).resolve().parents[2]


# --- at-least-once: a worker dies between claim and acknowledgement ------------------------


async def test_cancelled_attempt_is_delivered_again_after_the_lease(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.then(HANG)  # the first attempt reaches the receiver and never gets an answer
    await emit(hooks.org_id)
    worker_a = engine(total_timeout=1.0, lease_seconds=0)  # lease: timeout + 1 s = 2 s
    await worker_a.fan_out()
    (claim,) = await worker_a.claim()
    claimed_at = time.monotonic()
    task = asyncio.create_task(worker_a.deliver(claim))
    await receiver.wait_for(1)
    task.cancel()  # the worker dies: no acknowledgement is written
    with pytest.raises(asyncio.CancelledError):
        await task

    worker_b = engine(total_timeout=1.0, lease_seconds=0)
    assert await worker_b.run_once() == 0  # still leased to the dead worker
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "pending" and item["attempts"] == 0

    await drain(worker_b, all_settled(hooks, sub["id"]))
    assert time.monotonic() - claimed_at >= 1.9
    for _ in range(3):
        await worker_b.run_once()
    reqs = receiver.requests
    assert len(reqs) == 2 and reqs[0].webhook_id == reqs[1].webhook_id
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "succeeded" and item["attempts"] == 1


async def test_claimed_but_never_attempted_is_not_lost(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    await emit(hooks.org_id)
    dead = engine(total_timeout=0.5, lease_seconds=0)
    await dead.fan_out()
    assert len(await dead.claim()) == 1  # and then the process is gone
    await drain(engine(total_timeout=0.5), all_settled(hooks, sub["id"]))
    assert len(receiver.requests) == 1


async def test_a_late_acknowledgement_after_losing_the_lease_is_ignored(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    await emit(hooks.org_id)
    slow = engine(total_timeout=0.2, lease_seconds=0)
    await slow.fan_out()
    (claim,) = await slow.claim()
    await asyncio.sleep(1.3)  # past the lease (timeout + 1 s)
    fast = engine()
    (taken,) = await fast.claim()
    assert taken.delivery_id == claim.delivery_id and taken.token != claim.token
    assert await slow.deliver(claim) is False  # sent, but not recorded: the row is not its
    assert await fast.deliver(taken) is True
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "succeeded" and item["attempts"] == 1
    assert len(receiver.requests) == 2


async def test_fan_out_is_atomic_and_exactly_once(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    event_id = await emit(hooks.org_id)
    d = engine()
    assert await d.fan_out() == 1
    assert await d.fan_out() == 0
    async with database.sessions() as session:
        event = await session.get(OutboxEvent, (hooks.org_id, event_id))
        assert event.published_at is not None
        rows = (
            (await session.execute(select(WebhookDelivery).where(WebhookDelivery.org_id == hooks.org_id)))
            .scalars()
            .all()
        )
    assert [(r.subscription_id.hex, r.event_id) for r in rows] == [(sub["id"].replace("-", ""), event_id)]


async def test_fan_out_rolled_back_leaves_the_event_unpublished(hooks, receiver, engine, monkeypatch):
    """A process dying inside the fan-out transaction publishes nothing."""
    sub = await subscribe(hooks, receiver.url())
    event_id = await emit(hooks.org_id)
    d = engine()
    import service.webhooks.delivery as delivery_module

    def crash(*_a, **_k):
        raise RuntimeError("process died")

    monkeypatch.setattr(delivery_module, "payload_body", crash)
    with pytest.raises(RuntimeError):
        await d.fan_out()
    async with database.sessions() as session:
        assert (await session.get(OutboxEvent, (hooks.org_id, event_id))).published_at is None
    monkeypatch.undo()
    await drain(d, all_settled(hooks, sub["id"]))
    assert len(receiver.requests) == 1


# --- several workers -------------------------------------------------------------------------


async def test_concurrent_workers_deliver_each_delivery_once(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    for _ in range(30):
        await emit(hooks.org_id)
    workers = [engine(batch_size=4, outbox_batch_size=7) for _ in range(3)]

    async def loop(w: Dispatcher) -> None:
        idle = 0
        while idle < 3:
            idle = 0 if await w.run_once() else idle + 1
            await asyncio.sleep(0)

    await asyncio.gather(*(loop(w) for w in workers))
    await drain(workers[0], all_settled(hooks, sub["id"], count=30))
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30


# Row locks exist only on PostgreSQL (SQLite serializes writers, which the concurrent-worker
# test above covers), so this test is defined, and collected, on PostgreSQL runs only.
if BACKEND == "postgresql":

    async def test_claims_skip_locked_rows_instead_of_waiting(hooks, receiver, engine):
        await subscribe(hooks, receiver.url())
        for _ in range(4):
            await emit(hooks.org_id)
        a, b = engine(), engine()
        await a.fan_out()
        async with database.sessions() as holder, holder.begin():
            # Another worker is in the middle of claiming: it holds the row locks.
            locked = (
                await holder.execute(
                    a._due(dt.datetime.now(dt.UTC), 2).with_for_update(skip_locked=True, of=WebhookDelivery)
                )
            ).all()
            assert len(locked) == 2
            claims = await asyncio.wait_for(b.claim(), timeout=5)  # does not wait for the lock
            assert len(claims) == 2
            assert {c.delivery_id for c in claims}.isdisjoint({row.id for row in locked})
        assert len(await a.claim()) == 2  # released without a lease: due again
        assert await a.claim() == [] and await b.claim() == []


# --- the worker process ------------------------------------------------------------------------


def _worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "WEBHOOK_POLL_SECONDS": "0.05",
            "WEBHOOK_RETRY_SCALE": "0.0001",
            "WEBHOOK_RETRY_JITTER": "0",
            "WEBHOOK_TIMEOUT_SECONDS": "2",
            "WEBHOOK_LEASE_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


async def _start_worker() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "worker",
        cwd=str(ROOT),
        env=_worker_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_killed_worker_process_loses_nothing(hooks, receiver):
    """`python -m service worker` is killed (SIGKILL) after claiming a delivery and sending
    it, before acknowledging; after a restart it is delivered once more, and only once."""
    sub = await subscribe(hooks, receiver.url())
    receiver.then(HANG)
    await emit(hooks.org_id)
    first = await _start_worker()
    try:
        await receiver.wait_for(1, within=30)
    finally:
        first.kill()
        await first.wait()
    killed_at = time.monotonic()
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "pending" and item["attempts"] == 0  # claimed, never acknowledged

    second = await _start_worker()
    try:
        await receiver.wait_for(2, within=30)
        deadline = time.monotonic() + 10
        while (await deliveries(hooks, sub["id"]))[0]["status"] != "succeeded":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a few more polls: nothing else arrives
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), timeout=15) == 0  # graceful exit
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()
    assert time.monotonic() - killed_at >= 2.5  # not before the dead worker's lease ended
    reqs = receiver.requests
    assert len(reqs) == 2 and reqs[0].webhook_id == reqs[1].webhook_id
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "succeeded" and item["attempts"] == 1


async def test_worker_once_and_sigterm(hooks, receiver):
    sub = await subscribe(hooks, receiver.url())
    await emit(hooks.org_id)
    once = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "worker",
        "--once",
        cwd=str(ROOT),
        env=_worker_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert await asyncio.wait_for(once.wait(), timeout=60) == 0
    assert len(receiver.requests) == 1
    assert (await deliveries(hooks, sub["id"]))[0]["status"] == "succeeded"

    idle = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "worker",
        cwd=str(ROOT),
        env=_worker_env(LOG_LEVEL="INFO"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )

    # SIGTERM only once the worker says it runs (its signal handlers are installed by then).
    async def started() -> None:
        while b"webhook_worker_started" not in await idle.stderr.readline():
            pass

    await asyncio.wait_for(started(), timeout=60)
    drain = asyncio.create_task(idle.stderr.read())  # keep the pipe from filling up
    idle.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(idle.wait(), timeout=15) == 0
    await drain


# --- in-process mode (the embedded SQLite default) -------------------------------------------


async def test_app_lifespan_runs_delivery_in_process(app, hooks, receiver, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_inprocess", True)
    monkeypatch.setattr(get_settings(), "webhook_poll_seconds", 0.05)
    sub = await subscribe(hooks, receiver.url())
    async with app.router.lifespan_context(app):
        await emit(hooks.org_id)
        await receiver.wait_for(1, within=10)
        deadline = time.monotonic() + 10
        while (await deliveries(hooks, sub["id"]))[0]["status"] != "succeeded":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    assert len(receiver.requests) == 1


def test_inprocess_defaults_to_sqlite_only():
    s = get_settings().model_copy(update={"webhook_inprocess": None})
    assert s.webhook_inprocess_enabled is s.is_sqlite
    assert s.model_copy(update={"webhook_inprocess": False}).webhook_inprocess_enabled is False


# --- pure rules ----------------------------------------------------------------------------------


def test_schedule_is_the_standard_webhooks_one():
    assert SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    config = DeliveryConfig(retry_jitter=0)
    assert [retry_delay(n, config) for n in range(1, 9)] == [5, 300, 1800, 7200, 18000, 36000, 36000, None]
    assert retry_delay(1, DeliveryConfig(retry_jitter=0, retry_scale=0.5)) == 2.5


def test_jitter_stays_within_bounds_and_varies():
    config = DeliveryConfig(retry_jitter=0.2)
    rng = random.Random(7)
    delays = [retry_delay(3, config, rng) for _ in range(200)]
    assert all(1800 * 0.8 <= d <= 1800 * 1.2 for d in delays)
    assert max(delays) - min(delays) > 1800 * 0.2


def test_retry_after_parsing():
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now, 3600) == 120
    assert parse_retry_after("999999", now, 3600) == 3600
    assert parse_retry_after("Mon, 23 Nov 2026 12:05:00 GMT", now, 3600) == 300
    assert parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now, 3600) == 0
    assert parse_retry_after("soon", now, 3600) is None
    assert parse_retry_after(None, now, 3600) is None


@pytest.mark.parametrize(
    "address,public",
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("10.0.0.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("240.0.0.1", False),
        ("192.0.2.1", False),
    ],
)
def test_public_addresses(address, public):
    assert urls.is_public(ipaddress.ip_address(address)) is public


async def test_delivery_target_is_pinned_to_the_checked_address():
    with pytest.raises(urls.UnsafeUrl):
        await urls.target("http://localhost:9/hook", allow_private=False)
    allowed = await urls.target("http://localhost:9/hook", allow_private=True)
    assert allowed.url == "http://localhost:9/hook"
    pinned = await urls.target("https://93.184.215.14/x", allow_private=False)  # no DNS, no traffic
    assert pinned.url == "https://93.184.215.14/x" and pinned.headers == {}
