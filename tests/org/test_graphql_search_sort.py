"""The directory through GraphQL (`employees`): `q`, `orderBy`, `status`, `managerId`
with `subtree` give the rows REST's GET /employees gives, in its order, walked forward and
backward (last/before) under several orders with ties and NULLs."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.listing import Enum, gql_page, order_by, same_as_rest
from tests.org.test_search_sort import E, directory


@pytest.mark.parametrize(
    "sort", [None, "family_name,-hire_date", "hire_date", "-termination_date,given_name", "-status,family_name"]
)
async def test_every_order_walks_both_ways_as_rest(tenant: Tenant, sort):
    everyone = await directory(tenant)
    rest = {"sort": sort} if sort else {}
    args = {"orderBy": order_by(sort)} if sort else {}
    ids = await same_as_rest(tenant.client, tenant.hr, E, rest, "employees", args, size=3)
    assert sorted(ids) == sorted(e["id"] for e in everyone)


async def test_search_and_status_as_rest(tenant: Tenant):
    await directory(tenant)
    for rest, args in [
        ({"q": "smith"}, {"q": "smith"}),
        ({"q": "a", "sort": "-family_name"}, {"q": "a", "orderBy": order_by("-family_name")}),
        ({"status": "on_leave"}, {"status": Enum("ON_LEAVE")}),
    ]:
        assert await same_as_rest(tenant.client, tenant.hr, E, rest, "employees", args)


async def test_the_subtree_as_rest(team: Tenant):
    ids = {k: v["id"] for k, v in team.employees.items()}
    alice = team.employee("alice")
    got = await same_as_rest(
        team.client,
        alice,
        E,
        {"manager_id": ids["boss"], "subtree": "true", "sort": "given_name"},
        "employees",
        {"managerId": ids["boss"], "subtree": True, "orderBy": order_by("given_name")},
    )
    assert got == [ids[k] for k in sorted(("lead", "carol", "alice", "bob"))]
    direct = await same_as_rest(
        team.client, alice, E, {"manager_id": ids["boss"]}, "employees", {"managerId": ids["boss"]}
    )
    assert set(direct) == {ids["lead"], ids["carol"]}
    lone = await gql_page(team.client, team.hr, "employees", {"subtree": True}, "databaseId")
    assert lone["errors"][0]["extensions"]["errors"][0]["loc"] == ["subtree"]
