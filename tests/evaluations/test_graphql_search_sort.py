"""Evaluations through GraphQL: `q`, `orderBy` (the employee's names, NULL final scores
and ratings), `managerId` with `subtree`, `departmentId` and `status` give REST's rows in
REST's order, forward and backward, for every caller's view."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.evaluations.conftest import E, open_evaluation
from tests.evaluations.test_search_sort import world
from tests.listing import Enum, order_by, same_as_rest
from tests.okr.conftest import make_cycle


@pytest.mark.parametrize("sort", [None, "-final_score,given_name", "final_rating", "status,-family_name"])
async def test_every_order_walks_both_ways_as_rest(team: Tenant, sort):
    await world(team)
    rest = {"sort": sort} if sort else {}
    args = {"orderBy": order_by(sort)} if sort else {}
    assert len(await same_as_rest(team.client, team.hr, E, rest, "evaluations", args)) == 5


async def test_filters_and_search_as_rest(team: Tenant):
    made = await world(team)
    emp = {k: v["id"] for k, v in team.employees.items()}
    cases = [
        (team.hr, {"q": "ALI"}, {"q": "ALI"}),
        (
            team.hr,
            {"manager_id": emp["boss"], "subtree": "true", "sort": "-final_score"},
            {"managerId": emp["boss"], "subtree": True},
        ),
        (
            team.hr,
            {"manager_id": emp["lead"], "subtree": "true", "status": "finalized", "q": "lic"},
            {"managerId": emp["lead"], "subtree": True, "status": Enum("FINALIZED"), "q": "lic"},
        ),
        (team.employee("lead"), {"q": "test", "sort": "given_name"}, {"q": "test"}),
        (team.employee("alice"), {}, {}),
    ]
    for headers, rest, args in cases:
        if "sort" in rest:
            args = {**args, "orderBy": order_by(rest["sort"])}
        assert await same_as_rest(team.client, headers, E, rest, "evaluations", args), rest
    got = await same_as_rest(
        team.client, team.employee("lead"), E, {"manager_id": emp["boss"]}, "evaluations", {"managerId": emp["boss"]}
    )
    assert got == [made["lead"]["id"]]  # carol is not lead's to see


async def test_include_child_cycles(team: Tenant):
    year = await make_cycle(team, "2026-01-01", "2026-12-31", name="FY26", status="review")
    half = await make_cycle(team, "2026-07-01", "2026-12-31", name="H2", status="review", parent_id=year["id"])
    other = await make_cycle(team, "2027-01-01", "2027-12-31", name="FY27", status="review")
    made = {
        "year": await open_evaluation(team, "alice", year),
        "half": await open_evaluation(team, "bob", half),
        "other": await open_evaluation(team, "carol", other),
    }
    names = {v["id"]: k for k, v in made.items()}
    got = await same_as_rest(
        team.client,
        team.hr,
        E,
        {"cycle_id": year["id"], "include_child_cycles": "true"},
        "evaluations",
        {"cycleId": year["id"], "includeChildCycles": True},
    )
    assert sorted(names[i] for i in got) == ["half", "year"]
    alone = await same_as_rest(
        team.client, team.hr, E, {"cycle_id": year["id"]}, "evaluations", {"cycleId": year["id"]}
    )
    assert [names[i] for i in alone] == ["year"]
