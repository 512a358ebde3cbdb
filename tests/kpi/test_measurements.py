"""Single measurements: POST (idempotent on source_key), PUT and DELETE by date, closed
cycles, events and audit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.kpi.conftest import (
    close_cycle,
    make_assignment,
    make_definition,
    measure,
    outbox_events,
    read,
)


@pytest.fixture
async def gmv(team, quarter):
    d = await make_definition(team, "GMV", "higher_is_better", "sum")
    return await make_assignment(team, "alice", quarter, d, method="ratio", target=100)


def day_url(a, day):
    return f"/api/v1/kpi-assignments/{a['id']}/measurements/{day}"


async def test_post_and_list(team, gmv):
    m = await measure(team, gmv, "12.50", "2026-10-02", source="shop", headers=team.employee("lead"))
    assert m["value"] == "12.50" and m["measured_at"] == "2026-10-02" and m["source"] == "shop"
    assert m["recorded_by"] and m["source_key"] is None
    listed = await team.client.get(f"/api/v1/kpi-assignments/{gmv['id']}/measurements", headers=team.employee("alice"))
    assert listed.status_code == 200
    assert [x["id"] for x in listed.json()["items"]] == [m["id"]]
    ranged = await team.client.get(
        f"/api/v1/kpi-assignments/{gmv['id']}/measurements", headers=team.hr, params={"measured_from": "2026-10-03"}
    )
    assert ranged.json()["items"] == []


async def test_post_with_source_key_is_idempotent(team, gmv):
    first = await measure(team, gmv, "10", "2026-10-02", source_key="row-1")
    again = await measure(team, gmv, "10.0", "2026-10-02", source_key="row-1", expect=200)
    assert again["id"] == first["id"] and again["value"] == "10"
    changed = await measure(team, gmv, "11", "2026-10-02", source_key="row-1", expect=200)
    assert changed["id"] == first["id"] and changed["value"] == "11"
    got = await read(team, gmv)
    assert got["measurement_count"] == 1 and Decimal(got["actual"]) == 11
    assert [e["created"] + e["updated"] for e in await outbox_events(team)] == [1, 1]


async def test_put_by_date_twice_is_one_row(team, gmv):
    resp = await team.client.put(day_url(gmv, "2026-10-05"), headers=team.hr, json={"value": "40"})
    assert resp.status_code == 201, resp.text
    etag = resp.headers["etag"]
    resp2 = await team.client.put(day_url(gmv, "2026-10-05"), headers=team.hr, json={"value": "40"})
    assert resp2.status_code == 200 and resp2.json()["id"] == resp.json()["id"]
    assert resp2.headers["etag"] == etag  # nothing changed
    resp3 = await team.client.put(
        day_url(gmv, "2026-10-05"), headers={**team.hr, "If-Match": etag}, json={"value": "55", "source": "bi"}
    )
    assert resp3.status_code == 200 and resp3.json()["value"] == "55"
    stale = await team.client.put(
        day_url(gmv, "2026-10-05"), headers={**team.hr, "If-Match": etag}, json={"value": "56"}
    )
    assert stale.status_code == 412
    got = await read(team, gmv)
    assert got["measurement_count"] == 1 and got["actual"] == "55" and got["points"] == "55.00"
    assert len(await outbox_events(team)) == 2  # created, updated; the no-op PUT emits nothing


async def test_put_collapses_a_days_several_rows(team, gmv):
    await measure(team, gmv, "1", "2026-10-07")
    await measure(team, gmv, "2", "2026-10-07")
    resp = await team.client.put(day_url(gmv, "2026-10-07"), headers=team.hr, json={"value": "3"})
    assert resp.status_code == 200
    got = await read(team, gmv)
    assert got["measurement_count"] == 1 and got["actual"] == "3"


async def test_delete_by_date(team, gmv):
    await measure(team, gmv, "1", "2026-10-07")
    await measure(team, gmv, "2", "2026-10-07")
    await measure(team, gmv, "5", "2026-10-08")
    resp = await team.client.delete(day_url(gmv, "2026-10-07"), headers=team.hr)
    assert resp.status_code == 204
    got = await read(team, gmv)
    assert got["measurement_count"] == 1 and got["actual"] == "5"
    again = await team.client.delete(day_url(gmv, "2026-10-07"), headers=team.hr)
    assert again.status_code == 204
    never = await team.client.delete(day_url(gmv, "2026-11-30"), headers=team.hr)
    assert never.status_code == 204


async def test_bad_dates_and_values(team, gmv):
    assert (await team.client.put(day_url(gmv, "2026-13-01"), headers=team.hr, json={"value": "1"})).status_code == 422
    for body in (
        {"value": "x", "measured_at": "2026-10-01"},
        {"value": "1"},
        {"value": None, "measured_at": "2026-10-01"},
        {"value": "Infinity", "measured_at": "2026-10-01"},
        {"value": "1", "measured_at": "2026-10-01", "assignment_id": gmv["id"]},
    ):
        resp = await team.client.post(f"/api/v1/kpi-assignments/{gmv['id']}/measurements", headers=team.hr, json=body)
        assert resp.status_code == 422, body


async def test_closed_cycle_is_read_only(team, quarter, gmv):
    await measure(team, gmv, "5", "2026-10-02")
    await close_cycle(team, quarter)
    url = f"/api/v1/kpi-assignments/{gmv['id']}"
    assert (
        await team.client.post(url + "/measurements", headers=team.hr, json={"value": 1, "measured_at": "2026-10-03"})
    ).status_code == 409
    assert (await team.client.put(day_url(gmv, "2026-10-02"), headers=team.hr, json={"value": 1})).status_code == 409
    assert (await team.client.delete(day_url(gmv, "2026-10-02"), headers=team.hr)).status_code == 409
    assert (await team.client.patch(url, headers=team.hr, json={"weight": 2})).status_code == 409
    assert (await team.client.delete(url, headers=team.hr)).status_code == 409
    d = await make_definition(team, "NEW", "higher_is_better", "sum")
    await make_assignment(team, "bob", quarter, d, method="ratio", target=1, expect=409)
    assert (await read(team, gmv))["actual"] == "5"


async def test_event_per_single_write(team, gmv):
    m = await measure(team, gmv, "1", "2026-10-02")
    await team.client.put(day_url(gmv, "2026-10-09"), headers=team.hr, json={"value": "2"})
    events = await outbox_events(team)
    assert len(events) == 2
    assert events[0]["count"] == 1 and events[0]["assignment_ids"] == [gmv["id"]]
    assert events[0]["measurement_ids"] == [m["id"]]


async def test_measurement_changes_are_audited(team, gmv):
    m = await measure(team, gmv, "1", "2026-10-02")
    await team.client.put(day_url(gmv, "2026-10-02"), headers=team.hr, json={"value": "2"})
    await team.client.delete(day_url(gmv, "2026-10-02"), headers=team.hr)
    resp = await team.client.get("/api/v1/audit-events", headers=team.auditor, params={"entity_id": m["id"]})
    assert sorted(e["action"] for e in resp.json()["items"]) == [
        "kpi_measurement.created",
        "kpi_measurement.deleted",
        "kpi_measurement.updated",
    ]


async def test_delete_assignment_removes_its_measurements(team, gmv):
    await measure(team, gmv, "1", "2026-10-02")
    url = f"/api/v1/kpi-assignments/{gmv['id']}"
    stale = await team.client.delete(url, headers={**team.hr, "If-Match": '"9"'})
    assert stale.status_code == 412
    assert (await team.client.delete(url, headers=team.hr)).status_code == 204
    assert (await team.client.get(url, headers=team.hr)).status_code == 404
    assert (await team.client.get(url + "/measurements", headers=team.hr)).status_code == 404


async def test_assignment_etag_and_if_match(team, gmv):
    url = f"/api/v1/kpi-assignments/{gmv['id']}"
    got = await team.client.get(url, headers=team.hr)
    assert got.headers["etag"] == '"1"'
    ok = await team.client.patch(url, headers={**team.hr, "If-Match": '"1"'}, json={"weight": "3", "rewardable": True})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    assert ok.json()["weight"] == "3" and ok.json()["rewardable"] is True
    stale = await team.client.patch(url, headers={**team.hr, "If-Match": '"1"'}, json={"weight": "4"})
    assert stale.status_code == 412
