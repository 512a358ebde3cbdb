"""Fixtures of the webhook tests: a loopback receiver, an organization that allows
loopback URLs, and delivery engines scoped to that organization."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from service.webhooks.delivery import DeliveryConfig, Dispatcher
from tests.conftest import Tenant
from tests.webhooks.helpers import LoopbackOnly, allow_private
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def hooks(tenant: Tenant) -> Tenant:
    """A tenant whose webhooks may call loopback addresses (the receiver)."""
    await allow_private(tenant)
    return tenant


@pytest.fixture
async def engine(hooks: Tenant) -> AsyncIterator[Callable[..., Dispatcher]]:
    """Makes delivery engines for the test's organization, with the retry schedule scaled
    down to milliseconds and no jitter unless asked."""
    made: list[Dispatcher] = []

    def make(**overrides: Any) -> Dispatcher:
        options: dict[str, Any] = {
            "org_id": hooks.org_id,
            "retry_scale": 1e-4,
            "retry_jitter": 0.0,
            "total_timeout": 5.0,
            "connect_timeout": 2.0,
        }
        options.update(overrides)
        d = Dispatcher(DeliveryConfig(**options), transport=LoopbackOnly())
        made.append(d)
        return d

    yield make
    for d in made:
        await d.aclose()
