"""Meetings: scheduling a team's or a pair's meeting, its recurrence expanded for a window
at its wall-clock time, its occurrences held or cancelled, and who sees it."""

from __future__ import annotations

import datetime as dt

import pytest
from dateutil import rrule as du

from service.meetings import recurrence
from tests.conftest import Tenant
from tests.meetings.conftest import MEETINGS, WEEKLY, schedule


def ids(t: Tenant, *names: str) -> list[str]:
    return [t.employees[n]["id"] for n in names]


async def test_a_one_on_one_puts_the_manager_first_and_organizes(team: Tenant):
    m = await schedule(team, headers=team.employee("alice"))
    assert m["attendee_ids"] == ids(team, "lead", "alice")
    assert m["organizer_id"] == team.employees["lead"]["id"]
    assert m["starts_at"] == "2027-01-04T08:00:00Z"
    assert m["rrule"] == WEEKLY and m["status"] == "scheduled" and m["version"] == 1


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"attendee_ids": []}, "attendee_ids"),
        ({"attendee_ids": ["alice", "bob"]}, "attendee_ids"),  # colleagues, not manager and report
        ({"attendee_ids": ["alice", "boss"]}, "attendee_ids"),  # an indirect manager is not the pair
        ({"rrule": "FREQ=HOURLY"}, "rrule"),
        ({"rrule": "FREQ=DAILY;BYHOUR=9,10"}, "rrule"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule"),
        ({"rrule": "not a rule"}, "rrule"),
        ({"rrule": "FREQ=DAILY;UNTIL=20270201T000000"}, "rrule"),  # UNTIL must be UTC with a time zone
        # never matches: refused at once (dateutil would search to the year 9999 for one)
        ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=3"}, "rrule"),  # one Monday a week: no third
        ({"starts_at": "2199-06-01T08:00:00Z"}, "starts_at"),  # past the recurrence horizon
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"kind": "weekly", "attendee_ids": None}, "department_id"),
    ],
)
async def test_bad_meetings_are_422_naming_the_field(team: Tenant, fields, loc):
    body = {
        "kind": "one_on_one",
        "title": "x",
        "attendee_ids": ["alice", "lead"],
        "starts_at": "2027-01-04T08:00:00Z",
        "timezone": "Europe/Paris",
        **fields,
    }
    if body["attendee_ids"] is None:
        del body["attendee_ids"]
    else:
        body["attendee_ids"] = [team.employees[n]["id"] for n in body["attendee_ids"]]
    resp = await team.client.post(MEETINGS, headers=team.hr, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert any(loc in e["loc"] for e in resp.json()["errors"]), resp.json()


async def test_occurrences_keep_the_wall_clock_time_across_daylight_saving(team: Tenant):
    m = await schedule(team, starts_at="2027-03-22T09:00:00+01:00")  # Paris moves to +02:00 on 28 March
    resp = await team.client.get(
        f"{MEETINGS}/{m['id']}/occurrences",
        headers=team.employee("alice"),
        params={"from": "2027-03-20T00:00:00Z", "to": "2027-04-06T00:00:00Z"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [o["starts_at"] for o in body["items"]] == [
        "2027-03-22T08:00:00Z",
        "2027-03-29T07:00:00Z",
        "2027-04-05T07:00:00Z",
    ]
    assert body["next_cursor"] is None
    assert all(o["status"] == "scheduled" and o["notes"] is None for o in body["items"])
    assert body["items"][0]["ends_at"] == "2027-03-22T08:30:00Z"


async def test_the_api_expansion_is_dateutils(team: Tenant):
    rule = "FREQ=MONTHLY;BYDAY=1TU,3TU;COUNT=7"
    m = await schedule(team, rrule=rule, starts_at="2027-01-05T16:30:00-05:00", timezone="America/New_York")
    resp = await team.client.get(
        f"{MEETINGS}/{m['id']}/occurrences",
        headers=team.hr,
        params={"from": "2027-01-01T00:00:00Z", "to": "2027-12-31T00:00:00Z"},
    )
    got = [o["starts_at"] for o in resp.json()["items"]]
    from zoneinfo import ZoneInfo

    start = dt.datetime(2027, 1, 5, 16, 30, tzinfo=ZoneInfo("America/New_York"))
    want = [d.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for d in du.rrulestr(rule, dtstart=start)]
    assert got == want and len(got) == 7


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2027-01-01T00:00:00Z", "to": "2028-01-03T00:00:00Z"}, 422),  # over 366 days
        ({"from": "2027-02-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, 422),
        ({"from": "2027-01-01T00:00:00Z"}, 422),
        ({"from": "yesterday", "to": "2027-01-01T00:00:00Z"}, 422),
    ],
)
async def test_bad_windows_are_422(team: Tenant, params, status):
    m = await schedule(team)
    resp = await team.client.get(f"{MEETINGS}/{m['id']}/occurrences", headers=team.hr, params=params)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_a_rule_without_end_is_listed_for_a_bounded_window(team: Tenant):
    m = await schedule(team, rrule="FREQ=DAILY")
    resp = await team.client.get(
        f"{MEETINGS}/{m['id']}/occurrences",
        headers=team.hr,
        params={"from": "2027-01-04T00:00:00Z", "to": "2028-01-05T00:00:00Z"},
    )
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["items"]) == 366


async def test_holding_an_occurrence_records_notes_and_emits_meeting_held(team: Tenant):
    m = await schedule(team)
    url = f"{MEETINGS}/{m['id']}/occurrences/2027-01-11T08:00:00Z/held"
    resp = await team.client.post(
        url, headers=team.employee("alice"), json={"notes": "Pipeline review", "decisions": "Drop the pilot"}
    )
    assert resp.status_code == 200, resp.text
    held = resp.json()
    assert held["status"] == "held" and held["decisions"] == "Drop the pilot"
    assert (await team.client.post(url, headers=team.employee("lead"), json={})).status_code == 409
    listed = await team.client.get(
        f"{MEETINGS}/{m['id']}/occurrences",
        headers=team.employee("boss"),
        params={"from": "2027-01-04T00:00:00Z", "to": "2027-01-19T00:00:00Z"},
    )
    assert [o["status"] for o in listed.json()["items"]] == ["scheduled", "held", "scheduled"]
    assert listed.json()["items"][1]["notes"] == "Pipeline review"
    events = await team.client.get("/api/v1/audit-events", headers=team.admin, params={"entity_id": m["id"]})
    assert "meeting.occurrence_held" in [e["action"] for e in events.json()["items"]]


async def test_an_instant_that_is_no_occurrence_is_404(team: Tenant):
    m = await schedule(team)
    for start in ("2027-01-11T09:00:00Z", "2027-01-12T08:00:00Z", "2026-12-28T08:00:00Z"):
        resp = await team.client.post(f"{MEETINGS}/{m['id']}/occurrences/{start}/held", headers=team.hr, json={})
        assert resp.status_code == 404, (start, resp.text)


async def test_a_cancelled_occurrence_shows_cancelled(team: Tenant):
    m = await schedule(team)
    resp = await team.client.post(
        f"{MEETINGS}/{m['id']}/occurrences/2027-01-18T08:00:00Z/cancel", headers=team.employee("lead"), json={}
    )
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled", resp.text


async def test_a_team_meeting_of_a_department_invites_its_members(team: Tenant):
    dep = await team.client.post("/api/v1/departments", headers=team.hr, json={"name": "Sales"})
    dep_id = dep.json()["id"]
    for name in ("alice", "bob"):
        r = await team.client.patch(
            f"/api/v1/employees/{team.employees[name]['id']}", headers=team.hr, json={"department_id": dep_id}
        )
        assert r.status_code == 200, r.text
    m = await schedule(
        team,
        headers=team.employee("lead"),
        kind="standup",
        title="Sales stand-up",
        attendee_ids=None,
        department_id=dep_id,
        rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    )
    assert sorted(m["attendee_ids"]) == sorted(ids(team, "alice", "bob"))
    assert m["organizer_id"] == team.employees["lead"]["id"]


async def test_updates_honour_if_match_and_change_the_schedule(team: Tenant):
    m = await schedule(team)
    url = f"{MEETINGS}/{m['id']}"
    stale = await team.client.patch(url, headers={**team.hr, "If-Match": '"99"'}, json={"title": "1:1"})
    assert stale.status_code == 412
    resp = await team.client.patch(url, headers={**team.hr, "If-Match": '"1"'}, json={"rrule": "FREQ=WEEKLY;BYDAY=TU"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["rrule"] == "FREQ=WEEKLY;BYDAY=TU" and resp.headers["etag"] == '"2"'
    bad = await team.client.patch(url, headers=team.hr, json={"rrule": "FREQ=MINUTELY"})
    assert bad.status_code == 422


async def test_lists_show_what_each_caller_may_read(team: Tenant):
    one = await schedule(team)
    await team.add_employee("erin", manager="dave")
    other = await schedule(
        team, title="Dave and Erin", attendee_ids=ids(team, "dave", "erin"), headers=team.employee("dave")
    )

    async def listed(headers):
        resp = await team.client.get(MEETINGS, headers=headers)
        assert resp.status_code == 200, resp.text
        return {m["id"] for m in resp.json()["items"]}

    assert await listed(team.hr) == {one["id"], other["id"]}
    assert await listed(team.auditor) == {one["id"], other["id"]}
    for who in ("alice", "lead", "boss"):
        assert await listed(team.employee(who)) == {one["id"]}, who
    for who in ("bob", "carol"):
        assert await listed(team.employee(who)) == set(), who
    assert await listed(team.employee("dave")) == {other["id"]}


def test_dateutil_searches_no_further_than_the_horizon():
    """A rule that never matches ends its search at the horizon, not at the year 9999, and
    a window near the horizon still lists its occurrences."""
    start = dt.datetime(2027, 1, 4, 8, tzinfo=dt.UTC)
    assert du.datetime.MAXYEAR == recurrence.HORIZON_YEAR
    never = recurrence.parse("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", start, "Europe/Paris")
    assert list(never) == []
    late = dt.datetime(recurrence.HORIZON_YEAR - 1, 3, 1, tzinfo=dt.UTC)
    found = list(recurrence.occurrences(start, "Europe/Paris", "FREQ=WEEKLY", late, late + dt.timedelta(days=14)))
    assert len(found) == 2 and all(d.weekday() == 0 for d in found)
