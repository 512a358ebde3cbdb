"""Objectives: fields and defaults, references, alignment (and its cycles), visibility,
lists, deletion, ETags, revisions, closed cycles."""

from __future__ import annotations

import pytest

from tests.okr.conftest import (
    act,
    check_in,
    close_cycle,
    get,
    make_cycle,
    make_kr,
    make_objective,
    publish,
)


def url(obj):
    return f"/api/v1/objectives/{obj['id']}"


async def test_create_defaults_and_etag(team, cycle):
    resp = await team.client.post(
        "/api/v1/objectives",
        headers=team.employee("alice"),
        json={
            "title": "Delight customers",
            "level": "individual",
            "owner_id": team.employees["alice"]["id"],
            "cycle_id": cycle["id"],
            "weight": 1.5,
            "perspective": "customer",
        },
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert resp.headers["etag"] == '"1"' and resp.headers["location"] == url(body)
    assert body["status"] == "draft" and body["type"] == "committed" and body["visibility"] == "public"
    assert body["weight"] == "1.5" and body["supports"] == [] and body["perspective"] == "customer"
    got = await team.client.get(url(body), headers=team.hr)
    assert got.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    "patch,status",
    [
        ({"weight": 0}, 422),
        ({"weight": "-1"}, 422),
        ({"level": "galaxy"}, 422),
        ({"type": "stretch"}, 422),
        ({"perspective": "fun"}, 422),
        ({"status": "published"}, 422),
        ({"id": "x"}, 422),
        ({"cycle_id": None}, 422),
        ({"owner_id": "00000000-0000-0000-0000-000000000000"}, 422),
        ({"department_id": "00000000-0000-0000-0000-000000000000"}, 422),
        ({"parent_id": "00000000-0000-0000-0000-000000000000"}, 422),
        ({"supports": ["00000000-0000-0000-0000-000000000000"]}, 422),
    ],
)
async def test_invalid_fields(team, cycle, patch, status):
    obj = await make_objective(team, cycle, "alice")
    resp = await team.client.patch(url(obj), headers=team.hr, json=patch)
    assert resp.status_code == status, resp.text
    body = {"title": "x", "level": "team", "owner_id": team.employees["alice"]["id"], "cycle_id": cycle["id"], **patch}
    if body.get("cycle_id") is not None:
        created = await team.client.post("/api/v1/objectives", headers=team.hr, json=body)
        assert created.status_code == 422


async def test_references_stay_inside_the_organization(team, other_tenant, cycle):
    await other_tenant.add_employee("zoe")
    foreign_cycle = await make_cycle(other_tenant)
    foreign = await make_objective(other_tenant, foreign_cycle, "zoe")
    for field, value in (
        ("parent_id", foreign["id"]),
        ("supports", [foreign["id"]]),
        ("cycle_id", foreign_cycle["id"]),
        ("owner_id", other_tenant.employees["zoe"]["id"]),
    ):
        body = {
            "title": "x",
            "level": "team",
            "owner_id": team.employees["alice"]["id"],
            "cycle_id": cycle["id"],
            field: value,
        }
        resp = await team.client.post("/api/v1/objectives", headers=team.hr, json=body)
        assert resp.status_code == 422, (field, resp.text)
    assert (await team.client.get(url(foreign), headers=team.admin)).status_code == 404
    assert (await team.client.get(url(foreign), headers=other_tenant.admin)).status_code == 200


async def test_alignment_cycles_are_refused(team, cycle):
    a = await make_objective(team, cycle, "boss", title="A")
    b = await make_objective(team, cycle, "lead", title="B", level="team", parent_id=a["id"])
    c = await make_objective(team, cycle, "alice", title="C", level="individual", supports=[b["id"]])
    for obj, patch, field in (
        (a, {"parent_id": a["id"]}, "parent_id"),  # itself
        (a, {"supports": [a["id"]]}, "supports"),
        (a, {"parent_id": b["id"]}, "parent_id"),  # a ← b: b cannot be a's parent
        (a, {"parent_id": c["id"]}, "parent_id"),  # a ← b ← c (support)
        (a, {"supports": [c["id"]]}, "supports"),
        (b, {"supports": [c["id"]]}, "supports"),
    ):
        resp = await team.client.patch(url(obj), headers=team.hr, json=patch)
        assert resp.status_code == 422, (obj["title"], patch, resp.text)
        assert resp.json()["errors"][0]["loc"] == ["body", field]
    ok = await team.client.patch(url(c), headers=team.hr, json={"parent_id": a["id"], "supports": [b["id"]]})
    assert ok.status_code == 200 and ok.json()["supports"] == [b["id"]]
    dup = await team.client.patch(url(c), headers=team.hr, json={"supports": [b["id"], b["id"], a["id"]]})
    assert sorted(dup.json()["supports"]) == sorted([a["id"], b["id"]])


