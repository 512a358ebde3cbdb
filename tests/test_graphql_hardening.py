"""GraphQL against an outside probe's findings: a document's work is bounded after
fragment expansion and refused in milliseconds (service/graphql/cost.py), an operation
that runs too long is stopped and rolled back, and a client's mistakes (wrong variable
types, bad ids, missing variables, unknown input fields, absurdly nested JSON, requests
that are not GraphQL at all) are 4xx answers or GraphQL errors, never a 5xx."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.conftest import Tenant

NESTED = (
    "fragment A on Employee { id } "
    + " ".join(
        f"fragment B{i} on Employee {{ {' '.join(('...A' if i == 0 else f'...B{i - 1}') for _ in range(20))} }}"
        for i in range(5)
    )
    + " { me { ...B4 } }"
)


async def post(t: Tenant, body: Any, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    return await t.client.post(
        "/graphql",
        headers={**t.hr, **(headers or {})},
        content=body if isinstance(body, (bytes, str)) else json.dumps(body),
        **kw,
    )


async def test_nested_fragments_are_refused_before_they_run(team: Tenant):
    t = team
    assert len(NESTED) < 800
    start = time.perf_counter()
    resp = await post(t, {"query": NESTED}, {"content-type": "application/json", **t.employee("alice")})
    elapsed = time.perf_counter() - start
    assert resp.status_code in (200, 400), resp.text
    body = resp.json()
    assert body.get("data") is None
    (err,) = body["errors"]
    ext = err["extensions"]
    assert ext["code"] == "query_too_costly" and ext["nodes"] == 20**5 + 1 and ext["max_nodes"] == 2000
    assert elapsed < 0.5, elapsed  # refused in milliseconds, not seconds (measured: a few ms)


async def test_the_cost_counts_page_sizes(team: Tenant):
    t = team
    small = await post(
        t, {"query": "{ employees(first: 10) { nodes { id givenName } } }"}, {"content-type": "application/json"}
    )
    assert small.status_code == 200 and "errors" not in small.json(), small.text
    # a large page of a screen's worth of fields is fine ...
    wide = (
        "{ employees(first: 500) { nodes { id givenName familyName email manager { id givenName } "
        "department { id name } position { id name } } } objectives(first: 500) { nodes { id title "
        "keyResults { id title checkIns { id value } } } } }"
    )
    ok = (await post(t, {"query": wide}, {"content-type": "application/json"})).json()
    assert "errors" not in ok, ok
    # ... pages inside pages are not: 500 sessions × 500 adjustments each
    nested = "{ calibrations(first: 500) { nodes { id adjustments(first: 500) { nodes { id delta reason } } } } }"
    refused = (await post(t, {"query": nested}, {"content-type": "application/json"})).json()
    ext = refused["errors"][0]["extensions"]
    assert ext["code"] == "query_too_costly" and ext["cost"] == 500 * (1 + 1 + 1 + 500 * (1 + 1 + 3)), ext
    as_variable = (
        await post(
            t,
            {
                "query": "query($n: Int) { calibrations(first: $n) { nodes { id adjustments("
                "first: $n) { nodes { id } } } } }",
                "variables": {"n": 2},
            },
            {"content-type": "application/json"},
        )
    ).json()
    assert as_variable["errors"][0]["extensions"]["code"] == "query_too_costly"  # a variable counts as 500
    # paging backward weighs the same: `last` is a page size like `first`
    backward = nested.replace("first:", "last:")
    refused = (await post(t, {"query": backward}, {"content-type": "application/json"})).json()
    ext = refused["errors"][0]["extensions"]
    assert ext["code"] == "query_too_costly" and ext["cost"] == 500 * (1 + 1 + 1 + 500 * (1 + 1 + 3)), ext
    last_variable = (
        await post(
            t,
            {
                "query": "query($n: Int) { calibrations(last: $n) { nodes { id adjustments("
                "last: $n) { nodes { id } } } } }",
                "variables": {"n": 2},
            },
            {"content-type": "application/json"},
        )
    ).json()
    assert last_variable["errors"][0]["extensions"]["code"] == "query_too_costly"


async def test_an_operation_past_the_timeout_is_stopped(team: Tenant, monkeypatch: pytest.MonkeyPatch):
    """The backstop: a resolver slower than GRAPHQL_TIMEOUT_SECONDS is cancelled, the
    answer says 503 and the mutation's writes are rolled back."""
    from service.config import get_settings
    from service.org import service as org_service

    t = team
    monkeypatch.setattr(get_settings(), "graphql_timeout_seconds", 0.2)
    real = org_service.update_employee

    async def slow(*args: Any, **kwargs: Any) -> Any:
        out = await real(*args, **kwargs)  # the write is flushed ...
        await asyncio.sleep(5)  # ... then the operation hangs
        return out

    monkeypatch.setattr(org_service, "update_employee", slow)
    alice = t.employees["alice"]["id"]
    started = time.perf_counter()
    resp = await post(
        t,
        {
            "query": 'mutation($id: ID!) { updateEmployee(id: $id, input: {givenName: "Slow"}) { id } }',
            "variables": {"id": alice},
        },
        {"content-type": "application/json"},
    )
    assert time.perf_counter() - started < 3
    body = resp.json()
    assert body["errors"][0]["extensions"] == {"status": 503, "code": "timeout"}, body
    monkeypatch.setattr(org_service, "update_employee", real)
    after = await t.client.get(f"/api/v1/employees/{alice}", headers=t.hr)
    assert after.json()["given_name"] == "Alice"  # rolled back


