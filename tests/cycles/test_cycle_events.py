"""A cycle's status change is an event (`cycle.status_changed`, from and to), emitted with
the change; closing a parent emits one for each nested cycle it closes."""

from tests.cycles.test_cycles import make_year
from tests.kpi.conftest import outbox_events


async def test_each_move_emits_from_and_to(tenant):
    year = await make_year(tenant)
    url = f"/api/v1/cycles/{year['id']}/transition"
    kids = await tenant.client.post(
        f"/api/v1/cycles/{year['id']}/children", headers=tenant.hr, json={"cadence": "semiannual"}
    )
    assert kids.status_code == 201, kids.text
    assert (await tenant.client.post(url, headers=tenant.hr, json={"to": "closed"})).status_code == 409
    for to in ("active", "review", "active", "review", "calibration", "closed"):
        assert (await tenant.client.post(url, headers=tenant.hr, json={"to": to})).status_code == 200
    events = await outbox_events(tenant, "cycle.status_changed")
    mine = [(e["from_status"], e["to_status"]) for e in events if e["cycle_id"] == year["id"]]
    assert mine == [
        ("planning", "active"),
        ("active", "review"),
        ("review", "active"),
        ("active", "review"),
        ("review", "calibration"),
        ("calibration", "closed"),
    ]
    first = next(e for e in events if e["cycle_id"] == year["id"])
    assert (first["name"], first["parent_id"], first["reason"]) == ("FY2026", None, None) and first["actor"]
    children = [e for e in events if e["cycle_id"] != year["id"]]
    assert len(children) == 2
    assert {(e["parent_id"], e["from_status"], e["to_status"]) for e in children} == {
        (year["id"], "planning", "closed")
    }
    assert all("FY2026" in e["reason"] for e in children)


async def test_graphql_transition_emits_the_same_event(tenant):
    year = await make_year(tenant)
    query = """mutation($id: ID!) { transitionCycle(id: $id, to: ACTIVE) { status } }"""
    resp = await tenant.client.post(
        "/graphql", headers=tenant.hr, json={"query": query, "variables": {"id": year["id"]}}
    )
    body = resp.json()
    assert "errors" not in body, body
    [event] = await outbox_events(tenant, "cycle.status_changed")
    assert (event["cycle_id"], event["from_status"], event["to_status"]) == (year["id"], "planning", "active")