async def test_alignment_tree(team, cycle):
    company = await make_objective(team, cycle, "boss", title="Company")
    dept = await make_objective(team, cycle, "lead", title="Dept", level="department", parent_id=company["id"])
    team_obj = await make_objective(team, cycle, "lead", title="Team", level="team", parent_id=dept["id"])
    mine = await make_objective(team, cycle, "alice", title="Mine", level="individual", supports=[team_obj["id"]])
    secret = await make_objective(
        team, cycle, "bob", title="Secret", level="individual", parent_id=dept["id"], visibility="private"
    )
    other = await make_objective(team, cycle, "carol", title="Other", level="individual")
    await team.client.patch(url(mine), headers=team.hr, json={"supports": [team_obj["id"], other["id"]]})
    kr = await make_kr(team, mine, start="0", target="4")
    await check_in(team, kr, value="1")

    tree = await get(team, f"{url(dept)}/alignment", headers=team.employee("lead"))
    assert [p["title"] for p in tree["parents"]] == ["Company"]
    root = tree["objective"]
    assert root["title"] == "Dept" and root["supporters"] == []
    assert [c["title"] for c in root["children"]] == ["Team", "Secret"]
    team_node = root["children"][0]
    assert [s["title"] for s in team_node["supporters"]] == ["Mine"]
    node = team_node["supporters"][0]
    assert node["progress"] == "0.2500" and node["score"] == "0.2500" and node["status"] == "draft"
    assert node["owner_id"] == team.employees["alice"]["id"]
    assert set(node) >= {"id", "title", "owner_id", "status", "progress", "score"}

    as_carol = await get(team, f"{url(dept)}/alignment", headers=team.employee("carol"))
    assert [c["title"] for c in as_carol["objective"]["children"]] == ["Team"]  # private one left out
    up = await get(team, f"{url(mine)}/alignment", headers=team.employee("dave"))
    assert [s["title"] for s in up["supports"]] == ["Team", "Other"] or sorted(s["title"] for s in up["supports"]) == [
        "Other",
        "Team",
    ]
    assert up["parents"] == []
    hidden = await team.client.get(f"{url(secret)}/alignment", headers=team.employee("carol"))
    assert hidden.status_code == 404


VIEWERS = {
    "admin": 200,
    "hr": 200,
    "auditor": 200,
    "alice": 200,
    "lead": 200,
    "boss": 200,
    "bob": 404,
    "carol": 404,
    "dave": 404,
}


@pytest.mark.parametrize("viewer,expected", VIEWERS.items())
async def test_private_objectives(team, cycle, viewer, expected):
    private = await make_objective(team, cycle, "alice", visibility="private", title="Private")
    public = await make_objective(team, cycle, "alice", title="Public")
    headers = team.as_(viewer) if viewer in ("admin", "hr", "auditor") else team.employee(viewer)
    assert (await team.client.get(url(private), headers=headers)).status_code == expected
    assert (await team.client.get(url(public), headers=headers)).status_code == 200
    listed = await get(team, f"/api/v1/objectives?cycle_id={cycle['id']}", headers=headers)
    ids = {o["id"] for o in listed["items"]}
    assert public["id"] in ids and (private["id"] in ids) == (expected == 200)
    kr = await make_kr(team, private)
    assert (await team.client.get(f"/api/v1/key-results/{kr['id']}", headers=headers)).status_code == expected
    krs = await get(team, "/api/v1/key-results", headers=headers)
    assert (kr["id"] in {k["id"] for k in krs["items"]}) == (expected == 200)
    checkins = await team.client.get(f"/api/v1/key-results/{kr['id']}/check-ins", headers=headers)
    assert checkins.status_code == expected
    revisions = await team.client.get(f"{url(private)}/revisions", headers=headers)
    assert revisions.status_code == expected


