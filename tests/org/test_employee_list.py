"""The employee list as REST answers it: a page's bytes are the items' own answers to
`GET /employees/{id}`, for every kind of caller and on both read paths (the direct read
of a plain or filtered page in id order, and the built query of a search or a sort)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from service.config import get_settings
from service.db import database
from tests.conftest import BACKEND, Tenant, statement_hook

URL = "/api/v1/employees"


async def _people(t: Tenant) -> None:
    """Employees whose answers exercise every kind of value: pay with a decimal and
    without, dates and NULLs, non-ASCII text and characters JSON escapes."""
    await t.add_employee("boss", compensation={"base_salary_minor": 9900000, "currency": "EUR"})
    await t.add_employee(
        "ann",
        manager="boss",
        given_name='Ánn "the" \\ Ünïcødé 😀',
        family_name="O'Brien\t</script>",
        hire_date="2024-02-29",
        termination_date="2025-01-31",
        status="terminated",
        compensation={"base_salary_minor": 12345678, "currency": "EUR", "target_bonus_pct": "10.50"},
    )
    await t.add_employee("bob", manager="boss", compensation={"target_bonus_minor": 500})
    await t.add_employee("cid", manager="boss")
    await t.add_employee("dee")


def _callers(t: Tenant) -> dict[str, dict[str, str]]:
    return {
        "hr": t.hr,  # everyone's pay
        "auditor": t.auditor,  # nobody's pay
        "ann": t.employee("ann"),  # her own pay only
        "boss": t.as_("employee", "manager", emp=t.employees["boss"]["id"]),
        "payroll client": t.as_scope("payroll:read"),
    }


async def _walk(t: Tenant, headers: dict[str, str], params: dict[str, Any]) -> list[bytes]:
    """The raw bodies of every page, following `next_cursor` (and checking `Link`)."""
    bodies: list[bytes] = []
    cursor = None
    while True:
        resp = await t.client.get(URL, headers=headers, params={**params, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        bodies.append(resp.content)
        cursor = resp.json()["next_cursor"]
        assert ("link" in resp.headers) is (cursor is not None)
        if cursor is None:
            return bodies
        assert len(bodies) < 20


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 2},  # the direct read, page after page
        {"limit": 500},
        {"limit": 2, "manager_id": "boss"},  # with an equality filter
        {"limit": 2, "q": "example.com"},  # search: the built query
        {"limit": 2, "sort": "given_name"},  # a sort: the built query
    ],
    ids=["pages", "one-page", "filtered", "search", "sorted"],
)
async def test_a_page_is_its_items_get_answers_byte_for_byte(tenant: Tenant, params: dict[str, Any]):
    await _people(tenant)
    if "manager_id" in params:
        params = {**params, "manager_id": tenant.employees["boss"]["id"]}
    for who, headers in _callers(tenant).items():
        seen: list[str] = []
        answers: dict[str, dict[str, Any]] = {}
        for body in await _walk(tenant, headers, params):
            page = json.loads(body)
            items = []
            for item in page["items"]:
                one = await tenant.client.get(f"{URL}/{item['id']}", headers=headers)
                assert one.status_code == 200, one.text
                items.append(one.content)
                seen.append(item["id"])
                answers[item["id"]] = one.json()
            cursor = json.dumps(page["next_cursor"]).encode()
            assert body == b'{"items":[' + b",".join(items) + b'],"next_cursor":' + cursor + b"}", who
        expected = {e["id"] for e in tenant.employees.values()}
        if "manager_id" in params:
            expected = {e["id"] for k, e in tenant.employees.items() if k != "boss" and k != "dee"}
        assert sorted(seen) == sorted(expected) and len(seen) == len(expected), (who, params)
        if "sort" not in params:
            assert seen == sorted(seen, key=uuid.UUID), who  # id order
        pay = {i for i in seen if "compensation" in answers[i]}
        if who in ("hr", "payroll client"):
            assert pay == set(seen)
        elif who in ("ann", "boss"):  # a person sees their own pay, a manager not their reports'
            assert pay == {tenant.employees[who]["id"]} & set(seen)
        else:
            assert pay == set()


async def test_the_filters_of_the_direct_read_combine(tenant: Tenant):
    await _people(tenant)
    dep = (await tenant.client.post("/api/v1/departments", json={"name": "Ops"}, headers=tenant.hr)).json()
    e = {k: v["id"] for k, v in tenant.employees.items()}
    for key in ("bob", "dee"):
        resp = await tenant.client.patch(f"{URL}/{e[key]}", json={"department_id": dep["id"]}, headers=tenant.hr)
        assert resp.status_code == 200, resp.text

    async def ids(**params: Any) -> list[str]:
        resp = await tenant.client.get(URL, headers=tenant.hr, params=params)
        assert resp.status_code == 200, resp.text
        return [i["id"] for i in resp.json()["items"]]

    assert await ids(department_id=dep["id"]) == sorted([e["bob"], e["dee"]], key=uuid.UUID)
    assert await ids(department_id=dep["id"], manager_id=e["boss"]) == [e["bob"]]
    assert await ids(manager_id=e["boss"], status="terminated") == [e["ann"]]
    ann = tenant.employees["ann"]["external_id"]
    assert await ids(external_id=ann, status="active") == []
    assert await ids(external_id=ann, status="terminated", manager_id=e["boss"]) == [e["ann"]]
    assert await ids(q="   ") == sorted(e.values(), key=uuid.UUID)  # no words: no search


async def test_a_cursor_of_a_sort_is_refused_by_the_plain_list(tenant: Tenant):
    await _people(tenant)
    sorted_page = (await tenant.client.get(URL, headers=tenant.hr, params={"limit": 1, "sort": "email"})).json()
    for cursor in (sorted_page["next_cursor"], "not-a-cursor"):
        resp = await tenant.client.get(URL, headers=tenant.hr, params={"cursor": cursor})
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_plain_page_is_read_on_the_driver_where_it_may_and_a_search_is_not(tenant: Tenant):
    """SQLAlchemy sees the list's SELECT of a plain page only where direct reads are off
    (SQLite, PgBouncer): on PostgreSQL a GET reads it straight on asyncpg. A search
    builds its query and runs it through SQLAlchemy everywhere."""
    await _people(tenant)
    assert (await tenant.client.get(URL, headers=tenant.hr)).status_code == 200  # warm: tenancy check cached
    direct = database.direct_reads is not None
    assert direct is (BACKEND == "postgresql" and not get_settings().db_pgbouncer)
    for params, sqlalchemy_sees in (({"limit": 2}, not direct), ({"q": "ann"}, True)):
        seen: list[str] = []
        with statement_hook(seen.append):
            resp = await tenant.client.get(URL, headers=tenant.hr, params=params)
        assert resp.status_code == 200 and resp.json()["items"]
        assert any("FROM employees" in s for s in seen) is sqlalchemy_sees, params
