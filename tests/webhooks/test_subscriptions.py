"""Subscriptions over REST: the secret is shown once, events are the documented ones,
URLs are checked against private addresses, ETags, the audit log never holds secrets."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from service.db import database
from service.kit.models import AuditEvent
from service.kit.outbox import EVENT_TYPES
from service.webhooks.models import WebhookSubscription
from tests.webhooks.helpers import allow_private, emit, subscribe

PUBLIC_URL = "https://93.184.215.14/hooks"  # a global address; never called (inactive)


async def test_create_shows_secret_once(hooks, receiver):
    resp = await hooks.client.post(
        "/api/v1/webhooks",
        headers=hooks.admin,
        json={
            "url": receiver.url(),
            "events": ["employee.upserted", "score.updated", "employee.upserted"],
            "description": "HRIS mirror",
        },
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) >= 6 + 32
    assert body["events"] == ["employee.upserted", "score.updated"]
    assert body["active"] is True and body["disabled_reason"] is None
    assert resp.headers["location"] == f"/api/v1/webhooks/{body['id']}"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["etag"]

    got = await hooks.client.get(f"/api/v1/webhooks/{body['id']}", headers=hooks.admin)
    assert got.status_code == 200 and "secret" not in got.json()
    listed = await hooks.client.get("/api/v1/webhooks", headers=hooks.admin)
    assert [w["id"] for w in listed.json()["items"]] == [body["id"]]
    assert body["secret"] not in listed.text and body["secret"] not in got.text


async def test_secret_never_in_audit_log(hooks, receiver):
    sub = await subscribe(hooks, receiver.url())
    rotated = await hooks.client.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=hooks.admin)
    assert rotated.status_code == 200
    async with database.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.org_id == hooks.org_id, AuditEvent.entity_type == "webhook")
                )
            )
            .scalars()
            .all()
        )
    assert {r.action for r in rows} == {"webhook.created", "webhook.secret_rotated"}
    text = repr([(r.before, r.after) for r in rows])
    assert sub["secret"] not in text and rotated.json()["secret"] not in text
    assert "whsec_" not in text


async def test_every_documented_event_type_is_accepted(hooks, receiver):
    sub = await subscribe(hooks, receiver.url(), events=sorted(EVENT_TYPES))
    assert set(sub["events"]) == EVENT_TYPES


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"events": ["employee.upserted"]}, ["body", "url"]),
        ({"url": "URL", "events": []}, ["body", "events"]),
        ({"url": "URL", "events": ["employee.fired"]}, ["body", "events", 0]),
        ({"url": "URL", "events": ["employee.upserted"], "secret": "whsec_mine"}, ["body", "secret"]),
        ({"url": "ftp://127.0.0.1/x", "events": ["employee.upserted"]}, ["body", "url"]),
        ({"url": "http://user:pw@127.0.0.1/x", "events": ["employee.upserted"]}, ["body", "url"]),
        ({"url": "not a url", "events": ["employee.upserted"]}, ["body", "url"]),
        ({"url": "/relative/path", "events": ["employee.upserted"]}, ["body", "url"]),
    ],
)
async def test_invalid_subscription_is_422(hooks, receiver, body, loc):
    if body.get("url") == "URL":
        body = {**body, "url": receiver.url()}
    resp = await hooks.client.post("/api/v1/webhooks", headers=hooks.admin, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert loc in [e["loc"] for e in resp.json()["errors"]]
    assert (await hooks.client.get("/api/v1/webhooks", headers=hooks.admin)).json()["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://192.168.1.20/hook",
        "http://172.16.0.1/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://224.0.0.1/hook",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
    ],
)
async def test_private_urls_refused_unless_allowed(tenant, url):
    resp = await tenant.client.post(
        "/api/v1/webhooks", headers=tenant.admin, json={"url": url, "events": ["employee.upserted"]}
    )
    assert resp.status_code == 422, resp.text
    assert ["body", "url"] in [e["loc"] for e in resp.json()["errors"]]
    assert "webhooks_allow_private" in resp.json()["detail"]


async def test_allowing_private_urls(tenant):
    await allow_private(tenant)
    sub = await subscribe(tenant, "http://localhost:9/hook", active=False)
    assert sub["url"] == "http://localhost:9/hook"
    await allow_private(tenant, False)
    # Changing the URL is checked again under the organization's current setting.
    resp = await tenant.client.patch(
        f"/api/v1/webhooks/{sub['id']}", headers=tenant.admin, json={"url": "http://10.1.2.3/hook"}
    )
    assert resp.status_code == 422


async def test_public_address_accepted(tenant):
    sub = await subscribe(tenant, PUBLIC_URL, active=False)
    assert sub["url"] == PUBLIC_URL and sub["active"] is False
    assert sub["disabled_reason"] == "disabled by a caller"
    resp = await tenant.client.delete(f"/api/v1/webhooks/{sub['id']}", headers=tenant.admin)
    assert resp.status_code == 204


async def test_patch_and_etag(hooks, receiver):
    sub = await subscribe(hooks, receiver.url())
    url = f"/api/v1/webhooks/{sub['id']}"
    got = await hooks.client.get(url, headers=hooks.admin)
    etag = got.headers["etag"]
    resp = await hooks.client.patch(
        url,
        headers={**hooks.admin, "If-Match": etag},
        json={"events": ["checkin.created"], "active": False, "description": "paused"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["events"] == ["checkin.created"] and body["active"] is False
    assert body["disabled_reason"] == "disabled by a caller" and body["disabled_at"]
    assert resp.headers["etag"] != etag
    stale = await hooks.client.patch(url, headers={**hooks.admin, "If-Match": etag}, json={"active": True})
    assert stale.status_code == 412
    again = await hooks.client.patch(url, headers=hooks.admin, json={"active": True})
    assert again.json()["active"] is True and again.json()["disabled_reason"] is None
    for field in ("url", "events", "active"):
        bad = await hooks.client.patch(url, headers=hooks.admin, json={field: None})
        assert bad.status_code == 422, field
    assert (await hooks.client.patch(url, headers=hooks.admin, json={"secret": "x"})).status_code == 422


async def test_delete_removes_the_delivery_log(hooks, receiver, engine):
    sub = await subscribe(hooks, receiver.url())
    await emit(hooks.org_id)
    await engine().fan_out()
    url = f"/api/v1/webhooks/{sub['id']}"
    assert len((await hooks.client.get(url + "/deliveries", headers=hooks.admin)).json()["items"]) == 1
    stale = await hooks.client.delete(url, headers={**hooks.admin, "If-Match": '"999"'})
    assert stale.status_code == 412
    assert (await hooks.client.delete(url, headers=hooks.admin)).status_code == 204
    assert (await hooks.client.get(url, headers=hooks.admin)).status_code == 404
    assert (await hooks.client.get(url + "/deliveries", headers=hooks.admin)).status_code == 404
    async with database.sessions() as session:
        left = (
            await session.execute(select(WebhookSubscription).where(WebhookSubscription.org_id == hooks.org_id))
        ).all()
    assert left == []


async def test_list_pages(hooks, receiver):
    ids = [(await subscribe(hooks, receiver.url(f"/h{i}")))["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await hooks.client.get("/api/v1/webhooks", headers=hooks.admin, params=params)).json()
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


async def test_secrets_are_encrypted_at_rest_when_a_key_is_set(hooks, receiver, monkeypatch):
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "webhook_secret_key", "at-rest-key-for-tests")
    sub = await subscribe(hooks, receiver.url())
    async with database.sessions() as session:
        row = await session.get(WebhookSubscription, (hooks.org_id, uuid.UUID(sub["id"])))
    assert row.secret.startswith("fernet:") and sub["secret"] not in row.secret
    from service.webhooks.signing import unseal

    assert unseal(row.secret) == sub["secret"]