async def test_list_filters_and_pages(team, cycle):
    dep = (await team.client.post("/api/v1/departments", headers=team.hr, json={"name": "Ops"})).json()
    q2 = await make_cycle(team, name="Q2")
    a = await make_objective(team, cycle, "boss", title="A")
    b = await make_objective(
        team, cycle, "lead", title="B", level="department", department_id=dep["id"], parent_id=a["id"]
    )
    c = await make_objective(team, q2, "alice", title="C", level="individual", parent_id=b["id"])
    await make_kr(team, a)
    await make_kr(team, a, title="Second")
    await publish(team, a)

    async def ids(query: str) -> list[str]:
        return [o["id"] for o in (await get(team, f"/api/v1/objectives?{query}"))["items"]]

    assert await ids(f"cycle_id={cycle['id']}") == [a["id"], b["id"]]
    assert await ids(f"cycle_id={q2['id']}") == [c["id"]]
    assert await ids(f"owner_id={team.employees['lead']['id']}") == [b["id"]]
    assert await ids("status=published") == [a["id"]]
    assert await ids("level=individual") == [c["id"]]
    assert await ids(f"department_id={dep['id']}") == [b["id"]]
    assert await ids(f"parent_id={a['id']}") == [b["id"]]
    first = await get(team, "/api/v1/objectives?limit=2")
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await get(team, f"/api/v1/objectives?limit=2&cursor={first['next_cursor']}")
    assert [o["id"] for o in first["items"] + rest["items"]] == [a["id"], b["id"], c["id"]]
    assert (await team.client.get("/api/v1/objectives?status=gone", headers=team.hr)).status_code == 422
    published = (await get(team, "/api/v1/objectives?status=published"))["items"][0]
    assert published["score"] == "0.0000" and published["pace"] in ("on_track", "at_risk", "off_track")


async def test_delete_only_drafts(team, cycle, company):
    draft = await make_objective(team, cycle, "alice", level="individual", parent_id=company["id"])
    kr = await make_kr(team, draft)
    await check_in(team, kr, value="1")
    assert (await team.client.delete(url(company), headers=team.hr)).status_code == 409
    aligned = await team.client.delete(url(draft), headers=team.hr)
    assert aligned.status_code == 204
    assert (await team.client.get(url(draft), headers=team.hr)).status_code == 404
    assert (await team.client.get(f"/api/v1/key-results/{kr['id']}", headers=team.hr)).status_code == 404
    parent = await make_objective(team, cycle, "lead", level="team", parent_id=company["id"])
    await make_objective(team, cycle, "alice", level="individual", parent_id=parent["id"])
    assert (await team.client.delete(url(parent), headers=team.hr)).status_code == 409
    stale = await team.client.delete(url(parent), headers={**team.hr, "If-Match": '"7"'})
    assert stale.status_code == 412


async def test_if_match_on_patch(team, cycle):
    obj = await make_objective(team, cycle, "alice")
    stale = await team.client.patch(url(obj), headers={**team.hr, "If-Match": '"9"'}, json={"title": "x"})
    assert stale.status_code == 412
    ok = await team.client.patch(url(obj), headers={**team.hr, "If-Match": '"1"'}, json={"title": "y"})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    again = await team.client.patch(url(obj), headers={**team.hr, "If-Match": '"1"'}, json={"title": "z"})
    assert again.status_code == 412
    action = await team.client.post(f"{url(obj)}/submit", headers={**team.hr, "If-Match": '"1"'}, json={})
    assert action.status_code == 412


