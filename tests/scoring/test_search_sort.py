"""Find, sort and export on `GET /api/v1/cycles/{id}/scores`: scores are computed in
Python, so their order is applied in memory with the same rules and cursors as the SQL
lists. Every key both ways (ties, NULL finals), `q`, the subtree, the rating filter under
a sort, visibility, and the CSV export (rows equal to the JSON list, in the list's order)."""

from __future__ import annotations

import pytest

from service.kit import export
from tests.conftest import Tenant, statement_hook
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure
from tests.listing import as_dicts, cell, expected, read_csv, walk

KINDS = {"final": "decimal", "composite": "decimal", "family_name": "text", "given_name": "text"}
FAMILY = {"boss": "Zed", "lead": "adams", "alice": "Baker", "bob": "baker", "carol": "Adams", "dave": "Young"}


async def scored(t: Tenant) -> dict:
    """alice and carol tie, bob falls short, lead meets the target; boss and dave have no
    data (no final)."""
    for who, family in FAMILY.items():
        resp = await t.client.patch(
            f"/api/v1/employees/{t.employees[who]['id']}", headers=t.hr, json={"family_name": family}
        )
        t.employees[who] = resp.json()
    cycle = await make_cycle(t)
    sales = await make_definition(t, "sales")
    for who, value in (("alice", 115), ("bob", 70), ("carol", 115), ("lead", 100)):
        a = await make_assignment(
            t, who, cycle, sales, method="banded", threshold="60", target="100", stretch="120", weight="1"
        )
        await measure(t, a, value, "2026-10-15")
    return cycle


def path(cycle: dict) -> str:
    return f"/api/v1/cycles/{cycle['id']}/scores"


@pytest.mark.parametrize("key", sorted(KINDS))
async def test_every_sort_key_both_ways(team: Tenant, key):
    cycle = await scored(team)
    people = {e["id"]: e for e in team.employees.values()}
    everything = (await team.client.get(path(cycle), headers=team.hr)).json()["items"]
    assert len(everything) == 6 and sum(i["final"] is None for i in everything) == 2

    def value(item: dict, name: str):
        return people[item["employee_id"]][name] if name in ("family_name", "given_name") else item[name]

    second = "-family_name" if key == "given_name" else "-given_name"
    for sort in (key, f"-{key}", f"{key},{second}"):
        got = await walk(team.client, path(cycle), team.hr, {"sort": sort}, limit=2)
        want = expected(everything, sort, KINDS, value, id_field="employee_id")
        assert [i["employee_id"] for i in got] == want, sort


async def test_final_descending_keeps_nulls_last_and_the_rating_filter_pages(team: Tenant):
    cycle = await scored(team)
    got = await walk(team.client, path(cycle), team.hr, {"sort": "-final"}, limit=1)
    finals = [i["final"] for i in got]
    assert finals[-2:] == [None, None] and finals[0] == finals[1]  # alice and carol tie
    assert [float(f) for f in finals[:4]] == sorted((float(f) for f in finals[:4]), reverse=True)
    top = got[0]["rating"]
    rated = await walk(team.client, path(cycle), team.hr, {"sort": "-final", "rating": top}, limit=1)
    assert [i["employee_id"] for i in rated] == [i["employee_id"] for i in got if i["rating"] == top]
    explained = await team.client.get(path(cycle), headers=team.hr, params={"sort": "-final", "explain": "true"})
    assert all(i["explanation"] for i in explained.json()["items"])


