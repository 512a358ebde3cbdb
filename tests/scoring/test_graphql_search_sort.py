"""A cycle's scores through GraphQL (`cycleScores`), ordered in memory (`window`): `q`,
`orderBy` (the points shown, with ties and NULL finals; the names), `managerId` with
`subtree` and `rating` give REST's rows in REST's order, forward and backward."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.listing import order_by, same_as_rest
from tests.scoring.test_search_sort import path, scored


async def as_rest(t: Tenant, cycle: dict, rest: dict, args: dict, headers=None) -> list[str]:
    if "sort" in rest:
        args = {**args, "orderBy": order_by(rest["sort"])}
    return await same_as_rest(
        t.client,
        headers or t.hr,
        path(cycle),
        rest,
        "cycleScores",
        {"cycleId": cycle["id"], **args},
        node="employeeId",
        id_field="employee_id",
    )


@pytest.mark.parametrize("sort", [None, "-final", "final,-family_name", "composite,given_name", "family_name"])
async def test_every_order_walks_both_ways_as_rest(team: Tenant, sort):
    cycle = await scored(team)
    assert len(await as_rest(team, cycle, {"sort": sort} if sort else {}, {})) == 6


async def test_filters_and_search_as_rest(team: Tenant):
    cycle = await scored(team)
    emp = {k: v["id"] for k, v in team.employees.items()}
    top = (await team.client.get(path(cycle), headers=team.hr, params={"sort": "-final", "limit": 1})).json()
    rating = top["items"][0]["rating"]
    assert await as_rest(team, cycle, {"q": "baker"}, {"q": "baker"})
    assert await as_rest(
        team,
        cycle,
        {"manager_id": emp["boss"], "subtree": "true", "q": "baker", "sort": "-final"},
        {"managerId": emp["boss"], "subtree": True, "q": "baker"},
    )
    assert len(await as_rest(team, cycle, {"rating": rating, "sort": "-final"}, {"rating": rating})) >= 2
    assert await as_rest(team, cycle, {"q": "a"}, {"q": "a"}, headers=team.employee("lead"))