async def test_published_changes_are_revisions(team, cycle, company):
    obj = await make_objective(team, cycle, "alice", level="individual", parent_id=company["id"])
    kr = await make_kr(team, obj)
    second = await make_kr(team, obj, title="Second")
    draft_edit = await team.client.patch(url(obj), headers=team.employee("alice"), json={"title": "Draft title"})
    assert draft_edit.status_code == 200
    await publish(team, obj)
    resp = await team.client.patch(
        url(obj),
        headers=team.employee("alice"),
        json={"title": "Sharper title", "weight": "2", "reason": "scope changed"},
    )
    assert resp.status_code == 200, resp.text
    await team.client.patch(
        f"/api/v1/key-results/{kr['id']}", headers=team.employee("lead"), json={"target": "150", "reason": "new budget"}
    )
    third = await make_kr(team, obj, headers=team.employee("alice"), title="Third")
    await team.client.delete(f"/api/v1/key-results/{second['id']}", headers=team.employee("alice"))
    await team.client.patch(url(obj), headers=team.hr, json={"title": "Sharper title"})  # no change, no revision
    revisions = (await get(team, f"{url(obj)}/revisions"))["items"]
    actions = [r["action"] for r in revisions]
    assert actions == [
        "submitted",
        "approved",
        "published",
        "updated",
        "key_result.updated",
        "key_result.created",
        "key_result.deleted",
    ]
    updated = revisions[3]
    assert updated["changes"] == {
        "title": {"before": "Draft title", "after": "Sharper title"},
        "weight": {"before": "1", "after": "2"},
    }
    assert updated["reason"] == "scope changed" and updated["actor_employee_id"] == team.employees["alice"]["id"]
    assert updated["at"] and updated["actor"]
    assert revisions[4]["changes"] == {"target": {"before": "100", "after": "150"}}
    assert revisions[4]["reason"] == "new budget" and revisions[4]["key_result_id"] == kr["id"]
    assert revisions[5]["key_result_id"] == third["id"] and revisions[5]["changes"]["title"]["after"] == "Third"
    assert revisions[6]["changes"]["title"] == {"before": "Second", "after": None}
    page = await get(team, f"{url(obj)}/revisions?limit=2")
    assert len(page["items"]) == 2 and page["next_cursor"]


async def test_submitted_and_approved_are_locked(team, cycle, company):
    obj = await make_objective(team, cycle, "alice", level="individual", parent_id=company["id"])
    kr = await make_kr(team, obj)
    await make_kr(team, obj, title="Second")
    for action in ("submit", "approve"):
        await act(team, obj, action)
        assert (await team.client.patch(url(obj), headers=team.hr, json={"title": "x"})).status_code == 409
        assert (
            await team.client.patch(f"/api/v1/key-results/{kr['id']}", headers=team.hr, json={"title": "x"})
        ).status_code == 409
        await make_kr(team, obj, expect=409)
    await check_in(team, kr, value="5")  # progress may be reported at any time before closing


async def test_closed_cycle_is_read_only(team, company):
    cyc = await make_cycle(team, name="Closing")
    obj = await make_objective(team, cyc, "alice", level="individual", parent_id=company["id"])
    kr = await make_kr(team, obj)
    await make_kr(team, obj, title="Second")
    published = await make_objective(team, cyc, "alice", level="individual", parent_id=company["id"])
    await make_kr(team, published)
    await make_kr(team, published, title="Second")
    await publish(team, published)
    await close_cycle(team, cyc)
    assert (await team.client.patch(url(obj), headers=team.hr, json={"title": "x"})).status_code == 409
    assert (await team.client.delete(url(obj), headers=team.hr)).status_code == 409
    await make_kr(team, obj, expect=409)
    assert (
        await team.client.patch(f"/api/v1/key-results/{kr['id']}", headers=team.hr, json={"title": "x"})
    ).status_code == 409
    assert (await team.client.delete(f"/api/v1/key-results/{kr['id']}", headers=team.hr)).status_code == 409
    await check_in(team, kr, expect=409, value="1")
    await act(team, obj, "submit", expect=409)
    await act(team, published, "close", expect=409)
    await make_objective(team, cyc, "alice", expect=409)
    assert (await get(team, url(obj)))["title"] == obj["title"]
    assert (await team.client.get(f"{url(obj)}/alignment", headers=team.hr)).status_code == 200


async def test_owner_transfer_needs_rights_over_the_new_owner(team, cycle):
    obj = await make_objective(team, cycle, "alice", headers=team.employee("lead"))
    to_bob = await team.client.patch(
        url(obj), headers=team.employee("lead"), json={"owner_id": team.employees["bob"]["id"]}
    )
    assert to_bob.status_code == 200 and to_bob.json()["owner_id"] == team.employees["bob"]["id"]
    to_carol = await team.client.patch(
        url(obj), headers=team.employee("lead"), json={"owner_id": team.employees["carol"]["id"]}
    )
    assert to_carol.status_code == 403
    by_hr = await team.client.patch(url(obj), headers=team.hr, json={"owner_id": team.employees["carol"]["id"]})
    assert by_hr.status_code == 200
    await make_objective(team, cycle, "carol", headers=team.employee("alice"), expect=403)
