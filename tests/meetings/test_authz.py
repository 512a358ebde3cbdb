"""Who may do what on every meeting route (service/authz/policy.py, meetings section), as
one table: route x caller -> status. The meeting is a one-on-one of lead (the organizer)
and alice, his report; boss manages lead; bob (alice's colleague), carol and dave see
nothing of it. A refused call changes nothing, an allowed write changes something, another
organization's admin never sees this organization's ids."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, Route, World, served_routes
from tests.authz_worlds import worlds_of
from tests.conftest import Tenant
from tests.meetings.conftest import MEETINGS, schedule

CALLERS = [
    "admin",
    "hr",
    "auditor",
    "attendee",
    "organizer",
    "manager_above",
    "colleague",
    "other_employee",
    "manager_elsewhere",
    "kpi:write",
    "other_admin",
    "anonymous",
]
EMPLOYEES = {
    "attendee": "alice",
    "organizer": "lead",
    "manager_above": "boss",
    "colleague": "bob",
    "other_employee": "carol",
    "manager_elsewhere": "dave",
}
STAFF = ("admin", "hr")
WRITERS = (*STAFF, "organizer", "manager_above")
RECORDERS = (*WRITERS, "attendee")
READERS = (*RECORDERS, "auditor")
START = "2027-01-11T08:00:00Z"


def headers_for(w: World, caller: str) -> dict[str, str]:
    return authz_matrix.headers_for(w, caller, EMPLOYEES)


cells = partial(authz_matrix.cells, CALLERS)


async def build_world(team: Tenant, other: Tenant) -> World:
    t = team
    await t.add_employee("erin", manager="dave")
    meeting = await schedule(t, headers=t.employee("lead"))
    resp = await t.client.post(
        f"{MEETINGS}/{meeting['id']}/occurrences/{START}/actions",
        headers=t.employee("lead"),
        json={"owner_id": t.employees["alice"]["id"], "title": "Send the pricing memo", "due_date": "2027-01-15"},
    )
    assert resp.status_code == 201, resp.text
    w = World(tenant=t, other=other)
    w.ids = {
        "org": str(t.org_id),
        **{k: v["id"] for k, v in t.employees.items()},
        "meeting": meeting["id"],
        "action": resp.json()["id"],
    }
    return w


COLLECTION = cells(200, {"kpi:write": 403})
READ = cells(404, {READERS: 200})
SCHEDULE = cells(403, {RECORDERS: 201, "other_admin": 422})
WRITE = cells(404, {WRITERS: 200, ("auditor", "attendee"): 403})
RECORD = cells(404, {RECORDERS: 200, "auditor": 403})
ADD = cells(404, {RECORDERS: 201, "auditor": 403})
CLOSE = cells(404, {RECORDERS: 200, "auditor": 403})  # the attendee owns the action

MEETING = MEETINGS + "/{meeting}"
ACTIONS = MEETING + "/actions"
ACTION = "/api/v1/meeting-actions/{action}"
OCCURRENCES = MEETING + "/occurrences?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z"
ROUTES = [
    Route("meetings.list", "GET", MEETINGS, COLLECTION),
    Route(
        "meetings.post",
        "POST",
        MEETINGS,
        SCHEDULE,
        body={
            "kind": "one_on_one",
            "title": "Lead and Alice, mid-week",
            "attendee_ids": ["{lead}", "{alice}"],
            "starts_at": "2027-01-05T10:00:00Z",
        },
        probe=MEETINGS + "?attendee_id={alice}",
        writers=RECORDERS,
    ),
    Route("meetings.get", "GET", MEETING, READ, shows=("meeting", "alice", "lead")),
    Route("meetings.patch", "PATCH", MEETING, WRITE, body={"title": "Weekly 1:1"}, probe=MEETING, writers=WRITERS),
    Route("occurrences.list", "GET", OCCURRENCES, READ, shows=("meeting",)),
    Route("meetings.brief", "GET", MEETING + f"/brief?occurrence={START}", READ, shows=("meeting", "alice")),
    Route(
        "occurrences.held",
        "POST",
        MEETING + f"/occurrences/{START}/held",
        RECORD,
        body={"notes": "Went well"},
        probe=OCCURRENCES,
        writers=RECORDERS,
    ),
    Route(
        "occurrences.cancel",
        "POST",
        MEETING + f"/occurrences/{START}/cancel",
        RECORD,
        body={},
        probe=OCCURRENCES,
        writers=RECORDERS,
    ),
    Route(
        "actions.post",
        "POST",
        MEETING + f"/occurrences/{START}/actions",
        ADD,
        body={"owner_id": "{lead}", "title": "Book the offsite", "due_date": "2027-01-20"},
        probe=ACTIONS,
        writers=RECORDERS,
    ),
    Route("actions.list", "GET", ACTIONS, READ, shows=("action", "alice")),
    Route("action.get", "GET", ACTION, READ, shows=("action", "meeting")),
    Route("action.patch", "PATCH", ACTION, WRITE, body={"title": "Send it today"}, probe=ACTION, writers=WRITERS),
    Route(
        "action.patch_status",
        "PATCH",
        ACTION,
        CLOSE,
        body={"status": "done"},
        probe=ACTION,
        writers=RECORDERS,
    ),
]


def test_table_covers_every_route_and_caller():
    served = served_routes(lambda p: p.startswith((MEETINGS, "/api/v1/meeting-actions")))
    table = {
        (
            r.method,
            r.path.split("?")[0]
            .replace("{meeting}", "{id}")
            .replace("{action}", "{action_id}")
            .replace(START, "{start}"),
        )
        for r in ROUTES
    }
    assert served == table
    MATRIX.assert_complete()


WORLDS = worlds_of(build_world)
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, probe_ignores=("updated_at",))


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)
