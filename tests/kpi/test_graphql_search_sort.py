"""KPI assignments through GraphQL (`kpiAssignments`): `q`, `orderBy` (keys of the
definition and of the employee), `perspective`, `departmentId`, `managerId` with
`subtree` give REST's rows in REST's order, forward and backward; `includeChildCycles`
takes a cycle's children, and nothing of another cycle tree, on both APIs."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_definition
from tests.kpi.test_search_sort import A, world
from tests.listing import Enum, order_by, same_as_rest
from tests.okr.conftest import make_cycle


@pytest.mark.parametrize("sort", [None, "code,-target", "perspective,family_name", "-weight", "given_name,-code"])
async def test_every_order_walks_both_ways_as_rest(team: Tenant, sort):
    await world(team)
    rest = {"sort": sort} if sort else {}
    args = {"orderBy": order_by(sort)} if sort else {}
    assert len(await same_as_rest(team.client, team.hr, A, rest, "kpiAssignments", args)) == 6


async def test_filters_and_search_as_rest(team: Tenant):
    await world(team)
    emp = {k: v["id"] for k, v in team.employees.items()}
    dep = team.employees["bob"]["department_id"]
    cases = [
        (team.hr, {"q": "GROSS"}, {"q": "GROSS"}),
        (team.hr, {"q": "nps_", "sort": "-family_name"}, {"q": "nps_"}),
        (team.hr, {"perspective": "financial"}, {"perspective": Enum("FINANCIAL")}),
        (team.hr, {"department_id": dep, "sort": "name"}, {"departmentId": dep}),
        (team.hr, {"manager_id": emp["boss"], "subtree": "true"}, {"managerId": emp["boss"], "subtree": True}),
        (team.employee("lead"), {"perspective": "financial"}, {"perspective": Enum("FINANCIAL")}),
        (team.employee("alice"), {"q": "net"}, {"q": "net"}),
    ]
    for headers, rest, args in cases:
        if "sort" in rest:
            args = {**args, "orderBy": order_by(rest["sort"])}
        assert await same_as_rest(team.client, headers, A, rest, "kpiAssignments", args), rest
    hidden = await same_as_rest(
        team.client, team.employee("carol"), A, {"q": "gross"}, "kpiAssignments", {"q": "gross"}
    )
    assert hidden == []


async def test_include_child_cycles(team: Tenant):
    year = await make_cycle(team, "2026-01-01", "2026-12-31", name="FY26", status=None)
    q3 = await make_cycle(team, "2026-07-01", "2026-09-30", name="Q3", status=None, parent_id=year["id"])
    other = await make_cycle(team, "2027-01-01", "2027-12-31", name="FY27", status=None)
    other_q = await make_cycle(team, "2027-01-01", "2027-03-31", name="Q1", status=None, parent_id=other["id"])
    gmv = await make_definition(team, "gmv")
    made = {
        key: await make_assignment(team, "alice", cycle, gmv, method="ratio", target="10", weight="1")
        for key, cycle in (("year", year), ("q3", q3), ("other", other), ("other_q", other_q))
    }
    names = {v["id"]: k for k, v in made.items()}
    rest = {"cycle_id": year["id"], "include_child_cycles": "true"}
    got = await same_as_rest(
        team.client, team.hr, A, rest, "kpiAssignments", {"cycleId": year["id"], "includeChildCycles": True}
    )
    assert sorted(names[i] for i in got) == ["q3", "year"]
    alone = await same_as_rest(
        team.client, team.hr, A, {"cycle_id": year["id"]}, "kpiAssignments", {"cycleId": year["id"]}
    )
    assert [names[i] for i in alone] == ["year"]
