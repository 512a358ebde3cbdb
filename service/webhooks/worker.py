"""`python -m service worker`: the webhook delivery process for PostgreSQL deployments,
and a runner of recompute jobs' chunks beside it (service/scoring/jobs.py): one chunk at
a time per worker, so more workers (pods) share a job. Every `RETENTION_INTERVAL_SECONDS`
it also erases the employees past their organization's retention (service/privacy: a
round is idempotent, so several workers running it at once erase each person once).

Run as many as you like: they share the work through per-organization `FOR UPDATE SKIP
LOCKED` claims and leases (see delivery.py), which Citus routes to one shard each.
SIGTERM or SIGINT stops it gracefully: no new round starts, the attempts in flight finish
and are acknowledged (bounded by the HTTP timeout), then it exits 0. A worker killed
outright loses nothing: its leases expire and others redeliver.
"""

from __future__ import annotations

import asyncio
import os
import signal

import structlog

from service.config import get_settings
from service.db import database
from service.meetings.actions import overdue_round
from service.privacy.service import apply_retention, retention_rounds
from service.scoring import jobs
from service.webhooks.delivery import DeliveryConfig, Dispatcher

log = structlog.get_logger("service.webhooks.worker")


async def run(config: DeliveryConfig | None = None, *, once: bool = False) -> None:
    config = config or DeliveryConfig.from_settings()
    dispatcher = Dispatcher(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("webhook_worker_started", pid=os.getpid(), poll_seconds=config.poll_seconds, batch_size=config.batch_size)
    try:
        if once:
            while not stop.is_set() and await dispatcher.run_once():
                pass
            await jobs.drain()  # and every claimable chunk of recompute jobs
            await overdue_round()  # and the overdue meeting actions
            if get_settings().retention_interval_seconds:
                await apply_retention()  # and the organizations' retention
        else:
            retention = _retention_task(stop)
            try:
                async with jobs.running():  # recompute chunks, their sweep and refresh rounds
                    await dispatcher.run_forever(stop)
            finally:
                if retention is not None:
                    retention.cancel()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await dispatcher.aclose()
        await database.dispose()
        log.info("webhook_worker_stopped", pid=os.getpid())


def _retention_task(stop: asyncio.Event) -> asyncio.Task[None] | None:
    """The periodic retention round (service/privacy/service.py), unless turned off."""
    interval = get_settings().retention_interval_seconds
    if not interval:
        return None
    return asyncio.create_task(retention_rounds(stop, interval), name="retention-rounds")


def main(poll_seconds: float | None = None, batch_size: int | None = None, once: bool = False) -> None:
    overrides: dict[str, float | int] = {}
    if poll_seconds is not None:
        overrides["poll_seconds"] = poll_seconds
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    asyncio.run(run(DeliveryConfig.from_settings(None, **overrides), once=once))
