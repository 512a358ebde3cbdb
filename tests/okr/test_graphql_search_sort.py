"""The objectives list through GraphQL: `q`, `orderBy`, `ownerIds`, `managerId` with
`subtree` and `perspective` give the rows REST gives, in its order, walked forward and
backward (last/before) under several orders with ties and NULLs; the paging refusals; and
`include_child_cycles` on both APIs: a year with its quarters and their months, nothing
of another year, in one query however deep the tree."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant, statement_hook
from tests.listing import Enum, gql_page, order_by, same_as_rest
from tests.okr.conftest import make_cycle, make_objective
from tests.okr.test_search_sort import OBJECTIVES, world


@pytest.mark.parametrize("sort", [None, "-weight,title", "perspective", "-perspective,-level", "type,-created_at"])
async def test_every_order_walks_both_ways_as_rest(team: Tenant, sort):
    await world(team)
    rest = {"sort": sort} if sort else {}
    args = {"orderBy": order_by(sort)} if sort else {}
    ids = await same_as_rest(team.client, team.hr, OBJECTIVES, rest, "objectives", args)
    assert len(ids) == 7


async def test_filters_and_search_as_rest(team: Tenant):
    made = await world(team)
    emp = {k: v["id"] for k, v in team.employees.items()}
    cases = [
        ({"owner_id": [emp["alice"], emp["carol"]], "q": "s"}, {"ownerIds": [emp["alice"], emp["carol"]], "q": "s"}),
        ({"manager_id": emp["boss"]}, {"managerId": emp["boss"]}),
        (
            {"manager_id": emp["boss"], "subtree": "true", "sort": "-weight"},
            {"managerId": emp["boss"], "subtree": True},
        ),
        (
            {"perspective": "customer", "manager_id": emp["boss"]},
            {"perspective": Enum("CUSTOMER"), "managerId": emp["boss"]},
        ),
        ({"q": "GROW", "sort": "title"}, {"q": "GROW"}),
    ]
    for rest, args in cases:
        if "sort" in rest:
            args = {**args, "orderBy": order_by(rest["sort"])}
        ids = await same_as_rest(team.client, team.hr, OBJECTIVES, rest, "objectives", args)
        assert ids, rest  # each case finds something
    found = await same_as_rest(
        team.client,
        team.hr,
        OBJECTIVES,
        {"owner_id": [emp["alice"], emp["carol"]]},
        "objectives",
        {"ownerIds": [emp["alice"], emp["carol"]]},
    )
    assert set(found) == {made["ship"]["id"], made["secret"]["id"], made["sell"]["id"]}
    # what a caller may not see stays unseen, filtered or not
    carol = team.employee("carol")
    hidden = await same_as_rest(team.client, carol, OBJECTIVES, {"q": "secret"}, "objectives", {"q": "secret"})
    assert hidden == []


async def refused(t: Tenant, args: dict, headers=None) -> dict:
    conn = await gql_page(t.client, headers or t.hr, "objectives", args, "databaseId")
    assert "errors" in conn, conn
    error = conn["errors"][0]
    assert error["extensions"]["status"] == 422, error
    return error


async def test_paging_and_find_refusals(team: Tenant):
    await world(team)
    both = await refused(team, {"first": 2, "last": 2})
    assert both["extensions"]["errors"][0]["loc"] == ["last"]
    assert (await refused(team, {"last": 2, "after": "x"}))["extensions"]["errors"][0]["loc"] == ["after"]
    assert (await refused(team, {"first": 2, "before": "x"}))["extensions"]["errors"][0]["loc"] == ["first"]
    assert (await refused(team, {"last": 0}))["extensions"]["errors"][0]["loc"] == ["last"]
    assert (await refused(team, {"last": 501}))["extensions"]["errors"][0]["loc"] == ["last"]
    page = await gql_page(team.client, team.hr, "objectives", {"first": 2, "orderBy": order_by("-weight")}, "id")
    cursor = page["pageInfo"]["endCursor"]
    for paging, loc in (({"after": cursor}, "after"), ({"before": cursor, "last": 2}, "before")):
        other = await refused(team, {**paging, "orderBy": order_by("weight")})
        assert other["extensions"]["errors"][0]["loc"] == [loc] and "sort=-weight" in other["message"]
    assert (await refused(team, {"before": "not-a-cursor"}))["extensions"]["errors"][0]["loc"] == ["before"]
    assert (await refused(team, {"before": "x" * 2001}))["extensions"]["errors"][0]["loc"] == ["before"]
    twice = await refused(team, {"orderBy": order_by("title,-title")})
    assert twice["extensions"]["errors"][0]["loc"] == ["orderBy"] and "twice" in twice["message"]
    many = await refused(team, {"orderBy": order_by("title,status,level,type,weight")})
    assert many["extensions"]["errors"][0]["loc"] == ["orderBy"]
    long = await refused(team, {"q": "x" * 101})
    assert long["extensions"]["errors"][0]["loc"] == ["q"]
    lone = await refused(team, {"subtree": True})
    assert lone["extensions"]["errors"][0]["loc"] == ["subtree"]
    owners = await refused(team, {"ownerIds": [team.employees["bob"]["id"]] * 51})
    assert owners["extensions"]["errors"][0]["loc"] == ["ownerIds"]
    bad_owner = await refused(team, {"ownerIds": [team.employees["bob"]["id"], "nope"]})
    assert bad_owner["extensions"]["errors"][0]["loc"] == ["ownerIds", 1]
    children = await refused(team, {"includeChildCycles": True})
    assert children["extensions"]["errors"][0]["loc"] == ["includeChildCycles"]
    rest = await team.client.get(OBJECTIVES, headers=team.hr, params={"include_child_cycles": "true"})
    assert rest.status_code == 422 and rest.json()["errors"][0]["loc"] == ["query", "include_child_cycles"]
    # an empty orderBy is the default order
    plain = await gql_page(team.client, team.hr, "objectives", {"orderBy": []}, "databaseId")
    default = await gql_page(team.client, team.hr, "objectives", {}, "databaseId")
    assert plain == default


async def cycle_tree(t: Tenant) -> dict[str, dict]:
    year = await make_cycle(t, "2026-01-01", "2026-12-31", name="FY26", status=None)
    q1 = await make_cycle(t, "2026-01-01", "2026-03-31", name="Q1", status=None, parent_id=year["id"])
    q2 = await make_cycle(t, "2026-04-01", "2026-06-30", name="Q2", status=None, parent_id=year["id"])
    jan = await make_cycle(t, "2026-01-01", "2026-01-31", name="Jan", status=None, parent_id=q1["id"])
    other = await make_cycle(t, "2027-01-01", "2027-12-31", name="FY27", status=None)
    other_q1 = await make_cycle(t, "2027-01-01", "2027-03-31", name="Q1 27", status=None, parent_id=other["id"])
    return {"year": year, "q1": q1, "q2": q2, "jan": jan, "other": other, "other_q1": other_q1}


async def test_include_child_cycles_takes_the_whole_tree_of_one_cycle(team: Tenant):
    cycles = await cycle_tree(team)
    made = {key: await make_objective(team, cycle, "alice", title=f"goal {key}") for key, cycle in cycles.items()}
    ids = {v["id"]: k for k, v in made.items()}

    async def rest(**params) -> set[str]:
        resp = await team.client.get(OBJECTIVES, headers=team.hr, params=params)
        assert resp.status_code == 200, resp.text
        return {ids[i["id"]] for i in resp.json()["items"]}

    year = cycles["year"]["id"]
    assert await rest(cycle_id=year) == {"year"}
    assert await rest(cycle_id=year, include_child_cycles="true") == {"year", "q1", "q2", "jan"}
    assert await rest(cycle_id=cycles["q1"]["id"], include_child_cycles="true") == {"q1", "jan"}
    assert await rest(cycle_id=cycles["jan"]["id"], include_child_cycles="true") == {"jan"}
    assert await rest(cycle_id=cycles["other"]["id"], include_child_cycles="true") == {"other", "other_q1"}
    assert await rest(cycle_id=year, include_child_cycles="false") == {"year"}
    walked = await same_as_rest(
        team.client,
        team.hr,
        OBJECTIVES,
        {"cycle_id": year, "include_child_cycles": "true", "sort": "-title"},
        "objectives",
        {"cycleId": year, "includeChildCycles": True, "orderBy": order_by("-title")},
    )
    assert [ids[i] for i in walked] == ["year", "q2", "q1", "jan"]
    # one statement for the tree, whatever its depth: no query per cycle
    counts = []
    for cycle in (year, cycles["jan"]["id"]):
        statements: list[str] = []
        with statement_hook(statements.append):
            assert await rest(cycle_id=cycle, include_child_cycles="true", limit=500)
        tree = [s for s in statements if "cycle_tree" in s]
        assert len(tree) == 1 and "objectives" in tree[0], statements
        counts.append(len(statements))
    assert counts[0] == counts[1]


async def test_include_child_cycles_of_another_organization_names_nothing(team: Tenant, other_tenant: Tenant):
    cycles = await cycle_tree(team)
    await make_objective(team, cycles["q1"], "alice", title="mine")
    foreign = await make_cycle(other_tenant, name="theirs", status=None)
    resp = await team.client.get(
        OBJECTIVES, headers=team.hr, params={"cycle_id": foreign["id"], "include_child_cycles": "true"}
    )
    assert resp.status_code == 200 and resp.json()["items"] == []
