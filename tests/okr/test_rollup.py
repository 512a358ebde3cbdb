"""Progress rollup: an objective's rolled-up progress from its key results, its child
objectives (weighted) or both; key results measured by a child objective; the alignment
tree's own and rolled-up progress; the cycle's strategy map grouped by perspective, with
the list visibility rules, a bounded size and a statement count that does not grow with
the tree."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from service.okr import rollup, strategy_map
from tests.conftest import Tenant
from tests.okr.conftest import check_in, get, make_cycle, make_kr, make_objective
from tests.test_screens_graphql import run


def url(obj: dict[str, Any]) -> str:
    return f"/api/v1/objectives/{obj['id']}"


async def patch(t: Tenant, obj: dict[str, Any], expect: int = 200, **fields: Any) -> Any:
    resp = await t.client.patch(url(obj), headers=t.hr, json=fields)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def measured(t: Tenant, obj: dict[str, Any], value: str, weight: str = "1") -> dict[str, Any]:
    """A 0 → 100 key result of `obj` checked in at `value`."""
    kr = await make_kr(t, obj, title=f"Reach {value}", weight=weight)
    await check_in(t, kr, value=value)
    return kr


async def three_levels(t: Tenant, cycle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """company (both, KR at 0.5) → dept (children, weight 3, no KR) → alice 0.2, bob 0.6."""
    company = await make_objective(t, cycle, "boss", title="Grow", perspective="financial", progress_source="both")
    company_kr = await measured(t, company, "50")
    dept = await make_objective(
        t, cycle, "lead", level="department", parent_id=company["id"], weight="3", progress_source="children"
    )
    alice = await make_objective(t, cycle, "alice", level="individual", parent_id=dept["id"])
    await measured(t, alice, "20")
    bob = await make_objective(t, cycle, "bob", level="individual", parent_id=dept["id"])
    await measured(t, bob, "60")
    return {"company": company, "company_kr": company_kr, "dept": dept, "alice": alice, "bob": bob}


def node_of(tree: dict[str, Any], objective_id: str) -> dict[str, Any]:
    if tree["id"] == objective_id:
        return tree
    for child in tree["children"]:
        found = node_of(child, objective_id) if child else None
        if found:
            return found
    return {}


async def test_three_level_tree_rolls_up_in_every_mode(team: Tenant, cycle: dict[str, Any]):
    o = await three_levels(team, cycle)
    assert o["company"]["progress_source"] == "both" and o["alice"]["progress_source"] == "key_results"

    tree = (await get(team, f"{url(o['company'])}/alignment"))["objective"]
    assert (tree["own_progress"], tree["rolled_up_progress"]) == ("0.5000", "0.4250")  # (0.5×1 + 0.4×3) / 4
    dept = node_of(tree, o["dept"]["id"])
    assert (dept["own_progress"], dept["rolled_up_progress"]) == (None, "0.4000")  # (0.2 + 0.6) / 2
    assert node_of(tree, o["alice"]["id"])["rolled_up_progress"] == "0.2000"

    await patch(team, o["company"], progress_source="children")
    tree = (await get(team, f"{url(o['company'])}/alignment"))["objective"]
    assert (tree["progress"], tree["rolled_up_progress"]) == ("0.5000", "0.4000")  # `progress` stays its own

    await patch(team, o["company"], progress_source="key_results")
    tree = (await get(team, f"{url(o['company'])}/alignment"))["objective"]
    assert tree["rolled_up_progress"] == "0.5000"

    # the chain above a node is shown without its tree: no rolled-up value for it
    up = await get(team, f"{url(o['alice'])}/alignment")
    assert [p["rolled_up_progress"] for p in up["parents"]] == [None, None]
    assert (await patch(team, o["company"], expect=422, progress_source=None))["status"] == 422
    assert (await patch(team, o["company"], expect=422, progress_source="average"))["status"] == 422


async def test_key_result_measured_by_a_child(team: Tenant, cycle: dict[str, Any]):
    o = await three_levels(team, cycle)
    await patch(team, o["company"], progress_source="key_results")
    linked = await make_kr(team, o["company"], title="Departments deliver", measured_by_objective_id=o["dept"]["id"])
    assert linked["measured_by_objective_id"] == o["dept"]["id"]

    tree = (await get(team, f"{url(o['company'])}/alignment"))["objective"]
    # own: (0.5 + 0) / 2 (the linked KR has no check-in); rolled up: (0.5 + 0.4) / 2
    assert (tree["own_progress"], tree["rolled_up_progress"]) == ("0.2500", "0.4500")
    # in `both`, the measuring child counts once, through its key result
    await patch(team, o["company"], progress_source="both")
    tree = (await get(team, f"{url(o['company'])}/alignment"))["objective"]
    assert tree["rolled_up_progress"] == "0.4500"

    for bad in (o["alice"]["id"], o["company"]["id"], str(uuid.uuid4())):  # a grandchild, itself, unknown
        resp = await team.client.post(
            "/api/v1/key-results",
            headers=team.hr,
            json={"objective_id": o["company"]["id"], "title": "x", "kind": "boolean", "measured_by_objective_id": bad},
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["loc"][-1] == "measured_by_objective_id"

    elsewhere = await make_cycle(team, name="Other")
    stray = await make_objective(team, elsewhere, "lead", level="department", parent_id=o["company"]["id"])
    resp = await team.client.patch(
        f"/api/v1/key-results/{o['company_kr']['id']}", headers=team.hr, json={"measured_by_objective_id": stray["id"]}
    )
    assert resp.status_code == 422, resp.text

    # a deleted (draft) measuring child leaves the key result on its own progress
    assert (await team.client.delete(url(o["alice"]), headers=team.hr)).status_code == 204
    assert (await team.client.delete(url(o["bob"]), headers=team.hr)).status_code == 204
    assert (await team.client.delete(url(o["dept"]), headers=team.hr)).status_code == 204
    kr = await get(team, f"/api/v1/key-results/{linked['id']}")
    assert kr["measured_by_objective_id"] is None


def test_rollup_guards_against_cycles_and_deep_chains():
    a, b = uuid.uuid4(), uuid.uuid4()
    nodes = {
        a: rollup.Node(Decimal(1), "key_results", (rollup.KrPart(Decimal(1), Decimal("0.3"), b),), ()),
        b: rollup.Node(Decimal(1), "key_results", (rollup.KrPart(Decimal(1), Decimal("0.8"), a),), ()),
    }
    out = rollup.rolled_up(nodes)
    # from a: b is computed first and meets a under way, so b keeps its own 0.8; a takes b's
    assert out == {a: Decimal("0.8"), b: Decimal("0.8")}
    # a child that nothing measures leaves the key result on its own progress
    lone = rollup.Node(Decimal(1), "children", (), ())
    c = uuid.uuid4()
    out = rollup.rolled_up(
        {a: rollup.Node(Decimal(1), "key_results", (rollup.KrPart(Decimal(1), Decimal("0.3"), c),), (c,)), c: lone}
    )
    assert out == {a: Decimal("0.3"), c: None}

    ids = [uuid.uuid4() for _ in range(3000)]
    chain = {
        nid: rollup.Node(
            Decimal(1),
            "children" if i < len(ids) - 1 else "key_results",
            (rollup.KrPart(Decimal(1), Decimal("0.25")),),
            (ids[i + 1],) if i < len(ids) - 1 else (),
        )
        for i, nid in enumerate(ids)
    }
    assert rollup.rolled_up(chain)[ids[0]] == Decimal("0.25")


async def test_strategy_map_groups_by_perspective_with_visibility(team: Tenant, cycle: dict[str, Any]):
    o = await three_levels(team, cycle)
    customer = await make_objective(team, cycle, "boss", title="Delight", perspective="customer")
    await measured(team, customer, "80")
    plain = await make_objective(team, cycle, "boss", title="No perspective")
    secret = await make_objective(team, cycle, "boss", title="Secret", perspective="financial", visibility="private")
    await measured(team, secret, "100")
    await make_objective(team, cycle, "lead", level="department", title="Unaligned department")  # not top level
    quarter = await make_cycle(team, name="Q1", start="2026-01-01", end="2026-03-31", parent_id=cycle["id"])
    nested = await make_objective(team, quarter, "carol", level="department", parent_id=customer["id"], weight="3")
    await measured(team, nested, "40")
    await make_objective(team, quarter, "carol", title="A quarter's own company objective")  # not the year's

    as_hr = await get(team, f"/api/v1/cycles/{cycle['id']}/strategy-map")
    groups = {g["perspective"]: g for g in as_hr["groups"]}
    assert [g["perspective"] for g in as_hr["groups"]] == [
        "financial",
        "customer",
        "internal_process",
        "learning_growth",
        "unassigned",
    ]
    assert [n["id"] for n in groups["financial"]["objectives"]] == sorted([o["company"]["id"], secret["id"]])
    assert groups["financial"]["progress"] == "0.7125"  # (0.425 + 1) / 2
    # key_results: the nested quarter's child is shown, and counts where a parent rolls up children
    customer_node = groups["customer"]["objectives"][0]
    assert [c["id"] for c in customer_node["children"]] == [nested["id"]]
    assert groups["customer"]["progress"] == "0.8000"
    assert groups["internal_process"] == {"perspective": "internal_process", "progress": None, "objectives": []}
    assert [n["id"] for n in groups["unassigned"]["objectives"]] == [plain["id"]]
    assert groups["unassigned"]["progress"] is None
    assert as_hr["node_count"] == 8
    grow = next(n for n in groups["financial"]["objectives"] if n["id"] == o["company"]["id"])
    assert (grow["own_progress"], grow["rolled_up_progress"]) == ("0.5000", "0.4250")
    assert [c["id"] for c in grow["children"]] == [o["dept"]["id"]]
    assert sorted(c["id"] for c in grow["children"][0]["children"]) == sorted([o["alice"]["id"], o["bob"]["id"]])

    as_carol = await get(team, f"/api/v1/cycles/{cycle['id']}/strategy-map", headers=team.employee("carol"))
    financial = as_carol["groups"][0]
    assert [n["id"] for n in financial["objectives"]] == [o["company"]["id"]]
    assert financial["progress"] == "0.4250" and secret["id"] not in str(as_carol)
    assert as_carol["node_count"] == 7

    await patch(team, customer, progress_source="children")
    as_hr = await get(team, f"/api/v1/cycles/{cycle['id']}/strategy-map")
    assert as_hr["groups"][1]["progress"] == "0.4000"

    listed = await get(team, f"/api/v1/objectives?cycle_id={cycle['id']}&perspective=customer")
    assert [x["id"] for x in listed["items"]] == [customer["id"]]


async def test_strategy_map_refusals(team: Tenant, cycle: dict[str, Any], monkeypatch: Any):
    resp = await team.client.get(f"/api/v1/cycles/{uuid.uuid4()}/strategy-map", headers=team.hr)
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    await three_levels(team, cycle)
    monkeypatch.setattr(strategy_map, "MAX_NODES", 3)
    resp = await team.client.get(f"/api/v1/cycles/{cycle['id']}/strategy-map", headers=team.hr)
    assert resp.status_code == 422, resp.text
    assert resp.json()["max_nodes"] == 3


STRATEGY_MAP = """query($c: ID!) { strategyMap(cycleId: $c) { nodeCount groups { perspective progress
  objectives { objective { title progressSource perspective } ownProgress rolledUpProgress
    children { objective { title } rolledUpProgress children { objective { title } ownProgress } } } } } }"""


async def test_strategy_map_in_graphql_costs_the_same_whatever_the_tree(team: Tenant):
    counts = []
    for size in (1, 6):
        cycle = await make_cycle(team, name=f"FY {size}")
        o = await three_levels(team, cycle)
        for i in range(size):
            extra = await make_objective(team, cycle, "carol", level="individual", parent_id=o["dept"]["id"])
            await measured(team, extra, str(10 * i))
        cycle_gid = (await run(team, team.hr, "{ cycles(first: 50) { nodes { id databaseId } } }", {}))[1]
        gid = next(c["id"] for c in cycle_gid["cycles"]["nodes"] if c["databaseId"] == cycle["id"])
        n, data = await run(team, team.hr, STRATEGY_MAP, {"c": gid})
        counts.append(n)
        groups = data["strategyMap"]["groups"]
        assert groups[0]["perspective"] == "FINANCIAL" and data["strategyMap"]["nodeCount"] == 4 + size
        grow = groups[0]["objectives"][0]
        assert grow["objective"]["progressSource"] == "BOTH" and grow["ownProgress"] == "0.5000"
        assert len(grow["children"][0]["children"]) == 2 + size
    assert counts[0] == counts[1]
