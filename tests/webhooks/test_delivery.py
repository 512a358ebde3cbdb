"""Delivery end to end against a real receiver on 127.0.0.1: Standard Webhooks signatures
verified with the `standardwebhooks` package, the payload, retries with one webhook-id,
Retry-After, 410, automatic disabling, redelivery, secret rotation, excerpts, redirects,
timeouts, and the URL check made again at delivery time."""

from __future__ import annotations

import json
import uuid

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from service.config import get_settings
from service.okr.events import ObjectivePublished
from service.scoring.events import ScoreUpdated
from service.webhooks.delivery import SCHEDULE
from tests.webhooks.helpers import (
    all_settled,
    allow_private,
    deliveries,
    delivery,
    drain,
    emit,
    subscribe,
    webhook,
)
from tests.webhooks.receiver import HANG, Reply


async def test_signed_delivery_verifies_with_standardwebhooks(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url(), events=["objective.published"])
    published = ObjectivePublished(
        objective_id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        cycle_id=uuid.uuid4(),
        level="team",
        type="committed",
        title="Zoë's objective",
        status="published",
        actor="u-1",
    )
    event_id = await emit(hooks.org_id, "objective.published", published)
    await drain(engine(), all_settled(hooks, sub["id"]))
    (req,) = await receiver.wait_for(1)
    assert req.method == "POST" and req.path == "/hook"
    assert req.headers["content-type"] == "application/json"
    payload = Webhook(sub["secret"]).verify(req.body, req.headers)
    assert payload["type"] == "objective.published"
    assert payload["data"] == published.dump() and payload["data"]["title"] == "Zoë's objective"
    assert payload["timestamp"].endswith("Z")
    assert req.headers["webhook-id"].startswith("msg_")
    assert len(req.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(req.body, req.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(sub["secret"]).verify(req.body.replace("Zoë".encode(), b"Zoe"), req.headers)

    (d,) = await deliveries(hooks, sub["id"])
    assert d["status"] == "succeeded" and d["attempts"] == 1 and d["last_status_code"] == 200
    assert d["webhook_id"] == req.headers["webhook-id"] and d["event_id"] == str(event_id)
    assert d["event_type"] == "objective.published" and d["last_response_excerpt"] == "ok"


async def test_fan_out_matches_event_types_active_subscriptions_and_organization(hooks, other_tenant, receiver, engine):
    wants = await subscribe(hooks, receiver.url("/wants"), events=["employee.upserted"])
    other_type = await subscribe(hooks, receiver.url("/other-type"), events=["checkin.created"])
    paused = await subscribe(hooks, receiver.url("/paused"), events=["employee.upserted"], active=False)
    await allow_private(other_tenant)
    foreign = await subscribe(other_tenant, receiver.url("/foreign"), events=["employee.upserted"])
    await emit(hooks.org_id, "employee.upserted")
    await drain(engine(), all_settled(hooks, wants["id"]))
    assert [r.path for r in receiver.requests] == ["/wants"]
    for sub, t in ((other_type, hooks), (paused, hooks), (foreign, other_tenant)):
        resp = await t.client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=t.admin)
        assert resp.json()["items"] == []


async def test_bulk_upsert_event_is_delivered(hooks, receiver, engine):
    """A real domain change (HRIS bulk upsert) reaches the receiver through the outbox."""
    sub = await subscribe(hooks, receiver.url(), events=["employee.upserted"])
    resp = await hooks.client.post(
        "/api/v1/employees/bulk",
        headers=hooks.hr,
        json={"rows": [{"external_id": "x-1", "email": "x1@example.com", "given_name": "Xi", "family_name": "One"}]},
    )
    assert resp.status_code == 200, resp.text
    await drain(engine(), all_settled(hooks, sub["id"]))
    (req,) = await receiver.wait_for(1)
    assert Webhook(sub["secret"]).verify(req.body, req.headers)["type"] == "employee.upserted"


async def test_retries_keep_the_same_webhook_id(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.then(500, 503, Reply(status=400, body="bad"), 200)
    await emit(hooks.org_id)
    await drain(engine(), all_settled(hooks, sub["id"]))
    reqs = await receiver.wait_for(4)
    assert len(reqs) == 4
    assert len({r.webhook_id for r in reqs}) == 1
    assert len({r.body for r in reqs}) == 1  # the same bytes every time
    for r in reqs:  # each attempt is signed afresh (its own timestamp) and verifies
        Webhook(sub["secret"]).verify(r.body, r.headers)
    (d,) = await deliveries(hooks, sub["id"])
    assert d["status"] == "succeeded" and d["attempts"] == 4
    detail = await delivery(hooks, sub["id"], d["id"])
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 503, 400, 200]
    assert [a["attempt"] for a in detail["attempt_log"]] == [1, 2, 3, 4]
    assert detail["attempt_log"][2]["response_excerpt"] == "bad"


async def test_schedule_exhausted_is_dead(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.default = Reply(status=500)
    await emit(hooks.org_id)
    await drain(engine(retry_scale=1e-5), all_settled(hooks, sub["id"], ("dead",)))
    assert len(receiver.requests) == len(SCHEDULE) == 8
    (d,) = await deliveries(hooks, sub["id"])
    assert d["status"] == "dead" and d["attempts"] == 8 and d["next_attempt_at"] is None
    assert (await webhook(hooks, sub["id"]))["active"] is True  # one dead delivery is not enough


async def test_retry_after_on_429_is_honoured(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.then(Reply(status=429, headers={"Retry-After": "1"}), 200)
    await emit(hooks.org_id)
    await drain(engine(), all_settled(hooks, sub["id"]))
    first, second = await receiver.wait_for(2)
    assert second.at - first.at >= 0.95  # the schedule alone would retry after 0.5 ms
    assert first.webhook_id == second.webhook_id


async def test_410_disables_the_subscription(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.then(410)
    await emit(hooks.org_id)
    await drain(engine(), all_settled(hooks, sub["id"], ("dead",)))
    assert len(receiver.requests) == 1
    w = await webhook(hooks, sub["id"])
    assert w["active"] is False and "410" in w["disabled_reason"] and w["disabled_at"]
    # Nothing more is fanned out or sent while it is disabled.
    await emit(hooks.org_id)
    d = engine()
    for _ in range(3):
        await d.run_once()
    assert len(receiver.requests) == 1 and len(await deliveries(hooks, sub["id"])) == 1


async def test_disabled_after_consecutive_dead_deliveries(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.default = Reply(status=500)
    await emit(hooks.org_id)
    await emit(hooks.org_id)
    await drain(engine(retry_scale=1e-5, disable_after_dead=2), all_settled(hooks, sub["id"], ("dead",), count=2))
    w = await webhook(hooks, sub["id"])
    assert w["active"] is False and "2 deliveries in a row" in w["disabled_reason"]


async def test_success_resets_the_dead_count(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    d = engine(retry_scale=1e-5, disable_after_dead=2)
    receiver.default = Reply(status=500)
    await emit(hooks.org_id)
    await drain(d, all_settled(hooks, sub["id"], ("dead",)))
    receiver.default = Reply(status=200)
    await emit(hooks.org_id)
    await drain(d, all_settled(hooks, sub["id"], count=2))
    receiver.default = Reply(status=500)
    await emit(hooks.org_id)
    await drain(d, all_settled(hooks, sub["id"], count=3))
    assert (await webhook(hooks, sub["id"]))["active"] is True


async def test_disabled_after_sustained_failure(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.default = Reply(status=503)
    await emit(hooks.org_id)

    async def disabled() -> bool:
        return (await webhook(hooks, sub["id"]))["active"] is False

    await drain(engine(disable_after_failing_seconds=0.3), disabled)
    w = await webhook(hooks, sub["id"])
    assert w["disabled_reason"].startswith("every attempt failed for")
    (d,) = await deliveries(hooks, sub["id"])
    assert d["status"] == "failed"  # its remaining retries wait for the subscription


async def test_reenabling_resumes_pending_deliveries(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    d = engine()
    await emit(hooks.org_id)
    await d.fan_out()
    resp = await hooks.client.patch(f"/api/v1/webhooks/{sub['id']}", headers=hooks.admin, json={"active": False})
    assert resp.status_code == 200
    assert await d.run_once() == 0 and receiver.requests == []
    await hooks.client.patch(f"/api/v1/webhooks/{sub['id']}", headers=hooks.admin, json={"active": True})
    await drain(d, all_settled(hooks, sub["id"]))
    assert len(receiver.requests) == 1


async def test_redelivery(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    d = engine()
    await emit(hooks.org_id)
    await drain(d, all_settled(hooks, sub["id"]))
    (item,) = await deliveries(hooks, sub["id"])
    resp = await hooks.client.post(
        f"/api/v1/webhooks/{sub['id']}/deliveries/{item['id']}/redeliver", headers=hooks.admin
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "pending"
    await drain(d, all_settled(hooks, sub["id"]))
    first, second = await receiver.wait_for(2)
    assert first.webhook_id == second.webhook_id and first.body == second.body
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "succeeded" and item["attempts"] == 2
    missing = await hooks.client.post(
        f"/api/v1/webhooks/{sub['id']}/deliveries/{sub['id']}/redeliver", headers=hooks.admin
    )
    assert missing.status_code == 404
    await hooks.client.patch(f"/api/v1/webhooks/{sub['id']}", headers=hooks.admin, json={"active": False})
    disabled = await hooks.client.post(
        f"/api/v1/webhooks/{sub['id']}/deliveries/{item['id']}/redeliver", headers=hooks.admin
    )
    assert disabled.status_code == 409


async def test_redelivery_of_a_dead_delivery_restarts_the_schedule(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    d = engine(retry_scale=1e-5)
    receiver.default = Reply(status=500)
    await emit(hooks.org_id)
    await drain(d, all_settled(hooks, sub["id"], ("dead",)))
    (item,) = await deliveries(hooks, sub["id"])
    receiver.default = Reply(status=500)
    receiver.then(500, 200)
    resp = await hooks.client.post(
        f"/api/v1/webhooks/{sub['id']}/deliveries/{item['id']}/redeliver", headers=hooks.admin
    )
    assert resp.status_code == 202
    await drain(d, all_settled(hooks, sub["id"]))
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "succeeded" and item["attempts"] == 10
    assert len({r.webhook_id for r in receiver.requests}) == 1


async def test_rotation_signs_with_both_secrets_during_grace(hooks, receiver, engine, monkeypatch):
    sub = await subscribe(hooks, receiver.url())
    old = sub["secret"]
    resp = await hooks.client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=hooks.admin)
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    new = resp.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert resp.json()["previous_secret_expires_at"]
    d = engine()
    await emit(hooks.org_id)
    await drain(d, all_settled(hooks, sub["id"]))
    (req,) = await receiver.wait_for(1)
    signatures = req.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert Webhook(new).verify(req.body, req.headers)
    assert Webhook(old).verify(req.body, req.headers)
    # The new secret signs first, the old one second.
    assert Webhook(new).verify(req.body, {**req.headers, "webhook-signature": signatures[0]})
    assert Webhook(old).verify(req.body, {**req.headers, "webhook-signature": signatures[1]})

    # A rotation without grace: only the newest secret signs from then on.
    monkeypatch.setattr(get_settings(), "webhook_secret_grace_seconds", 0)
    newest = (await hooks.client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=hooks.admin)).json()[
        "secret"
    ]
    await emit(hooks.org_id)
    await drain(d, all_settled(hooks, sub["id"], count=2))
    later = (await receiver.wait_for(2))[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(newest).verify(later.body, later.headers)
    for stale in (old, new):
        with pytest.raises(WebhookVerificationError):
            Webhook(stale).verify(later.body, later.headers)


async def test_response_excerpt_is_truncated(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.then(Reply(status=500, body="é" * 5000), Reply(status=200, body="x" * 100_000))
    await emit(hooks.org_id)
    await drain(engine(), all_settled(hooks, sub["id"]))
    (item,) = await deliveries(hooks, sub["id"])
    assert item["last_response_excerpt"] == "x" * 1000
    detail = await delivery(hooks, sub["id"], item["id"])
    assert detail["attempt_log"][0]["response_excerpt"] == "é" * 1000


async def test_redirects_are_not_followed(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.then(Reply(status=302, headers={"Location": receiver.url("/elsewhere")}), 200)
    await emit(hooks.org_id)
    await drain(engine(), all_settled(hooks, sub["id"]))
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]
    detail = await delivery(hooks, sub["id"], (await deliveries(hooks, sub["id"]))[0]["id"])
    assert [a["status_code"] for a in detail["attempt_log"]] == [302, 200]


async def test_timeout_is_a_failed_attempt(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    receiver.then(HANG, 200)
    await emit(hooks.org_id)
    await drain(engine(total_timeout=0.3), all_settled(hooks, sub["id"]))
    detail = await delivery(hooks, sub["id"], (await deliveries(hooks, sub["id"]))[0]["id"])
    first, second = detail["attempt_log"]
    assert first["status_code"] is None and "timed out" in first["error"]
    assert second["status_code"] == 200


async def test_connection_refused_is_a_failed_attempt(hooks, receiver, engine):
    await receiver.stop()
    sub = await subscribe(hooks, receiver.url())
    await emit(hooks.org_id)
    d = engine()
    await d.run_once()
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "failed" and item["last_status_code"] is None
    assert "ConnectError" in item["last_error"] and item["next_attempt_at"]


async def test_url_is_checked_again_at_delivery_time(hooks, receiver, engine):
    """The organization stops allowing private addresses after subscribing: nothing is
    sent to the loopback receiver any more."""
    sub = await subscribe(hooks, receiver.url())
    await allow_private(hooks, False)
    await emit(hooks.org_id)
    await engine().run_once()
    assert receiver.requests == []
    (item,) = await deliveries(hooks, sub["id"])
    assert item["status"] == "failed" and item["last_error"].startswith("refused")


async def test_payload_shape(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url(), events=["score.updated"])
    updated = ScoreUpdated(cycle_id=uuid.uuid4(), employee_ids=[uuid.uuid4()], count=1)
    await emit(hooks.org_id, "score.updated", updated)
    await drain(engine(), all_settled(hooks, sub["id"]))
    (req,) = await receiver.wait_for(1)
    body = json.loads(req.body)
    assert set(body) == {"type", "timestamp", "data"}
    assert body == {
        "type": "score.updated",
        "timestamp": body["timestamp"],
        "data": {"cycle_id": str(updated.cycle_id), "employee_ids": [str(updated.employee_ids[0])], "count": 1},
    }
