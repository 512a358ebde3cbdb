"""Find and sort on `GET /api/v1/objectives`: every sort key both ways (decimal weights,
NULL perspectives, ties), `q` on the title, several owners, the manager's subtree, the
perspective, and visibility: a filter or a search never shows an objective the caller
could not list without it."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.listing import expected, walk
from tests.okr.conftest import make_cycle, make_objective

OBJECTIVES = "/api/v1/objectives"
KINDS = {
    "title": "text",
    "status": "text",
    "level": "text",
    "type": "text",
    "perspective": "text",
    "weight": "decimal",
    "created_at": "datetime",
    "updated_at": "datetime",
}


async def world(team: Tenant) -> dict[str, dict]:
    """Objectives of several owners; alice's "Secret" is private."""
    cycle = await make_cycle(team)
    made = {}
    for key, owner, title, fields in [
        ("growth", "boss", "Grow revenue 20%", {"weight": "2.5", "perspective": "financial"}),
        ("nps", "lead", "delight customers", {"weight": "10", "perspective": "customer", "type": "aspirational"}),
        ("ship", "alice", "Ship the app", {"weight": "0.75", "level": "individual"}),
        ("secret", "alice", "Secret acquisition", {"weight": "2.50", "visibility": "private"}),
        ("learn", "bob", "learn Rust", {"weight": "1", "perspective": "learning_growth", "level": "team"}),
        ("sell", "carol", "Sell more", {"weight": "10", "type": "aspirational"}),
        ("ops", "dave", "grow ops margin", {"perspective": "internal_process", "level": "department"}),
    ]:
        made[key] = await make_objective(team, cycle, owner, title=title, **fields)
    return made


@pytest.mark.parametrize("key", sorted(KINDS))
async def test_every_sort_key_both_ways(team: Tenant, key):
    await world(team)
    everything = (await team.client.get(OBJECTIVES, headers=team.hr, params={"limit": 500})).json()["items"]
    assert len(everything) == 7
    for sort in (key, f"-{key}"):
        got = await walk(team.client, OBJECTIVES, team.hr, {"sort": sort}, limit=2)
        assert [i["id"] for i in got] == expected(everything, sort, KINDS), sort


async def test_decimals_sort_by_value_with_ties_on_equal_values(team: Tenant):
    made = await world(team)
    got = await walk(team.client, OBJECTIVES, team.hr, {"sort": "-weight,title"}, limit=3)
    weights = [i["weight"] for i in got]
    assert weights[:2] == ["10", "10"]  # not text order, where "2.5" > "10"
    assert [i["id"] for i in got][2:4] == [made["growth"]["id"], made["secret"]["id"]]  # 2.5 = 2.50, then the title


async def test_q_searches_titles_within_what_the_caller_may_see(team: Tenant):
    made = await world(team)

    async def titles(headers, **params) -> set[str]:
        resp = await team.client.get(OBJECTIVES, headers=headers, params={"limit": 500, **params})
        assert resp.status_code == 200, resp.text
        return {i["title"] for i in resp.json()["items"]}

    assert await titles(team.hr, q="GROW") == {"Grow revenue 20%", "grow ops margin"}
    assert await titles(team.hr, q="20%") == {"Grow revenue 20%"}
    assert await titles(team.hr, q="secret") == {"Secret acquisition"}
    for who, sees_secret in (("alice", True), ("lead", True), ("boss", True), ("carol", False), ("bob", False)):
        headers = team.employee(who)
        listed = await titles(headers)
        assert ("Secret acquisition" in listed) == sees_secret
        for q in ("secret", "acq", "s"):
            assert await titles(headers, q=q) <= listed  # a search never finds what the list hides
        assert ("Secret acquisition" in await titles(headers, q="secret")) == sees_secret
        filtered = await titles(headers, manager_id=team.employees["lead"]["id"], subtree="true")
        assert filtered <= listed
        assert ("Secret acquisition" in filtered) == sees_secret
    assert made["secret"]["visibility"] == "private"


async def test_several_owners_the_subtree_and_the_perspective(team: Tenant):
    made = await world(team)
    ids = {k: v["id"] for k, v in made.items()}
    emp = {k: v["id"] for k, v in team.employees.items()}

    async def found(**params) -> set[str]:
        resp = await team.client.get(OBJECTIVES, headers=team.hr, params=params)
        assert resp.status_code == 200, resp.text
        return {k for k, v in ids.items() if v in {i["id"] for i in resp.json()["items"]}}

    assert await found(owner_id=[emp["alice"], emp["carol"]]) == {"ship", "secret", "sell"}
    assert await found(owner_id=emp["bob"]) == {"learn"}
    assert await found(owner_id=[emp["alice"], emp["carol"]], q="s", sort="-title") == {"ship", "secret", "sell"}
    assert await found(manager_id=emp["boss"]) == {"nps", "sell"}
    assert await found(manager_id=emp["boss"], subtree="true") == {"nps", "ship", "secret", "learn", "sell"}
    assert await found(manager_id=emp["lead"], subtree="true", owner_id=emp["bob"]) == {"learn"}
    assert await found(perspective="financial") == {"growth"}
    assert await found(perspective="customer", manager_id=emp["boss"]) == {"nps"}
    too_many = await team.client.get(OBJECTIVES, headers=team.hr, params={"owner_id": [emp["bob"]] * 51})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["loc"][:2] == ["query", "owner_id"]
    bad = await team.client.get(OBJECTIVES, headers=team.hr, params={"perspective": "vibes"})
    assert bad.status_code == 422


async def test_sort_and_cursor_refusals(team: Tenant):
    await world(team)
    first = await team.client.get(OBJECTIVES, headers=team.hr, params={"sort": "-weight", "limit": 2})
    again = await team.client.get(
        OBJECTIVES, headers=team.hr, params={"sort": "weight", "cursor": first.json()["next_cursor"]}
    )
    assert again.status_code == 422 and again.json()["errors"][0]["loc"] == ["query", "cursor"]
    unknown = await team.client.get(OBJECTIVES, headers=team.hr, params={"sort": "score"})
    assert unknown.status_code == 422 and "'score'" in unknown.json()["detail"]
