"""Find, sort and export on the directory (`GET /api/v1/employees`, docs/api.md "Find,
sort and export"): `q` and its escaping, every sort key both ways walked page by page,
cursors bound to their sort, the subtree filter, and the CSV export (header, rows equal
to the JSON list, quoting, formula prefix, pay columns, streaming in chunks), plus the
406 for CSV where a list has no export."""

from __future__ import annotations

import math

import pytest

from service.kit import export
from tests.conftest import Tenant, statement_hook
from tests.listing import as_dicts, cell, expected, read_csv, walk

E = "/api/v1/employees"
KINDS = {
    "family_name": "text",
    "given_name": "text",
    "email": "text",
    "external_id": "text",
    "status": "text",
    "hire_date": "date",
    "termination_date": "date",
    "created_at": "datetime",
    "updated_at": "datetime",
}
PEOPLE = [
    # key, given, family, hire date, status, termination date: ties, case and NULLs everywhere
    ("ann", "Ann", "smith", "2020-01-01", "active", None),
    ("ben", "Ben", "Smith", None, "active", None),
    ("cid", "cid", "Adams", "2019-05-05", "on_leave", "2027-01-31"),
    ("dot", "Dot", "adams", "2020-01-01", "active", None),
    ("eve", "Eve", "Zeta", None, "on_leave", None),
    ("fay", "fay", "Baker", "2018-02-03", "active", "2026-12-31"),
    ("gus", "Gus", "baker", "2018-02-03", "active", None),
]


async def directory(t: Tenant) -> list[dict]:
    for key, given, family, hired, status, left in PEOPLE:
        await t.add_employee(
            key,
            given_name=given,
            family_name=family,
            hire_date=hired,
            status=status,
            termination_date=left,
            email=f"{key}.{family.lower()}@example.com",
        )
    resp = await t.client.get(E, headers=t.hr, params={"limit": 500})
    return resp.json()["items"]


@pytest.mark.parametrize("key", sorted(KINDS))
async def test_every_sort_key_both_ways_walks_every_row_once_in_order(tenant: Tenant, key):
    everyone = await directory(tenant)
    for sort in (key, f"-{key}"):
        got = await walk(tenant.client, E, tenant.hr, {"sort": sort}, limit=2)
        assert [i["id"] for i in got] == expected(everyone, sort, KINDS), sort


@pytest.mark.parametrize("sort", ["family_name,-hire_date", "-status,given_name", "hire_date,-family_name,email"])
async def test_several_keys(tenant: Tenant, sort):
    everyone = await directory(tenant)
    got = await walk(tenant.client, E, tenant.hr, {"sort": sort}, limit=3)
    assert [i["id"] for i in got] == expected(everyone, sort, KINDS)


async def test_a_cursor_belongs_to_its_sort_and_unknown_keys_are_named(tenant: Tenant):
    await directory(tenant)
    first = await tenant.client.get(E, headers=tenant.hr, params={"sort": "family_name", "limit": 2})
    cursor = first.json()["next_cursor"]
    for other in ({"sort": "-family_name"}, {"sort": "given_name"}, {}):
        resp = await tenant.client.get(E, headers=tenant.hr, params={**other, "cursor": cursor})
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["errors"][0]["loc"] == ["query", "cursor"]
    plain = (await tenant.client.get(E, headers=tenant.hr, params={"limit": 2})).json()["next_cursor"]
    resp = await tenant.client.get(E, headers=tenant.hr, params={"sort": "email", "cursor": plain})
    assert resp.status_code == 422
    for bad, named in (("salary", "'salary'"), ("family_name,-base_salary_minor", "'base_salary_minor'")):
        resp = await tenant.client.get(E, headers=tenant.hr, params={"sort": bad})
        assert resp.status_code == 422
        body = resp.json()
        assert body["errors"][0]["loc"] == ["query", "sort"] and named in body["detail"]
        assert "family_name" in body["detail"]  # the answer lists what may be used


async def test_q_matches_names_email_and_external_id_case_insensitively(tenant: Tenant):
    everyone = {e["given_name"]: e for e in await directory(tenant)}

    async def found(q: str, **params) -> set[str]:
        resp = await tenant.client.get(E, headers=tenant.hr, params={"q": q, **params})
        assert resp.status_code == 200, resp.text
        return {i["given_name"] for i in resp.json()["items"]}

    assert await found("SMI") == {"Ann", "Ben"}
    assert await found("  ann   smith ") == {"Ann"}  # every word, in any field
    assert await found("smith ann") == {"Ann"}
    assert await found("dot.adams@") == {"Dot"}
    assert await found(everyone["cid"]["external_id"]) == {"cid"}
    assert await found("ADAMS", sort="-given_name") == {"cid", "Dot"}
    assert await found("nobody") == set()
    assert await found("") == set(everyone)  # a blank q searches nothing
    assert await found("smith", status="active") == {"Ann", "Ben"}


