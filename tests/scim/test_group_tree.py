"""The department tree over SCIM: a Group's parent (the service's Group extension) is the
department's parent, so an HRIS syncs the tree and not a flat list of Groups."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.scim.conftest import GROUP, TREE, Scim, patch
from tests.scim.test_users import assert_error, audit_actions


def tree_body(name: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP, TREE], "displayName": name, **fields}
    if parent is not None:
        body[TREE] = {"parent": {"value": parent}}
    return body


async def create(scim: Scim, name: str, parent: str | None = None) -> dict[str, Any]:
    resp = await scim.post("/Groups", tree_body(name, parent))
    assert resp.status_code == 201, resp.text
    return resp.json()


def parent_of(group: dict[str, Any]) -> str | None:
    return group.get(TREE, {}).get("parent", {}).get("value")


async def rest_parent(scim: Scim, group_id: str) -> str | None:
    resp = await scim.client.get(f"/api/v1/departments/{group_id}", headers=scim.tenant.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()["parent_id"]


async def read(scim: Scim, group_id: str) -> dict[str, Any]:
    resp = await scim.get(f"/Groups/{group_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_a_three_level_tree_and_moving_a_subtree(scim: Scim) -> None:
    company = await create(scim, "Company")
    eng = await create(scim, "Engineering", company["id"])
    platform = await create(scim, "Platform", eng["id"])
    assert "schemas" in platform and TREE in platform["schemas"]
    assert platform[TREE]["parent"] == {
        "value": eng["id"],
        "$ref": platform["meta"]["location"].replace(platform["id"], eng["id"]),
    }
    assert TREE not in company and TREE not in company["schemas"]
    assert await rest_parent(scim, platform["id"]) == eng["id"]
    assert await rest_parent(scim, eng["id"]) == company["id"]

    # Moving Engineering under a new division carries Platform along.
    division = await create(scim, "R&D", company["id"])
    resp = await scim.put(f"/Groups/{eng['id']}", tree_body("Engineering", division["id"]))
    assert resp.status_code == 200, resp.text
    assert parent_of(resp.json()) == division["id"]
    assert await rest_parent(scim, eng["id"]) == division["id"]
    assert parent_of(await read(scim, platform["id"])) == eng["id"]
    actions = [a for a, _ in await audit_actions(scim.tenant.org_id, eng["id"])]
    assert actions == ["department.created", "department.updated"]

    # The tree is searchable by parent.
    found = await scim.search("/Groups", filter=f'{TREE}:parent.value eq "{company["id"]}"')
    assert sorted(g["displayName"] for g in found["Resources"]) == ["R&D"]
    found = await scim.search("/Groups", filter=f"not ({TREE}:parent pr)")
    assert [g["displayName"] for g in found["Resources"]] == ["Company"]


async def test_cycles_are_refused_and_nothing_changes(scim: Scim) -> None:
    a = await create(scim, "A")
    b = await create(scim, "B", a["id"])
    c = await create(scim, "C", b["id"])
    for body in (tree_body("A", c["id"]), tree_body("A", b["id"]), tree_body("A Renamed", a["id"])):
        resp = await scim.put(f"/Groups/{a['id']}", body)
        assert_error(resp, 400, "invalidValue")
    resp = await scim.patch(f"/Groups/{a['id']}", patch({"op": "add", "path": f"{TREE}:parent", "value": c["id"]}))
    assert "cycle" in assert_error(resp, 400, "invalidValue")["detail"]
    after = await read(scim, a["id"])
    assert after["displayName"] == "A" and parent_of(after) is None
    assert after["meta"]["version"] == a["meta"]["version"]
    assert await rest_parent(scim, a["id"]) is None


async def test_unknown_and_foreign_parents_are_refused(scim: Scim, other_scim: Scim) -> None:
    foreign = await create(other_scim, "Elsewhere")
    mine = await create(scim, "Mine")
    for parent in (foreign["id"], "01890a5d-ac96-774b-bcce-b302099a8057", "not-an-id"):
        resp = await scim.post("/Groups", tree_body("Orphan", parent))
        assert "names no Group" in assert_error(resp, 400, "invalidValue")["detail"]
        resp = await scim.patch(
            f"/Groups/{mine['id']}", patch({"op": "replace", "path": f"{TREE}:parent.value", "value": parent})
        )
        assert_error(resp, 400, "invalidValue")
    assert (await scim.search("/Groups", filter='displayName eq "Orphan"'))["totalResults"] == 0
    assert parent_of(await read(scim, mine["id"])) is None

    # A Group deleted over SCIM is no parent either.
    gone = await create(scim, "Gone")
    assert (await scim.delete(f"/Groups/{gone['id']}")).status_code == 204
    assert_error(await scim.post("/Groups", tree_body("Orphan", gone["id"])), 400, "invalidValue")


async def test_patch_add_replace_and_remove_the_parent(scim: Scim) -> None:
    north, south = await create(scim, "North"), await create(scim, "South")
    team = await create(scim, "Team")
    path = f"/Groups/{team['id']}"

    # Okta's form: the complex value on the extension path.
    resp = await scim.patch(path, patch({"op": "add", "path": f"{TREE}:parent", "value": {"value": north["id"]}}))
    assert resp.status_code == 200, resp.text
    assert parent_of(resp.json()) == north["id"]

    # Entra's forms: PascalCase operations and a bare id, on the path or in a path-less value.
    resp = await scim.patch(path, patch({"op": "Replace", "path": f"{TREE}:parent", "value": south["id"]}))
    assert resp.status_code == 200, resp.text
    assert parent_of(resp.json()) == south["id"]
    resp = await scim.patch(path, patch({"op": "replace", "value": {f"{TREE}:parent": north["id"]}}))
    assert parent_of(resp.json()) == north["id"]
    resp = await scim.patch(path, patch({"op": "replace", "path": f"{TREE}:parent.value", "value": south["id"]}))
    assert parent_of(resp.json()) == south["id"]
    assert await rest_parent(scim, team["id"]) == south["id"]

    # Other changes keep the parent.
    resp = await scim.patch(path, patch({"op": "replace", "path": "displayName", "value": "Team 2"}))
    assert resp.json()["displayName"] == "Team 2" and parent_of(resp.json()) == south["id"]

    # Remove, and Entra's empty string: the Group becomes top-level.
    resp = await scim.patch(path, patch({"op": "remove", "path": f"{TREE}:parent"}))
    assert resp.status_code == 200, resp.text
    assert parent_of(resp.json()) is None and await rest_parent(scim, team["id"]) is None
    await scim.patch(path, patch({"op": "add", "path": f"{TREE}:parent", "value": {"value": north["id"]}}))
    resp = await scim.patch(path, patch({"op": "Replace", "path": f"{TREE}:parent", "value": ""}))
    assert resp.status_code == 200, resp.text
    assert parent_of(resp.json()) is None and await rest_parent(scim, team["id"]) is None


async def test_a_put_without_the_extension_keeps_the_parent(scim: Scim) -> None:
    top = await create(scim, "Head Office")
    child = await create(scim, "Branch", top["id"])
    resp = await scim.put(f"/Groups/{child['id']}", {"schemas": [GROUP], "displayName": "Branch Office"})
    assert resp.status_code == 200, resp.text
    assert parent_of(resp.json()) == top["id"]
    # Listing the extension without a parent says "no parent".
    resp = await scim.put(f"/Groups/{child['id']}", tree_body("Branch Office"))
    assert parent_of(resp.json()) is None and await rest_parent(scim, child["id"]) is None


async def test_deleting_a_group_makes_its_children_top_level(scim: Scim) -> None:
    top = await create(scim, "Holding")
    child = await create(scim, "Subsidiary", top["id"])
    assert (await scim.delete(f"/Groups/{top['id']}")).status_code == 204
    assert parent_of(await read(scim, child["id"])) is None
    assert await rest_parent(scim, child["id"]) is None


async def test_a_tree_built_over_rest_shows_over_scim(scim: Scim) -> None:
    hr = scim.tenant.hr
    top = (await scim.client.post("/api/v1/departments", json={"name": "Sales"}, headers=hr)).json()
    sub = (
        await scim.client.post("/api/v1/departments", json={"name": "EMEA", "parent_id": top["id"]}, headers=hr)
    ).json()
    group = await read(scim, sub["id"])
    assert parent_of(group) == top["id"]
    found = await scim.search("/Groups", filter=f'{TREE}:parent.value eq "{top["id"]}"')
    assert [g["displayName"] for g in found["Resources"]] == ["EMEA"]


async def test_concurrent_moves_cannot_make_a_cycle(scim: Scim) -> None:
    a, b = await create(scim, "Left"), await create(scim, "Right")
    move = f"{TREE}:parent"
    results = await asyncio.gather(
        scim.patch(f"/Groups/{a['id']}", patch({"op": "add", "path": move, "value": {"value": b["id"]}})),
        scim.patch(f"/Groups/{b['id']}", patch({"op": "add", "path": move, "value": {"value": a["id"]}})),
    )
    assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]
    parents = [await rest_parent(scim, a["id"]), await rest_parent(scim, b["id"])]
    assert parents.count(None) == 1
