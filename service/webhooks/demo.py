"""Webhook demo data for the demo organization of service/demo.py: a paused subscription
that follows every workflow step (objectives, check-ins, 360 feedback, reviews,
interviews, calibration, nominations, cycles), as a chat bot or a mobile push service
would. It is paused so that the demo never sends anything; `PATCH /api/v1/webhooks/{id}`
with `{"active": true, "url": ...}` points it at a real receiver.

Its id is fixed (`make_id("webhook:workflow")`) and loading twice adds nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from service.kit.events import EVENT_TYPES
from service.webhooks import signing
from service.webhooks.models import WebhookSubscription

# The steps people take in the work: every event type but the computed scores, the KPI
# feeds, the payroll hand-over and the HR syncs.
NOT_STEPS = frozenset(
    {"kpi.measurement.created", "score.updated", "score.amended", "incentive.finalized", "employee.upserted"}
)
WORKFLOW_EVENTS = tuple(sorted(EVENT_TYPES - NOT_STEPS))


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    sub_id = make_id("webhook:workflow")
    if await session.get(WebhookSubscription, (org_id, sub_id)) is not None:
        return
    session.add(
        WebhookSubscription(
            org_id=org_id,
            id=sub_id,
            url="https://chat.northwind.example/hooks/performance",
            events=list(WORKFLOW_EVENTS),
            description="Workflow follower (chat bot): every workflow step; paused in the demo",
            active=False,
            secret=signing.seal(signing.generate_secret()),
            created_by="admin@northwind.example",
        )
    )
