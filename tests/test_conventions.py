"""The conventions every endpoint shares (API.md "Conventions"): problem+json errors,
cursor pagination, ETag / If-Match, Idempotency-Key, the audit log and the outbox."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from service.db import database
from service.kit.models import OutboxEvent
from tests.conftest import Tenant, bearer

PROBLEM = "application/problem+json"


def new_employee(**fields: Any) -> dict[str, Any]:
    key = uuid.uuid4().hex[:8]
    return {
        "external_id": f"c-{key}",
        "email": f"{key}@example.com",
        "given_name": "Conv",
        "family_name": "Test",
        **fields,
    }


def assert_problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    return body


def assert_validation(resp: Any, loc: list[Any]) -> dict[str, Any]:
    body = assert_problem(resp, 422)
    assert isinstance(body["errors"], list) and body["errors"]
    for err in body["errors"]:
        assert set(err) == {"loc", "msg"} and isinstance(err["loc"], list) and err["msg"]
    assert loc in [e["loc"] for e in body["errors"]], body["errors"]
    return body


async def count_employees(t: Tenant) -> int:
    resp = await t.client.get("/api/v1/employees", headers=t.admin, params={"limit": 500})
    return len(resp.json()["items"])


# --- problem+json -------------------------------------------------------------------------


async def test_unknown_field_is_422(tenant):
    """Mass assignment: request models forbid fields they do not declare."""
    resp = await tenant.client.post(
        "/api/v1/employees", headers=tenant.hr, json=new_employee(is_admin=True, version=99)
    )
    body = assert_validation(resp, ["body", "is_admin"])
    assert ["body", "version"] in [e["loc"] for e in body["errors"]]
    assert await count_employees(tenant) == 0


async def test_unknown_field_in_patch_is_422(tenant):
    emp = await tenant.add_employee("ann")
    resp = await tenant.client.patch(
        f"/api/v1/employees/{emp['id']}", headers=tenant.hr, json={"given_name": "Annie", "org_id": str(uuid.uuid4())}
    )
    assert_validation(resp, ["body", "org_id"])
    again = await tenant.client.get(f"/api/v1/employees/{emp['id']}", headers=tenant.hr)
    assert again.json()["given_name"] == "Ann"


async def test_bad_enum_is_422(tenant):
    resp = await tenant.client.post("/api/v1/employees", headers=tenant.hr, json=new_employee(status="retired"))
    assert_validation(resp, ["body", "status"])
    listed = await tenant.client.get("/api/v1/employees", headers=tenant.hr, params={"status": "retired"})
    assert_validation(listed, ["query", "status"])


async def test_bad_uuid_is_422(tenant):
    assert_validation(
        await tenant.client.get("/api/v1/employees/not-a-uuid", headers=tenant.hr), ["path", "employee_id"]
    )
    resp = await tenant.client.post("/api/v1/employees", headers=tenant.hr, json=new_employee(department_id="12345"))
    assert_validation(resp, ["body", "department_id"])
    assert_validation(
        await tenant.client.get("/api/v1/employees", headers=tenant.hr, params={"manager_id": "nope"}),
        ["query", "manager_id"],
    )


async def test_malformed_json_is_422(tenant):
    resp = await tenant.client.post(
        "/api/v1/employees", headers={**tenant.hr, "content-type": "application/json"}, content=b'{"external_id": '
    )
    body = assert_problem(resp, 422)
    assert body["errors"]


async def test_unknown_route_is_404_problem(tenant):
    assert_problem(await tenant.client.get("/api/v1/nothing-here", headers=tenant.admin), 404)
    assert_problem(await tenant.client.get("/api/v1/nothing-here"), 404)


async def test_unknown_id_is_404_problem(tenant):
    body = assert_problem(await tenant.client.get(f"/api/v1/employees/{uuid.uuid4()}", headers=tenant.hr), 404)
    assert body["type"].endswith("/not-found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/employees"),
        ("PUT", "/api/v1/organization"),
        ("DELETE", "/api/v1/positions/{id}"),
        ("PUT", "/api/v1/employees/{id}"),
    ],
)
async def test_wrong_method_is_405_problem(tenant, method, path):
    resp = await tenant.client.request(method, path.format(id=uuid.uuid4()), headers=tenant.admin)
    assert_problem(resp, 405)
    assert resp.headers.get("allow")


# --- pagination -------------------------------------------------------------------------


async def _bulk(t: Tenant, n: int, prefix: str = "p") -> list[str]:
    rows = [new_employee(external_id=f"{prefix}-{i:04d}-{uuid.uuid4().hex[:4]}") for i in range(n)]
    resp = await t.client.post("/api/v1/employees/bulk", headers=t.hr, json={"rows": rows})
    assert resp.status_code == 200, resp.text
    return [r["id"] for r in resp.json()["results"]]


async def _walk(t: Tenant, limit: int, between: Any = None) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        resp = await t.client.get("/api/v1/employees", headers=t.hr, params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        pages.append([e["id"] for e in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the walk does not end"
        if between is not None:
            await between(len(pages))


async def test_walk_all_pages(tenant):
    ids = await _bulk(tenant, 11)
    pages = await _walk(tenant, 4)
    assert [len(p) for p in pages] == [4, 4, 3]
    flat = [i for p in pages for i in p]
    assert len(flat) == len(set(flat)) == 11
    assert set(flat) == set(ids)


async def test_exact_multiple_ends_with_null_cursor(tenant):
    await _bulk(tenant, 6)
    pages = await _walk(tenant, 3)
    assert [len(p) for p in pages] == [3, 3]


async def test_default_limit_is_50(tenant):
    await _bulk(tenant, 52)
    resp = await tenant.client.get("/api/v1/employees", headers=tenant.hr)
    assert len(resp.json()["items"]) == 50
    assert resp.json()["next_cursor"]
    rest = await tenant.client.get(
        "/api/v1/employees", headers=tenant.hr, params={"cursor": resp.json()["next_cursor"]}
    )
    assert len(rest.json()["items"]) == 2 and rest.json()["next_cursor"] is None


async def test_pages_stable_under_concurrent_inserts(tenant):
    original = await _bulk(tenant, 10, "orig")
    added: list[str] = []

    async def insert_more(page_no: int) -> None:
        if page_no <= 2:
            added.extend(await _bulk(tenant, 3, f"mid{page_no}"))

    pages = await _walk(tenant, 3, between=insert_more)
    flat = [i for p in pages for i in p]
    assert len(flat) == len(set(flat)), "a row was served twice"
    assert set(original) <= set(flat), "a row that existed when the walk started was skipped"
    assert added and set(flat) <= set(original) | set(added)


@pytest.mark.parametrize("cursor", ["garbage", "eyJpZCI6ICJub3BlIn0", "e30", "!!!"])
async def test_bad_cursor_is_422(tenant, cursor):
    resp = await tenant.client.get("/api/v1/employees", headers=tenant.hr, params={"cursor": cursor})
    assert_validation(resp, ["query", "cursor"])


@pytest.mark.parametrize("limit", [0, -1, 501, "ten"])
async def test_bad_limit_is_422(tenant, limit):
    resp = await tenant.client.get("/api/v1/employees", headers=tenant.hr, params={"limit": limit})
    assert_validation(resp, ["query", "limit"])


async def test_limit_500_is_allowed(tenant):
    resp = await tenant.client.get("/api/v1/departments", headers=tenant.hr, params={"limit": 500})
    assert resp.status_code == 200


# --- ETag and If-Match ----------------------------------------------------------------------


async def test_etag_on_get_and_if_match(tenant):
    emp = await tenant.add_employee("ann")
    url = f"/api/v1/employees/{emp['id']}"
    first = await tenant.client.get(url, headers=tenant.hr)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')

    changed = await tenant.client.patch(url, headers={**tenant.hr, "If-Match": etag}, json={"given_name": "Annie"})
    assert changed.status_code == 200, changed.text
    new_etag = changed.headers["etag"]
    assert new_etag != etag
    assert (await tenant.client.get(url, headers=tenant.hr)).headers["etag"] == new_etag

    stale = await tenant.client.patch(url, headers={**tenant.hr, "If-Match": etag}, json={"given_name": "Anna"})
    assert_problem(stale, 412)
    after = await tenant.client.get(url, headers=tenant.hr)
    assert after.json()["given_name"] == "Annie"
    assert after.headers["etag"] == new_etag

    weak = await tenant.client.patch(
        url, headers={**tenant.hr, "If-Match": f"W/{new_etag}"}, json={"given_name": "Anna"}
    )
    assert weak.status_code == 200
    star = await tenant.client.patch(url, headers={**tenant.hr, "If-Match": "*"}, json={"family_name": "Star"})
    assert star.status_code == 200


async def test_if_match_on_department_delete_and_org_patch(tenant):
    dep = await tenant.client.post("/api/v1/departments", json={"name": "Ops"}, headers=tenant.hr)
    url = f"/api/v1/departments/{dep.json()['id']}"
    etag = dep.headers["etag"]
    renamed = await tenant.client.patch(url, json={"name": "Ops 2"}, headers=tenant.hr)
    assert renamed.headers["etag"] != etag
    assert_problem(await tenant.client.delete(url, headers={**tenant.hr, "If-Match": etag}), 412)
    assert (await tenant.client.get(url, headers=tenant.hr)).status_code == 200
    gone = await tenant.client.delete(url, headers={**tenant.hr, "If-Match": renamed.headers["etag"]})
    assert gone.status_code == 204
    assert (await tenant.client.get(url, headers=tenant.hr)).status_code == 404

    org = await tenant.client.get("/api/v1/organization", headers=tenant.admin)
    org_etag = org.headers["etag"]
    ok = await tenant.client.patch(
        "/api/v1/organization", json={"name": "New name"}, headers={**tenant.admin, "If-Match": org_etag}
    )
    assert ok.status_code == 200 and ok.headers["etag"] != org_etag
    stale = await tenant.client.patch(
        "/api/v1/organization", json={"name": "Stale name"}, headers={**tenant.admin, "If-Match": org_etag}
    )
    assert_problem(stale, 412)
    assert (await tenant.client.get("/api/v1/organization", headers=tenant.admin)).json()["name"] == "New name"


async def test_if_match_on_position_patch(tenant):
    pos = await tenant.client.post("/api/v1/positions", json={"name": "Analyst"}, headers=tenant.hr)
    url = f"/api/v1/positions/{pos.json()['id']}"
    assert_problem(await tenant.client.patch(url, json={"name": "X"}, headers={**tenant.hr, "If-Match": '"99"'}), 412)
    assert (await tenant.client.get(url, headers=tenant.hr)).json()["name"] == "Analyst"


# --- Idempotency-Key ----------------------------------------------------------------------


async def test_idempotent_replay(tenant):
    headers = {**tenant.hr, "Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = new_employee()
    first = await tenant.client.post("/api/v1/employees", json=body, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    second = await tenant.client.post("/api/v1/employees", json=body, headers=headers)
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["location"] == first.headers["location"]
    listed = await tenant.client.get(
        "/api/v1/employees", headers=tenant.hr, params={"external_id": body["external_id"]}
    )
    assert len(listed.json()["items"]) == 1
    assert await count_employees(tenant) == 1


async def test_same_key_other_body_is_422(tenant):
    headers = {**tenant.hr, "Idempotency-Key": "k-other-body"}
    first = await tenant.client.post("/api/v1/employees", json=new_employee(), headers=headers)
    assert first.status_code == 201
    other = await tenant.client.post("/api/v1/employees", json=new_employee(), headers=headers)
    assert_validation(other, ["header", "Idempotency-Key"])
    assert await count_employees(tenant) == 1


async def test_idempotency_keys_are_per_caller(tenant):
    """Another caller's same key is not a replay of someone else's response."""
    body = new_employee()
    mine = await tenant.client.post("/api/v1/employees", json=body, headers={**tenant.hr, "Idempotency-Key": "shared"})
    theirs = await tenant.client.post(
        "/api/v1/employees", json=body, headers={**tenant.hr, "Idempotency-Key": "shared"}
    )
    assert mine.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert_problem(theirs, 409)  # the employee exists: executed, not replayed


async def test_idempotency_replays_errors_too(tenant):
    headers = {**tenant.hr, "Idempotency-Key": "k-err"}
    body = new_employee(manager_id=str(uuid.uuid4()))
    first = await tenant.client.post("/api/v1/employees", json=body, headers=headers)
    assert_validation(first, ["body", "manager_id"])
    again = await tenant.client.post("/api/v1/employees", json=body, headers=headers)
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


async def test_too_long_idempotency_key_is_422(tenant):
    resp = await tenant.client.post(
        "/api/v1/employees", json=new_employee(), headers={**tenant.hr, "Idempotency-Key": "k" * 201}
    )
    assert_validation(resp, ["header", "Idempotency-Key"])
    assert await count_employees(tenant) == 0


# --- audit log -------------------------------------------------------------------------------


async def test_audit_events_for_create_and_update(tenant):
    hr = bearer(tenant.token(["hr"], sub="hr-jane"))
    created = await tenant.client.post("/api/v1/employees", json=new_employee(given_name="Ann"), headers=hr)
    emp_id = created.json()["id"]
    patched = await tenant.client.patch(f"/api/v1/employees/{emp_id}", json={"given_name": "Annie"}, headers=hr)
    assert patched.status_code == 200

    resp = await tenant.client.get("/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": emp_id})
    assert resp.status_code == 200
    events = resp.json()["items"]
    assert [e["action"] for e in events] == ["employee.created", "employee.updated"]
    created_ev, updated_ev = events
    assert all(e["entity_type"] == "employee" and e["entity_id"] == emp_id for e in events)
    assert all(e["actor"] == "hr-jane" and e["actor_kind"] == "person" for e in events)
    assert created_ev["before"] is None and created_ev["after"]["given_name"] == "Ann"
    assert updated_ev["before"]["given_name"] == "Ann" and updated_ev["after"]["given_name"] == "Annie"
    assert all(e["request_id"] for e in events)

    by_actor = await tenant.client.get("/api/v1/audit-events", headers=tenant.admin, params={"actor": "hr-jane"})
    assert {e["entity_id"] for e in by_actor.json()["items"]} == {emp_id}
    later = await tenant.client.get(
        "/api/v1/audit-events", headers=tenant.admin, params={"entity_id": emp_id, "since": updated_ev["at"]}
    )
    assert [e["action"] for e in later.json()["items"]] == ["employee.updated"]


async def test_audit_events_for_departments_and_clients(tenant):
    dep = (await tenant.client.post("/api/v1/departments", json={"name": "Ops"}, headers=tenant.admin)).json()
    await tenant.client.delete(f"/api/v1/departments/{dep['id']}", headers=tenant.admin)
    resp = await tenant.client.get("/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": dep["id"]})
    assert [e["action"] for e in resp.json()["items"]] == ["department.created", "department.deleted"]
    org = await tenant.client.patch("/api/v1/organization", json={"name": "Audited"}, headers=tenant.admin)
    assert org.status_code == 200
    ev = await tenant.client.get("/api/v1/audit-events", headers=tenant.auditor, params={"entity_type": "organization"})
    assert ev.json()["items"][-1]["after"]["name"] == "Audited"


async def test_refused_change_writes_no_audit_event(tenant):
    emp = await tenant.add_employee("ann")
    await tenant.client.patch(f"/api/v1/employees/{emp['id']}", json={"given_name": "X"}, headers=tenant.auditor)
    await tenant.client.patch(f"/api/v1/employees/{emp['id']}", json={"email": "bad"}, headers=tenant.hr)
    resp = await tenant.client.get("/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": emp["id"]})
    assert [e["action"] for e in resp.json()["items"]] == ["employee.created"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'tampered' WHERE entity_id = :eid",
        "DELETE FROM audit_events WHERE entity_id = :eid",
    ],
)
async def test_audit_table_is_append_only_in_the_database(tenant, statement):
    emp = await tenant.add_employee("ann")
    with pytest.raises(Exception, match="append-only"):
        async with database.engine.begin() as conn:
            await conn.execute(text(statement), {"eid": emp["id"]})
    resp = await tenant.client.get("/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": emp["id"]})
    items = resp.json()["items"]
    assert len(items) == 1 and items[0]["reason"] is None


# --- outbox ------------------------------------------------------------------------------------


async def _outbox(org_id: uuid.UUID) -> list[OutboxEvent]:
    async with database.sessions() as session:
        rows = await session.execute(select(OutboxEvent).where(OutboxEvent.org_id == org_id).order_by(OutboxEvent.id))
        return list(rows.scalars())


async def test_outbox_event_after_bulk(tenant):
    rows = [new_employee(), new_employee()]
    resp = await tenant.client.post("/api/v1/employees/bulk", json={"rows": rows}, headers=tenant.hr)
    ids = [r["id"] for r in resp.json()["results"]]
    events = await _outbox(tenant.org_id)
    assert len(events) == 1
    ev = events[0]
    assert ev.event_type == "employee.upserted" and ev.published_at is None
    assert sorted(ev.payload["employee_ids"]) == sorted(ids)
    assert ev.payload["created"] == 2 and ev.payload["updated"] == 0

    # A no-op re-sync emits nothing; an update emits one more event naming only that row.
    await tenant.client.post("/api/v1/employees/bulk", json={"rows": rows}, headers=tenant.hr)
    assert len(await _outbox(tenant.org_id)) == 1
    rows[1]["given_name"] = "Changed"
    await tenant.client.post("/api/v1/employees/bulk", json={"rows": rows}, headers=tenant.hr)
    events = await _outbox(tenant.org_id)
    assert len(events) == 2
    assert events[1].payload["employee_ids"] == [ids[1]] and events[1].payload["updated"] == 1


async def test_no_outbox_event_when_atomic_bulk_fails(tenant):
    rows = [new_employee(), new_employee(email="not-an-email")]
    resp = await tenant.client.post("/api/v1/employees/bulk?atomic=true", json={"rows": rows}, headers=tenant.hr)
    assert resp.status_code == 422
    assert await _outbox(tenant.org_id) == []
