"""A round of the delivery engine works organization by organization: it finds the
organizations with pending work (longest waiting first, at most `orgs_per_round`), then
fans out and claims per organization, each taking an equal share of the round's batch
(what quiet ones leave goes to busy ones), so one busy organization cannot starve another
(docs/webhooks.md, "On Citus").

The suite's database holds every other test's organizations, so these engines look at
two organizations of their own: `Among` narrows the discovery statement to them and
changes nothing else."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select

from service.db import database
from service.kit.models import OutboxEvent
from service.webhooks.delivery import DeliveryConfig, Dispatcher, share, spread
from service.webhooks.models import WebhookDelivery
from tests.conftest import Tenant
from tests.webhooks.helpers import LoopbackOnly, allow_private, emit, subscribe
from tests.webhooks.receiver import Receiver


class Among(Dispatcher):
    """An engine serving every organization that the discovery finds among `orgs`."""

    def __init__(self, orgs: list[uuid.UUID], **options: Any) -> None:
        config = {"retry_scale": 1e-4, "retry_jitter": 0.0, "total_timeout": 5.0, **options}
        super().__init__(DeliveryConfig(**config), transport=LoopbackOnly())
        self.orgs = orgs

    async def _organizations(self, pending: Select[uuid.UUID]) -> list[uuid.UUID]:
        return await super()._organizations(pending.where(pending.selected_columns[0].in_(self.orgs)))


async def two_organizations(busy: Tenant, quiet: Tenant, receiver: Receiver) -> tuple[Tenant, Tenant]:
    for t in (busy, quiet):
        await allow_private(t)
        await subscribe(t, receiver.url())
    return busy, quiet


async def unpublished(org_id: uuid.UUID) -> int:
    async with database.sessions() as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.org_id == org_id, OutboxEvent.published_at.is_(None))
            )
        ).scalar_one()


def test_share_is_an_equal_part_rounded_up() -> None:
    assert share(200, 1) == 200
    assert share(20, 3) == 7
    assert share(20, 50) == 1
    assert share(5, 0) == 5


async def test_spread_gives_what_quiet_organizations_leave_to_busy_ones() -> None:
    work = {uuid.UUID(int=1): 100, uuid.UUID(int=2): 1, uuid.UUID(int=3): 4, uuid.UUID(int=4): 100}
    calls: list[tuple[int, int]] = []

    async def take(org_id: uuid.UUID, n: int) -> int:
        got = min(n, work[org_id])
        work[org_id] -= got
        calls.append((org_id.int, n))
        return got

    assert await spread(list(work), 20, take) == 20
    # equal shares of 5, then the 5 that organizations 2 and 3 left, over 1 and 4
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (1, 3), (4, 2)]
    assert work == {uuid.UUID(int=1): 92, uuid.UUID(int=2): 0, uuid.UUID(int=3): 0, uuid.UUID(int=4): 93}
    calls.clear()
    assert await spread([uuid.UUID(int=n) for n in (1, 4)], 3, take) == 3
    assert calls == [(1, 2), (4, 1)], "the budget runs out: the longest waiting come first"
    assert await spread([], 3, take) == 0


async def test_a_busy_organization_does_not_starve_a_quiet_one(
    tenant: Tenant, other_tenant: Tenant, receiver: Receiver
) -> None:
    busy, quiet = await two_organizations(tenant, other_tenant, receiver)
    for _ in range(30):
        await emit(busy.org_id)
    await emit(quiet.org_id)
    await emit(quiet.org_id)
    d = Among([busy.org_id, quiet.org_id], outbox_batch_size=10, batch_size=4)
    try:
        # the busy organization waited longest, so it comes first, but takes its share of
        # 10 (5); the quiet one takes its 2, and the 3 it leaves go to the busy one
        assert await d._organizations(d._unpublished_orgs()) == [busy.org_id, quiet.org_id]
        assert await d.fan_out() == 10
        assert await unpublished(busy.org_id) == 22 and await unpublished(quiet.org_id) == 0
        claims = await d.claim()
        assert sorted(c.org_id == quiet.org_id for c in claims) == [False, False, True, True]
    finally:
        await d.aclose()


async def test_a_round_is_bounded_by_organizations_and_rows(
    tenant: Tenant, other_tenant: Tenant, receiver: Receiver
) -> None:
    busy, quiet = await two_organizations(tenant, other_tenant, receiver)
    for t in (busy, quiet):
        for _ in range(3):
            await emit(t.org_id)
    d = Among([busy.org_id, quiet.org_id], orgs_per_round=1, outbox_batch_size=2, batch_size=1)
    try:
        assert await d.fan_out() == 2  # one organization, two rows
        assert await unpublished(busy.org_id) + await unpublished(quiet.org_id) == 4
        assert len(await d.claim()) == 1
        while await d.fan_out():
            pass
        assert await unpublished(busy.org_id) + await unpublished(quiet.org_id) == 0
        async with database.sessions() as session:
            made = (
                await session.execute(
                    select(WebhookDelivery.org_id, func.count())
                    .where(WebhookDelivery.org_id.in_([busy.org_id, quiet.org_id]))
                    .group_by(WebhookDelivery.org_id)
                )
            ).all()
        assert sorted(n for _, n in made) == [3, 3]  # every event fanned out once
    finally:
        await d.aclose()