async def test_q_wildcards_match_themselves(tenant: Tenant):
    for key, family in (("pct", "100% Pure"), ("plain", "100 Pure"), ("under", "a_b"), ("x", "axb"), ("bs", "c\\d")):
        # fixed external ids: a random one ("x-1f1004") could hold the digits searched for
        await tenant.add_employee(key, family_name=family, external_id=f"ext-{key}")

    async def found(q: str) -> list[str]:
        resp = await tenant.client.get(E, headers=tenant.hr, params={"q": q})
        return sorted(i["family_name"] for i in resp.json()["items"])

    assert await found("100%") == ["100% Pure"]
    assert await found("%") == ["100% Pure"]
    assert await found("a_b") == ["a_b"]
    assert await found("_") == ["a_b"]
    assert await found("c\\d") == ["c\\d"]
    assert await found("100") == ["100 Pure", "100% Pure"]


@pytest.mark.parametrize(
    ("q", "msg"), [("x" * 101, "String should have at most 100 characters"), ("a b c d e f g h i", "more than 8")]
)
async def test_q_is_bounded(tenant: Tenant, q, msg):
    resp = await tenant.client.get(E, headers=tenant.hr, params={"q": q})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["query", "q"] and msg in resp.json()["errors"][0]["msg"]


async def test_the_subtree_filter(team: Tenant):
    ids = {k: v["id"] for k, v in team.employees.items()}

    async def names(**params) -> set[str]:
        resp = await team.client.get(E, headers=team.employee("alice"), params=params)
        assert resp.status_code == 200, resp.text
        return {k for k, v in ids.items() if v in {i["id"] for i in resp.json()["items"]}}

    assert await names(manager_id=ids["boss"]) == {"lead", "carol"}
    assert await names(manager_id=ids["boss"], subtree="true") == {"lead", "carol", "alice", "bob"}
    assert await names(manager_id=ids["lead"], subtree="true", q="ali") == {"alice"}
    assert await names(manager_id=ids["dave"], subtree="true") == set()
    resp = await team.client.get(E, headers=team.hr, params={"subtree": "true"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["query", "subtree"]


PAY = ["base_salary_minor", "compensation_currency", "target_bonus_pct", "target_bonus_minor"]


def json_row(item: dict, pay: bool) -> dict[str, str]:
    row = {k: cell(v) for k, v in item.items() if k != "compensation"}
    if pay:
        comp = item.get("compensation") or {}
        row.update(
            base_salary_minor=cell(comp.get("base_salary_minor")),
            compensation_currency=cell(comp.get("currency")),
            target_bonus_pct=cell(comp.get("target_bonus_pct")),
            target_bonus_minor=cell(comp.get("target_bonus_minor")),
        )
    return row


async def test_csv_rows_equal_the_json_list(team: Tenant):
    await team.add_employee("odd", given_name='=HYPERLINK("http://x")', family_name='O"Neil, Jr.\nline')
    await team.add_employee("neg", given_name="-2+3", family_name="@risk", email="+x@example.com")
    params = {"sort": "-family_name,given_name", "q": "e"}
    rows = read_csv(await team.client.get(E, headers={**team.hr, "Accept": "text/csv"}, params=params))
    listed = await walk(team.client, E, team.hr, params, limit=2)
    assert rows[0] == [
        "id",
        "external_id",
        "email",
        "given_name",
        "family_name",
        "department_id",
        "position_id",
        "manager_id",
        "status",
        "hire_date",
        "termination_date",
        "created_at",
        "updated_at",
        *PAY,
    ]
    guarded = {"external_id", "email", "given_name", "family_name"}
    want = []
    for item in listed:
        row = json_row(item, pay=True)
        want.append({k: ("'" + v if k in guarded and v[:1] in "=+-@" and v else v) for k, v in row.items()})
    assert as_dicts(rows) == want
    odd = next(r for r in as_dicts(rows) if r["external_id"].startswith("odd"))
    assert odd["given_name"] == '\'=HYPERLINK("http://x")' and odd["family_name"] == 'O"Neil, Jr.\nline'
    neg = next(r for r in as_dicts(rows) if r["external_id"].startswith("neg"))
    assert (neg["given_name"], neg["family_name"], neg["email"]) == ("'-2+3", "'@risk", "'+x@example.com")
    boss = next(r for r in as_dicts(rows) if r["id"] == team.employees["boss"]["id"])
    assert boss["base_salary_minor"] == "20000000" and boss["target_bonus_pct"] == "20"


async def test_csv_quotes_as_rfc_4180(team: Tenant):
    family = 'say "hi", then\r\nleave'
    await team.add_employee("quote", family_name=family)
    resp = await team.client.get(E, headers={**team.hr, "Accept": "text/csv"}, params={"q": "quote"})
    assert ',"say ""hi"", then\r\nleave",' in resp.text  # quoted, quotes doubled, the line break kept
    (row,) = as_dicts(read_csv(resp))
    assert row["family_name"] == family


@pytest.mark.parametrize("caller", ["manager", "employee", "auditor"])
async def test_pay_columns_only_for_callers_who_see_everyones_pay(team: Tenant, caller):
    headers = {"manager": team.employee("boss"), "employee": team.employee("alice"), "auditor": team.auditor}[caller]
    rows = read_csv(await team.client.get(E, headers={**headers, "Accept": "text/csv"}))
    assert not set(PAY) & set(rows[0])
    assert "20000000" not in "".join(",".join(r) for r in rows)
    assert len(rows) == 1 + len(team.employees)  # the same directory, without pay
    for scope in ("payroll:read", "employees:write"):
        rows = read_csv(await team.client.get(E, headers={**team.as_scope(scope), "Accept": "text/csv"}))
        assert set(PAY) <= set(rows[0])


async def test_the_export_streams_in_chunks_of_keyset_reads(tenant: Tenant, monkeypatch):
    """Memory stays bounded: one query per chunk, each reading at most a chunk (and one
    row more to know whether another follows), never the whole table."""
    for i in range(7):
        await tenant.add_employee(f"e{i}", family_name=f"F{i % 3}")
    monkeypatch.setattr(export, "CHUNK", 2)

    async def reads(expect: int, **params) -> list[str]:
        sent: list[str] = []
        with statement_hook(sent.append):
            rows = read_csv(await tenant.client.get(E, headers={**tenant.hr, "Accept": "text/csv"}, params=params))
        assert len(rows) - 1 == expect
        return [s for s in sent if s.lstrip().upper().startswith("SELECT") and "FROM employees" in s]

    plain = await reads(expect=7)
    assert len(plain) == math.ceil(7 / 2)
    assert all("LIMIT" in s for s in plain)
    sorted_reads = await reads(sort="-family_name", expect=7)
    assert len(sorted_reads) == math.ceil(7 / 2)
    for i in range(7, 13):
        await tenant.add_employee(f"e{i}")
    assert len(await reads(expect=13)) == math.ceil(13 / 2)  # grows with the rows over the chunk size
    monkeypatch.setattr(export, "CHUNK", 5)
    assert len(await reads(expect=13)) == math.ceil(13 / 5)


async def test_the_export_starts_after_a_cursor_of_its_sort(tenant: Tenant):
    everyone = await directory(tenant)
    first = await tenant.client.get(E, headers=tenant.hr, params={"sort": "hire_date", "limit": 3})
    cursor = first.json()["next_cursor"]
    rows = read_csv(
        await tenant.client.get(
            E, headers={**tenant.hr, "Accept": "text/csv"}, params={"sort": "hire_date", "cursor": cursor}
        )
    )
    assert [r["id"] for r in as_dicts(rows)] == expected(everyone, "hire_date", KINDS)[3:]
    resp = await tenant.client.get(
        E, headers={**tenant.hr, "Accept": "text/csv"}, params={"sort": "email", "cursor": cursor}
    )
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")


async def test_csv_refusals_are_problems_before_any_row(tenant: Tenant):
    csv_accept = {**tenant.hr, "Accept": "text/csv"}
    bad = await tenant.client.get(E, headers=csv_accept, params={"sort": "nope"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    client = await tenant.client.get(E, headers={**tenant.as_scope("kpi:write"), "Accept": "text/csv"})
    assert client.status_code == 403 and client.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("text/csv", "text/csv"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.1, text/csv", "text/csv"),
        ("text/*", "text/csv"),
        ("*/*", "application/json"),
        ("application/json, text/csv", "application/json"),
    ],
)
async def test_negotiation(tenant: Tenant, accept, kind):
    resp = await tenant.client.get(E, headers={**tenant.hr, "Accept": accept})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(kind)


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/api/v1/departments", "text/csv"),
        ("/api/v1/objectives", "text/csv"),
        ("/api/v1/organization", "text/*"),
        (E, "text/html"),
        (E, "text/csv;q=0, application/json;q=0"),
    ],
)
async def test_csv_where_a_list_has_no_export_is_406(tenant: Tenant, path, accept):
    resp = await tenant.client.get(path, headers={**tenant.hr, "Accept": accept})
    assert resp.status_code == 406, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == 406 and "application/json" in body["acceptable"]
    assert ("text/csv" in body["acceptable"]) == (path == E)


async def test_the_openapi_document_describes_the_export(app):
    doc = app.openapi()
    get = doc["paths"][E]["get"]
    assert set(get["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert get["responses"]["200"]["content"]["text/csv"]["example"].startswith("id,external_id,email,")
    assert set(get["responses"]["406"]["content"]) == {"application/problem+json"}
    params = {p["name"]: p for p in get["parameters"]}
    assert params["q"]["schema"]["anyOf"][0]["maxLength"] == 100
    sort = params["sort"]
    assert "family_name" in sort["description"] and "hire_date" in sort["description"]
    assert "subtree" in params
