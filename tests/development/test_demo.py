"""The demo organization's development plan: Mei Chen's, for her promotion-track
nomination, linked to the live-stream review meeting with the action it gave her copied."""

from __future__ import annotations

from service.auth.tokens import issue_token
from service.db import database
from service.demo import DEMO_ORG_ID, _id, load_demo
from service.development import demo
from tests.conftest import bearer


async def test_demo_has_a_nominees_plan_following_the_review_meeting(client):
    await load_demo()
    async with database.sessions() as session:  # a second load adds nothing
        await demo.load(session, DEMO_ORG_ID, _id)
        await session.commit()
    hr = bearer(issue_token(org_id=DEMO_ORG_ID, sub="hr@northwind.example", roles=["hr"]))
    nomination = (await client.get(f"/api/v1/nominations/{_id('development:nomination:E008')}", headers=hr)).json()
    assert nomination["status"] == "approved" and nomination["development_plan_id"] is not None
    assert nomination["review_meeting_id"] == str(_id("eval:review:live"))
    plans = (await client.get("/api/v1/development-plans", headers=hr)).json()["items"]
    assert [p["id"] for p in plans] == [nomination["development_plan_id"]]
    [plan] = plans
    assert plan["employee_id"] == str(_id("emp:E008")) and plan["owner_id"] == str(_id("emp:E006"))
    assert plan["status"] == "active" and len(plan["goals"]) == 2
    assert [(i["kind"], i["source"] is not None) for i in plan["items"]] == [
        ("action", True),
        ("mentoring", False),
        ("goal", False),
    ]
