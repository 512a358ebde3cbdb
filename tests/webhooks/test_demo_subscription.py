"""The demo organization follows every workflow step through a paused webhook
subscription (service/webhooks/demo.py): loaded once however often the demo loads,
listed through the API, subscribed to known event types only."""

from __future__ import annotations

from service.auth.tokens import issue_token
from service.db import database
from service.demo import DEMO_ORG_ID, _id, load_demo
from service.kit.events import EVENT_TYPES
from service.webhooks import demo
from tests.conftest import bearer


async def test_demo_follows_every_workflow_step(client):
    await load_demo()
    async with database.sessions() as session:  # a second load adds nothing
        await demo.load(session, DEMO_ORG_ID, _id)
        await session.commit()
    admin = bearer(issue_token(org_id=DEMO_ORG_ID, sub="admin@northwind.example", roles=["admin"]))
    resp = await client.get("/api/v1/webhooks", headers=admin)
    assert resp.status_code == 200, resp.text
    [sub] = [s for s in resp.json()["items"] if s["id"] == str(_id("webhook:workflow"))]
    assert sub["active"] is False and "secret" not in sub
    assert sub["events"] == list(demo.WORKFLOW_EVENTS)
    assert len(sub["events"]) == 26 and set(sub["events"]) <= EVENT_TYPES
    steps = {
        "objective.adjusted",
        "peer_feedback.declined",
        "nomination.created",
        "nomination.decided",
        "cycle.status_changed",
        "development_plan.item_status_changed",
        "meeting.held",
        "action.overdue",
    }
    assert steps <= set(sub["events"])