CLIENT_MISTAKES = [
    (
        "wrong variable type",
        {"query": "query($f: Int) { employees(first: $f) { nodes { id } } }", "variables": {"f": "abc"}},
    ),
    ("bad id", {"query": "query($id: ID!) { employee(id: $id) { id } }", "variables": {"id": "not-a-uuid"}}),
    ("bad id literal", {"query": '{ employee(id: "not-a-uuid") { id } }'}),
    ("id of a number", {"query": "{ employee(id: 12) { id } }"}),
    (
        "global id of another type",
        {"query": '{ employee(id: "Q3ljbGU6MDE5MGY3ZTItMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw") { id } }'},
    ),
    ("bad global id", {"query": '{ node(id: "RW1wbG95ZWU6bm90LWEtdXVpZA==") { id } }'}),
    ("not base64", {"query": '{ nodes(ids: ["%%%", "RW1wbG95ZWU6"]) { id } }'}),
    (
        "global id of no node",
        {"query": '{ node(id: "UGFnZUluZm86MDE5MGY3ZTItMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw") { id } }'},
    ),
    ("too many ids", {"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": ["x"] * 501}}),
    ("bad enum", {"query": "{ employees(status: RETIRED) { nodes { id } } }"}),
    ("enum as a string", {"query": '{ employees(status: "active") { nodes { id } } }'}),
    (
        "bad enum variable",
        {"query": "query($s: EmployeeStatus) { employees(status: $s) { nodes { id } } }", "variables": {"s": "active"}},
    ),
    (
        "bad timestamp",
        {
            "query": "query($t: DateTime) { payrollIncentiveResults(updatedSince: $t) { nodes { id } } }",
            "variables": {"t": "yesterday"},
        },
    ),
    ("missing variable", {"query": "query($id: ID!) { employee(id: $id) { id } }"}),
    (
        "unknown input field",
        {
            "query": "mutation($i: CycleInput!) { createCycle(input: $i) { id } }",
            "variables": {"i": {"name": "X", "bogus": 1}},
        },
    ),
    (
        "deeply nested JSON variable",
        '{"query": "mutation($i: CycleInput!) { createCycle(input: $i) { id } }", '
        '"variables": {"i": ' + "[" * 1000 + "]" * 1000 + "}}",
    ),
    ("variables not an object", {"query": "{ me { id } }", "variables": [1, 2]}),
    ("query not a string", {"query": {"a": 1}}),
    ("unknown field", {"query": "{ nope }"}),
    ("syntax error", {"query": "{ me { "}),
]


@pytest.mark.parametrize(("name", "body"), CLIENT_MISTAKES, ids=[c[0] for c in CLIENT_MISTAKES])
async def test_client_mistakes_are_not_server_errors(team: Tenant, name: str, body: Any):
    resp = await post(team, body, {"content-type": "application/json"})
    assert resp.status_code < 500, f"{name}: {resp.status_code} {resp.text[:300]}"
    if resp.status_code == 200:
        errors = resp.json()["errors"]
        assert errors and all((e.get("extensions") or {}).get("code") != "internal" for e in errors), resp.text
        assert all((e.get("extensions") or {}).get("status", 400) < 500 for e in errors), resp.text
    else:
        assert resp.headers["content-type"].startswith(("application/problem+json", "application/json"))


async def test_deeply_nested_json_body_is_a_4xx(team: Tenant):
    deep = '{"query": "{ me { id } }", "variables": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    resp = await post(team, deep, {"content-type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.text[:300]


@pytest.mark.parametrize(
    ("name", "kwargs", "status"),
    [
        ("no query", {"content": b"{}", "headers": {"content-type": "application/json"}}, 400),
        (
            "unsupported content type",
            {"content": b"query { me { id } }", "headers": {"content-type": "text/plain"}},
            415,
        ),
        (
            "batching",
            {"content": b'[{"query": "{ me { id } }"}]', "headers": {"content-type": "application/json"}},
            400,
        ),
        ("not JSON", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
    ],
)
async def test_strawberry_refusals_are_problem_documents(team: Tenant, name: str, kwargs: dict[str, Any], status: int):
    headers = {**team.hr, **kwargs.pop("headers")}
    resp = await team.client.post("/graphql", headers=headers, **kwargs)
    assert resp.status_code == status, f"{name}: {resp.status_code} {resp.text}"
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    problem = resp.json()
    assert problem["status"] == status and problem["title"] and problem["detail"], problem
