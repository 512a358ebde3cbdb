"""Meetings over GraphQL: the same use cases as REST (schedule, the list, `node`,
occurrences of a window, holding one, follow-up actions closed by their owner), errors
shaped like REST's."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.meetings.conftest import WEEKLY

MEETING = "id databaseId kind title attendeeIds organizerId startsAt timezone rrule status version"


async def gql(t: Tenant, query: str, headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    resp = await t.client.post("/graphql", headers=headers or t.hr, json={"query": query, "variables": variables})
    assert resp.status_code == 200, resp.text
    return resp.json()


def status_of(body: dict[str, Any]) -> int:
    return body["errors"][0]["extensions"]["status"]


async def test_a_meeting_run_through_graphql(team: Tenant):
    t = team
    lead, alice = t.employees["lead"]["id"], t.employees["alice"]["id"]
    made = await gql(
        t,
        f"mutation($input: MeetingInput!) {{ scheduleMeeting(input: $input) {{ {MEETING} }} }}",
        t.employee("lead"),
        input={
            "kind": "ONE_ON_ONE",
            "title": "Lead and Alice",
            "attendeeIds": [alice, lead],
            "startsAt": "2027-01-04T09:00:00+01:00",
            "timezone": "Europe/Paris",
            "rrule": WEEKLY,
        },
    )
    meeting = made["data"]["scheduleMeeting"]
    assert meeting["kind"] == "ONE_ON_ONE" and meeting["attendeeIds"] == [lead, alice]
    assert meeting["status"] == "SCHEDULED" and meeting["organizerId"] == lead

    listed = await gql(t, "{ meetings(first: 5, kind: ONE_ON_ONE) { nodes { databaseId } } }", t.employee("boss"))
    assert listed["data"]["meetings"]["nodes"] == [{"databaseId": meeting["databaseId"]}]
    hidden = await gql(t, "{ meetings(first: 5) { nodes { databaseId } } }", t.employee("carol"))
    assert hidden["data"]["meetings"]["nodes"] == []
    node = await gql(
        t, "query($id: ID!) { node(id: $id) { ... on Meeting { title } } }", t.employee("carol"), id=meeting["id"]
    )
    assert node["data"]["node"] is None

    occurrences = await gql(
        t,
        'query($m: ID!) { meetingOccurrences(meetingId: $m, from: "2027-01-01T00:00:00Z", '
        'to: "2027-01-20T00:00:00Z") { startsAt status } }',
        t.employee("alice"),
        m=meeting["id"],
    )
    starts = [o["startsAt"] for o in occurrences["data"]["meetingOccurrences"]]
    assert len(starts) == 3 and starts[0].startswith("2027-01-04T08:00:00")
    too_wide = await gql(
        t,
        'query($m: ID!) { meetingOccurrences(meetingId: $m, from: "2027-01-01T00:00:00Z", '
        'to: "2029-01-01T00:00:00Z") { startsAt } }',
        m=meeting["id"],
    )
    assert status_of(too_wide) == 422

    held = await gql(
        t,
        "mutation($m: ID!, $input: OccurrenceInput) { holdMeetingOccurrence(meetingId: $m, "
        'start: "2027-01-11T08:00:00Z", input: $input) { status decisions } }',
        t.employee("alice"),
        m=meeting["id"],
        input={"decisions": "Ship the pilot"},
    )
    assert held["data"]["holdMeetingOccurrence"] == {"status": "HELD", "decisions": "Ship the pilot"}

    added = await gql(
        t,
        "mutation($m: ID!, $input: MeetingActionInput!) { addMeetingAction(meetingId: $m, "
        'start: "2027-01-11T08:00:00Z", input: $input) { id databaseId status ownerId } }',
        t.employee("lead"),
        m=meeting["id"],
        input={"ownerId": alice, "title": "Write the pilot memo", "dueDate": "2027-01-15"},
    )
    action = added["data"]["addMeetingAction"]
    assert action["status"] == "OPEN" and action["ownerId"] == alice
    refused = await gql(
        t,
        "mutation($id: ID!, $input: MeetingActionInput!) { updateMeetingAction(id: $id, input: $input) { id } }",
        t.employee("alice"),
        id=action["id"],
        input={"title": "Another"},
    )
    assert status_of(refused) == 403
    done = await gql(
        t,
        "mutation($id: ID!, $input: MeetingActionInput!) { updateMeetingAction(id: $id, input: $input, "
        "expectedVersion: 1) { status closedAt } }",
        t.employee("alice"),
        id=action["id"],
        input={"status": "DONE"},
    )
    assert done["data"]["updateMeetingAction"]["status"] == "DONE"
    listed_actions = await gql(
        t,
        "query($m: ID!) { meetingActions(meetingId: $m, first: 5) { nodes { databaseId status } } }",
        m=meeting["id"],
    )
    assert listed_actions["data"]["meetingActions"]["nodes"] == [{"databaseId": action["databaseId"], "status": "DONE"}]

    stale = await gql(
        t,
        "mutation($id: ID!, $input: MeetingInput!) { updateMeeting(id: $id, input: $input, "
        "expectedVersion: 9) { id } }",
        id=meeting["id"],
        input={"title": "1:1"},
    )
    assert status_of(stale) == 412
    cancelled = await gql(
        t,
        "mutation($id: ID!, $input: MeetingInput!) { updateMeeting(id: $id, input: $input) { status } }",
        id=meeting["id"],
        input={"status": "CANCELLED"},
    )
    assert cancelled["data"]["updateMeeting"]["status"] == "CANCELLED"
    late = await gql(
        t,
        'mutation($m: ID!) { cancelMeetingOccurrence(meetingId: $m, start: "2027-01-18T08:00:00Z") { status } }',
        m=meeting["id"],
    )
    assert status_of(late) == 409
