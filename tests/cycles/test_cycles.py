"""Cycles: nesting, dates inside the parent's, the status machine, closed is read-only,
and the helper that splits a year by cadence."""

import pytest


async def make_year(t, name="FY2026", start="2026-01-01", end="2026-12-31"):
    resp = await t.client.post(
        "/api/v1/cycles", headers=t.hr, json={"name": name, "cadence": "annual", "start_date": start, "end_date": end}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.parametrize(
    "cadence,count,first_end,last_start",
    [
        ("quarterly", 4, "2026-03-31", "2026-10-01"),
        ("monthly", 12, "2026-01-31", "2026-12-01"),
        ("bimonthly", 6, "2026-02-28", "2026-11-01"),
        ("semiannual", 2, "2026-06-30", "2026-07-01"),
        ("8_weeks", 7, "2026-02-25", "2026-12-03"),
        ("6_weeks", 9, "2026-02-11", "2026-12-03"),
    ],
)
async def test_split_year_by_cadence(tenant, cadence, count, first_end, last_start):
    year = await make_year(tenant)
    resp = await tenant.client.post(
        f"/api/v1/cycles/{year['id']}/children", headers=tenant.hr, json={"cadence": cadence}
    )
    assert resp.status_code == 201, resp.text
    kids = resp.json()
    assert len(kids) == count
    assert kids[0]["start_date"] == "2026-01-01" and kids[0]["end_date"] == first_end
    assert kids[-1]["start_date"] == last_start and kids[-1]["end_date"] == "2026-12-31"
    assert all(k["parent_id"] == year["id"] and k["cadence"] == cadence for k in kids)
    again = await tenant.client.post(
        f"/api/v1/cycles/{year['id']}/children", headers=tenant.hr, json={"cadence": cadence}
    )
    assert again.status_code == 409


async def test_child_dates_must_lie_inside_parent(tenant):
    year = await make_year(tenant)
    resp = await tenant.client.post(
        "/api/v1/cycles",
        headers=tenant.hr,
        json={
            "name": "Q5",
            "cadence": "quarterly",
            "start_date": "2026-11-01",
            "end_date": "2027-01-31",
            "parent_id": year["id"],
        },
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_end_before_start_is_422(tenant):
    resp = await tenant.client.post(
        "/api/v1/cycles",
        headers=tenant.hr,
        json={"name": "bad", "cadence": "custom", "start_date": "2026-05-01", "end_date": "2026-05-01"},
    )
    assert resp.status_code == 422


async def test_status_machine_and_closed_is_read_only(tenant):
    year = await make_year(tenant)
    url = f"/api/v1/cycles/{year['id']}"
    bad = await tenant.client.post(url + "/transition", headers=tenant.hr, json={"to": "closed"})
    assert bad.status_code == 409
    for to in ("active", "review", "calibration", "closed"):
        resp = await tenant.client.post(url + "/transition", headers=tenant.hr, json={"to": to})
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == to
    patch = await tenant.client.patch(url, headers=tenant.hr, json={"name": "renamed"})
    assert patch.status_code == 409
    kids = await tenant.client.post(url + "/children", headers=tenant.hr, json={"cadence": "quarterly"})
    assert kids.status_code == 409
    assert (await tenant.client.get(url, headers=tenant.hr)).json()["name"] == "FY2026"


async def test_review_may_reopen_to_active(tenant):
    year = await make_year(tenant)
    url = f"/api/v1/cycles/{year['id']}/transition"
    for to in ("active", "review", "active"):
        assert (await tenant.client.post(url, headers=tenant.hr, json={"to": to})).status_code == 200


@pytest.mark.parametrize(
    "who,create,read", [("admin", 201, 200), ("hr", 201, 200), ("auditor", 403, 200), ("employee", 403, 200)]
)
async def test_cycle_authorization(team, who, create, read):
    year = await make_year(team)
    headers = team.employee("alice") if who == "employee" else team.as_(who)
    resp = await team.client.post(
        "/api/v1/cycles",
        headers=headers,
        json={"name": "x", "cadence": "annual", "start_date": "2027-01-01", "end_date": "2027-12-31"},
    )
    assert resp.status_code == create
    assert (await team.client.get(f"/api/v1/cycles/{year['id']}", headers=headers)).status_code == read
    trans = await team.client.post(f"/api/v1/cycles/{year['id']}/transition", headers=headers, json={"to": "active"})
    assert trans.status_code == (200 if create == 201 else 403)


async def test_other_org_cannot_see_cycle(tenant, other_tenant):
    year = await make_year(tenant)
    resp = await tenant.client.get(f"/api/v1/cycles/{year['id']}", headers=other_tenant.admin)
    assert resp.status_code == 404
    listed = await tenant.client.get("/api/v1/cycles", headers=other_tenant.admin)
    assert listed.json()["items"] == []


async def test_cycles_in_graphql(tenant):
    year = await make_year(tenant)
    await tenant.client.post(f"/api/v1/cycles/{year['id']}/children", headers=tenant.hr, json={"cadence": "quarterly"})
    query = """query($id: ID!) { cycle(id: $id) { name children { name startDate parent { name } } } }"""
    resp = await tenant.client.post(
        "/graphql", headers=tenant.hr, json={"query": query, "variables": {"id": year["id"]}}
    )
    data = resp.json()["data"]["cycle"]
    assert [c["name"] for c in data["children"]] == ["FY2026 Q1", "FY2026 Q2", "FY2026 Q3", "FY2026 Q4"]
    assert data["children"][0]["parent"]["name"] == "FY2026"
