"""Calendar feeds: a private URL per person, made, rotated and revoked through
`/me/calendar-feed`, read with its token alone; the feed parses with icalendar, carries
each recurrence as its RRULE (with EXDATEs for cancelled occurrences), and
python-dateutil's expansion of it is the API's list of occurrences."""

from __future__ import annotations

import datetime as dt

import pytest
from dateutil import rrule as du
from icalendar import Calendar

from tests.conftest import Tenant
from tests.evaluations.conftest import open_evaluation
from tests.kpi.conftest import make_cycle
from tests.meetings.conftest import MEETINGS, schedule

FEED = "/api/v1/me/calendar-feed"


async def make_feed(t: Tenant, who: str) -> str:
    resp = await t.client.post(FEED, headers=t.employee(who))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["active"] is True and body["url"].startswith("/calendar/") and body["url"].endswith(".ics")
    return body["url"]


async def read_feed(t: Tenant, url: str) -> Calendar:
    resp = await t.client.get(url)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(resp.content)


async def test_the_feed_carries_the_rrule_and_its_expansion_is_the_apis(team: Tenant):
    m = await schedule(team, rrule="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=12", starts_at="2027-03-22T09:00:00+01:00")
    cancelled = "2027-03-29T07:00:00Z"
    r = await team.client.post(f"{MEETINGS}/{m['id']}/occurrences/{cancelled}/cancel", headers=team.hr, json={})
    assert r.status_code == 200, r.text
    await schedule(
        team, title="Someone else's", attendee_ids=[team.employees["bob"]["id"], team.employees["lead"]["id"]]
    )

    cal = await read_feed(team, await make_feed(team, "alice"))
    [event] = cal.walk("VEVENT")
    assert str(event["uid"]) == f"meeting-{m['id']}@perf-service"
    assert event["rrule"]["FREQ"] == ["WEEKLY"] and event["rrule"]["COUNT"] == [12]
    assert event["rrule"]["BYDAY"] == ["MO", "TH"]
    assert event["dtstart"].dt.tzinfo is not None and str(event["dtstart"].params["TZID"]) == "Europe/Paris"
    assert cal.walk("VTIMEZONE"), "the time zone is described"

    # the feed's own recurrence, expanded by the library a subscriber uses, minus EXDATEs
    start = event["dtstart"].dt
    rule = du.rrulestr(event["rrule"].to_ical().decode(), dtstart=start)
    exdates = {d.dt.astimezone(dt.UTC) for d in event["exdate"].dts}
    from_feed = [d.astimezone(dt.UTC) for d in rule if d.astimezone(dt.UTC) not in exdates]

    resp = await team.client.get(
        f"{MEETINGS}/{m['id']}/occurrences",
        headers=team.employee("alice"),
        params={"from": "2027-03-01T00:00:00Z", "to": "2027-06-01T00:00:00Z"},
    )
    listed = resp.json()["items"]
    api = [dt.datetime.fromisoformat(o["starts_at"]) for o in listed if o["status"] != "cancelled"]
    assert from_feed == api and len(api) == 11
    assert exdates == {dt.datetime(2027, 3, 29, 7, 0, tzinfo=dt.UTC)}


async def test_interviews_are_in_the_feed(team: Tenant):
    cycle = await make_cycle(team, status="review")
    ev = await open_evaluation(team, "alice", cycle)
    resp = await team.client.post(
        "/api/v1/interviews",
        headers=team.employee("lead"),
        json={"evaluation_id": ev["id"], "scheduled_at": "2027-02-01T14:00:00Z"},
    )
    assert resp.status_code == 201, resp.text
    cal = await read_feed(team, await make_feed(team, "alice"))
    [event] = cal.walk("VEVENT")
    assert str(event["uid"]) == f"interview-{resp.json()['id']}@perf-service"
    assert event["dtstart"].dt == dt.datetime(2027, 2, 1, 14, 0, tzinfo=dt.UTC)


async def test_rotating_and_revoking_end_the_old_url(team: Tenant):
    first = await make_feed(team, "alice")
    second = await make_feed(team, "alice")
    assert first != second
    assert (await team.client.get(first)).status_code == 404
    await read_feed(team, second)
    status = await team.client.get(FEED, headers=team.employee("alice"))
    assert status.status_code == 200 and status.json()["active"] is True
    assert (await team.client.delete(FEED, headers=team.employee("alice"))).status_code == 204
    gone = await team.client.get(second)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")
    assert (await team.client.delete(FEED, headers=team.employee("alice"))).status_code == 404
    assert (await team.client.get(FEED, headers=team.employee("alice"))).json() == {"active": False, "created_at": None}


@pytest.mark.parametrize(
    "url", ["/calendar/nonsense.ics", "/calendar/0123.abc.ics", "/calendar/00000000000000000000000000000000.x.ics"]
)
async def test_a_bad_token_is_404(team: Tenant, url):
    resp = await team.client.get(url)
    assert resp.status_code == 404, resp.text


async def test_a_token_of_one_person_never_reads_anothers_feed(team: Tenant, other_tenant: Tenant):
    url = await make_feed(team, "alice")
    org_hex, secret = url.removeprefix("/calendar/").removesuffix(".ics").split(".", 1)
    forged = f"/calendar/{other_tenant.org_id.hex}.{secret}.ics"
    assert (await team.client.get(forged)).status_code == 404


@pytest.mark.parametrize(
    ("caller", "post", "get", "delete"),
    [
        ("employee", 201, 200, 204),
        ("manager", 201, 200, 204),
        ("admin", 403, 403, 403),  # a role without an employee record has no calendar
        ("hr", 403, 403, 403),
        ("auditor", 403, 403, 403),
        ("client", 403, 403, 403),
        ("anonymous", 401, 401, 401),
    ],
)
async def test_who_may_manage_a_feed(team: Tenant, caller, post, get, delete):
    headers = {
        "employee": team.employee("alice"),
        "manager": team.as_("employee", "hr", emp=team.employees["lead"]["id"]),
        "admin": team.admin,
        "hr": team.hr,
        "auditor": team.auditor,
        "client": team.as_scope("kpi:write"),
        "anonymous": {},
    }[caller]
    assert (await team.client.post(FEED, headers=headers)).status_code == post
    assert (await team.client.get(FEED, headers=headers)).status_code == get
    assert (await team.client.delete(FEED, headers=headers)).status_code == delete
