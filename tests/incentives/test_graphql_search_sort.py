"""Incentive results through GraphQL (`incentiveResults`): `q`, `orderBy` (amounts only
for who sees every amount), `managerId` with `subtree`, `status` give REST's rows in
REST's order, forward and backward, for several callers."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.incentives.test_search_sort import R, paid
from tests.listing import Enum, gql_page, order_by, same_as_rest


@pytest.mark.parametrize("sort", [None, "-amount_minor,family_name", "status,-given_name", "finalized_at"])
async def test_every_order_walks_both_ways_as_rest(team: Tenant, q4, sort):
    await paid(team, q4)
    rest = {"sort": sort} if sort else {}
    args = {"orderBy": order_by(sort)} if sort else {}
    assert len(await same_as_rest(team.client, team.hr, R, rest, "incentiveResults", args)) >= 4


async def test_filters_search_and_pay_keys_as_rest(team: Tenant, q4):
    await paid(team, q4)
    emp = {k: v["id"] for k, v in team.employees.items()}
    cases = [
        (team.hr, {"q": "bamily"}, {"q": "bamily"}),
        (
            team.hr,
            {"manager_id": emp["lead"], "subtree": "true", "status": "finalized"},
            {"managerId": emp["lead"], "subtree": True, "status": Enum("FINALIZED")},
        ),
        (
            team.employee("lead"),
            {"manager_id": emp["boss"], "subtree": "true", "sort": "-family_name"},
            {"managerId": emp["boss"], "subtree": True},
        ),
        (
            team.hr,
            {"cycle_id": q4["id"], "include_child_cycles": "true", "sort": "given_name"},
            {"cycleId": q4["id"], "includeChildCycles": True},
        ),
    ]
    for headers, rest, args in cases:
        if "sort" in rest:
            args = {**args, "orderBy": order_by(rest["sort"])}
        assert await same_as_rest(team.client, headers, R, rest, "incentiveResults", args), rest
    refused = await gql_page(
        team.client, team.employee("boss"), "incentiveResults", {"orderBy": order_by("-amount_minor")}, "databaseId"
    )
    error = refused["errors"][0]
    assert error["extensions"]["status"] == 422 and error["extensions"]["errors"][0]["loc"] == ["orderBy"]
    assert "amount_minor" in error["message"]
