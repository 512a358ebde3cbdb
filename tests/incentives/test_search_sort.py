"""Find, sort and export on `GET /api/v1/incentive-results` (not the payroll feed, whose
contract is its own): `q` on the employee, sort keys both ways, sorting by amount only for
callers who see every amount, the subtree, visibility, and the CSV export (rows equal to
the JSON list, amount columns only for those who see pay, streamed in chunks)."""

from __future__ import annotations

import math

import pytest

from service.kit import export
from tests.conftest import Tenant, statement_hook
from tests.incentives.conftest import act, comp, give_scores, make_plan, results_of, run, set_employee
from tests.listing import as_dicts, cell, expected, read_csv, walk

R = "/api/v1/incentive-results"
KINDS = {
    "family_name": "text",
    "given_name": "text",
    "status": "text",
    "kind": "text",
    "amount_minor": "int",
    "period_start": "date",
    "finalized_at": "datetime",
    "created_at": "datetime",
    "updated_at": "datetime",
}
AMOUNTS = {"alice": 1000, "bob": 2000, "carol": 3000, "lead": 2000}


async def paid(t: Tenant, q4: dict) -> dict[str, dict]:
    """Draft bonuses (a tie between bob and lead); alice's finalized, carol's approved."""
    await give_scores(t, q4, {k: 90 for k in AMOUNTS})
    for key, amount in AMOUNTS.items():
        await set_employee(t, key, compensation=comp(amount), family_name=f"{key[0].upper()}amily")
    plan = await make_plan(t, q4)
    await run(t, plan)
    got = {r["employee_id"]: r for r in await results_of(t, plan)}
    mine = {k: got[t.employees[k]["id"]] for k in AMOUNTS}
    mine["alice"] = await act(t, mine["alice"], "approve")
    mine["alice"] = await act(t, mine["alice"], "finalize")
    mine["carol"] = await act(t, mine["carol"], "approve")
    return mine


@pytest.mark.parametrize("key", sorted(KINDS))
async def test_every_sort_key_both_ways(team: Tenant, q4, key):
    await paid(team, q4)
    people = {e["id"]: e for e in team.employees.values()}
    everything = (await team.client.get(R, headers=team.hr, params={"limit": 500})).json()["items"]
    assert {i["amount_minor"] for i in everything} >= set(AMOUNTS.values())

    def value(item: dict, name: str):
        return people[item["employee_id"]][name] if name in ("family_name", "given_name") else item[name]

    for sort in (key, f"-{key}"):
        got = await walk(team.client, R, team.hr, {"sort": sort}, limit=2)
        assert [i["id"] for i in got] == expected(everything, sort, KINDS, value), sort


@pytest.mark.parametrize("caller", ["manager", "auditor", "employee"])
async def test_only_who_sees_every_amount_sorts_by_it(team: Tenant, q4, caller):
    await paid(team, q4)
    headers = {"manager": team.employee("boss"), "auditor": team.auditor, "employee": team.employee("alice")}[caller]
    refused = await team.client.get(R, headers=headers, params={"sort": "-amount_minor"})
    assert refused.status_code == 422, refused.text
    assert "unknown sort key 'amount_minor'" in refused.json()["detail"]
    assert (await team.client.get(R, headers=headers, params={"sort": "family_name"})).status_code == 200
    allowed = await team.client.get(R, headers=team.as_scope("payroll:read"), params={"sort": "-amount_minor"})
    assert allowed.status_code == 200


async def test_q_subtree_and_visibility(team: Tenant, q4):
    made = await paid(team, q4)
    emp = {k: v["id"] for k, v in team.employees.items()}

    async def found(headers=None, **params) -> set[str]:
        resp = await team.client.get(R, headers=headers or team.hr, params=params)
        assert resp.status_code == 200, resp.text
        got = {i["id"] for i in resp.json()["items"]}
        return {k for k, v in made.items() if v["id"] in got}

    assert await found(q="bamily") == {"bob"}
    assert await found(q="AMILY") == set(AMOUNTS)
    assert await found(manager_id=emp["boss"]) == {"lead", "carol"}
    assert await found(manager_id=emp["lead"], subtree="true", status="finalized") == {"alice"}
    assert await found(team.employee("alice")) == {"alice"}  # her own finalized result
    assert await found(team.employee("alice"), q="bob") == set()
    assert await found(team.employee("bob")) == set()  # a draft is not his to see yet
    assert await found(team.employee("lead"), manager_id=emp["boss"], subtree="true") == {"alice", "bob"}


def json_row(item: dict, people: dict, pay: bool) -> dict[str, str]:
    person = people[item["employee_id"]]
    row = {
        k: cell(item[k])
        for k in (
            "id",
            "plan_id",
            "employee_id",
            "kind",
            "status",
            "currency",
            "nomination",
            "nomination_kind",
            "earning_code",
            "period_start",
            "period_end",
            "version",
            "adjusts_id",
            "approved_at",
            "finalized_at",
            "declined_at",
            "created_at",
            "updated_at",
        )
    }
    row.update(
        employee_external_id=person["external_id"], given_name=person["given_name"], family_name=person["family_name"]
    )
    if pay:
        row.update(amount_minor=cell(item["amount_minor"]), amount=cell(item["amount"]))
    return row


@pytest.mark.parametrize(("caller", "pay"), [("hr", True), ("payroll", True), ("manager", False), ("auditor", False)])
async def test_csv_rows_equal_the_json_list(team: Tenant, q4, caller, pay, monkeypatch):
    await paid(team, q4)
    headers = {
        "hr": team.hr,
        "payroll": team.as_scope("payroll:read"),
        "manager": team.employee("boss"),
        "auditor": team.auditor,
    }[caller]
    people = {e["id"]: e for e in team.employees.values()}
    params = {"sort": "family_name,-created_at"}
    listed = await walk(team.client, R, headers, params, limit=2)
    monkeypatch.setattr(export, "CHUNK", 2)
    sent: list[str] = []
    with statement_hook(sent.append):
        resp = await team.client.get(R, headers={**headers, "Accept": "text/csv"}, params=params)
    rows = read_csv(resp)
    assert resp.headers["content-disposition"] == 'attachment; filename="incentive-results.csv"'
    assert ("amount_minor" in rows[0] and "amount" in rows[0]) == pay
    assert as_dicts(rows) == [json_row(i, people, pay) for i in listed]
    reads = [s for s in sent if s.lstrip().upper().startswith("SELECT") and "FROM incentive_results" in s]
    assert len(reads) == max(1, math.ceil(len(listed) / 2))  # one keyset read per chunk


async def test_csv_refusals_come_before_the_stream(team: Tenant, q4):
    await paid(team, q4)
    resp = await team.client.get(
        R, headers={**team.employee("boss"), "Accept": "text/csv"}, params={"sort": "amount_minor"}
    )
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    cursor = (await team.client.get(R, headers=team.hr, params={"limit": 1})).json()["next_cursor"]
    resp = await team.client.get(
        R, headers={**team.hr, "Accept": "text/csv"}, params={"cursor": cursor, "sort": "status"}
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["query", "cursor"]