async def test_q_subtree_and_visibility(team: Tenant):
    cycle = await scored(team)
    emp = {k: v["id"] for k, v in team.employees.items()}

    async def found(headers=None, **params) -> set[str]:
        resp = await team.client.get(path(cycle), headers=headers or team.hr, params=params)
        assert resp.status_code == 200, resp.text
        got = {i["employee_id"] for i in resp.json()["items"]}
        return {k for k, v in emp.items() if v in got}

    assert await found(q="baker") == {"alice", "bob"}
    assert await found(q="ADAMS") == {"lead", "carol"}
    assert await found(q="ada car") == {"carol"}
    assert await found(manager_id=emp["boss"]) == {"lead", "carol"}
    assert await found(manager_id=emp["boss"], subtree="true") == {"lead", "carol", "alice", "bob"}
    assert await found(manager_id=emp["boss"], subtree="true", q="baker", sort="-final") == {"alice", "bob"}
    assert await found(team.employee("lead"), q="a") == {"lead", "alice", "bob"}
    assert await found(team.employee("lead"), q="carol") == set()  # not lead's to see
    assert await found(team.employee("alice"), manager_id=emp["boss"], subtree="true") == {"alice"}
    assert await found(team.employee("bob"), sort="-final") == {"bob"}
    resp = await team.client.get(path(cycle), headers=team.hr, params={"subtree": "true"})
    assert resp.status_code == 422


async def test_cursor_rules(team: Tenant):
    cycle = await scored(team)
    first = await team.client.get(path(cycle), headers=team.hr, params={"sort": "-final", "limit": 2})
    cursor = first.json()["next_cursor"]
    for other in ({"sort": "final"}, {}):
        resp = await team.client.get(path(cycle), headers=team.hr, params={**other, "cursor": cursor})
        assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["query", "cursor"]
    unknown = await team.client.get(path(cycle), headers=team.hr, params={"sort": "rating"})
    assert unknown.status_code == 422 and "'rating'" in unknown.json()["detail"]


HEADER = [
    "employee_id",
    "employee_external_id",
    "given_name",
    "family_name",
    "cycle_id",
    "status",
    "kpi",
    "okr",
    "eval",
    "composite",
    "calibration_delta",
    "final",
    "rating",
    "flags",
    "policy_id",
    "policy_version",
    "official",
    "finalized_at",
    "record_version",
]


@pytest.mark.parametrize("sort", [None, "-final,family_name", "given_name"])
async def test_csv_rows_equal_the_json_list_in_its_order(team: Tenant, sort, monkeypatch):
    cycle = await scored(team)
    monkeypatch.setattr(export, "CHUNK", 2)
    params = {"sort": sort} if sort else {}
    listed = await walk(team.client, path(cycle), team.hr, params, limit=2)
    sent: list[str] = []
    with statement_hook(sent.append):
        resp = await team.client.get(path(cycle), headers={**team.hr, "Accept": "text/csv"}, params=params)
    rows = read_csv(resp)
    assert rows[0] == HEADER
    assert resp.headers["content-disposition"] == f'attachment; filename="scores-{cycle["id"]}.csv"'
    people = {e["id"]: e for e in team.employees.values()}
    want = []
    for item in listed:
        person = people[item["employee_id"]]
        want.append(
            {
                **{k: cell(item[k]) for k in HEADER if k in item},
                **{c: cell(item["components"].get(c)) for c in ("kpi", "okr", "eval")},
                "employee_external_id": person["external_id"],
                "given_name": person["given_name"],
                "family_name": person["family_name"],
                "policy_id": cell(item["policy"]["id"]),
                "policy_version": str(item["policy"]["version"]),
            }
        )
    assert as_dicts(rows) == want
    # scored in chunks: the KPI assignments are read once per chunk of 2 employees (twice
    # over when the order is a score's: the first pass keeps only the sort values)
    passes = 2 if sort and "final" in sort else 1
    assert len([s for s in sent if "FROM kpi_assignments" in s]) == passes * 3


async def test_the_export_of_another_callers_view(team: Tenant):
    cycle = await scored(team)
    rows = as_dicts(
        read_csv(await team.client.get(path(cycle), headers={**team.employee("lead"), "Accept": "text/csv"}))
    )
    assert {r["employee_id"] for r in rows} == {team.employees[k]["id"] for k in ("lead", "alice", "bob")}
    bad = await team.client.get(path(cycle), headers={**team.hr, "Accept": "text/csv"}, params={"sort": "x"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
