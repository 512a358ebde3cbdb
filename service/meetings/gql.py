"""GraphQL adapter of meetings: thin queries and mutations over the same services as
REST (meetings, their occurrences for a window, follow-up actions)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry

from service.briefs.gql import BriefType
from service.graphql.common import (
    JSON,
    VERSION,
    Connection,
    Context,
    connection,
    described,
    enum_field,
    enum_type,
    fill,
    input_dict,
    nodes_connection,
    page_params,
    plain,
    validate_input,
)
from service.graphql.nodes import Entity, NodeKey, by_service, ref, ref_field
from service.kit.etag import IfMatch
from service.meetings import actions, brief, service
from service.meetings import schemas as rest
from service.meetings.models import Meeting
from service.meetings.schemas import ActionStatus, MeetingKind, MeetingStatus, OccurrenceStatus

MeetingKindEnum = enum_type("MeetingKind", MeetingKind, "What rhythm a meeting belongs to")
MeetingStatusEnum = enum_type("MeetingStatus", MeetingStatus, "Whether a meeting (a series) is on")
OccurrenceStatusEnum = enum_type("OccurrenceStatus", OccurrenceStatus, "What became of one occurrence of a meeting")
MeetingActionStatusEnum = enum_type("MeetingActionStatus", ActionStatus, "Where a meeting's follow-up action is")


@described(rest.MeetingRead)
@strawberry.type(name="Meeting")
class MeetingType(Entity):
    kind: str = enum_field(MeetingKindEnum)
    title: str
    department_id: uuid.UUID | None
    attendee_ids: list[uuid.UUID]
    organizer_id: uuid.UUID | None
    cycle_id: uuid.UUID | None
    review_meeting_id: uuid.UUID | None
    starts_at: dt.datetime
    duration_minutes: int
    timezone: str
    rrule: str | None
    status: str = enum_field(MeetingStatusEnum)
    created_by: str
    version: int = strawberry.field(description=VERSION)
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def of(read: rest.MeetingRead) -> MeetingType:
        return fill(MeetingType, read)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[MeetingType | None]:
        async def fetch(key: NodeKey) -> MeetingType:
            meeting, _, _ = await service.get_meeting(info.context.ctx, key.id)
            return (await _types(info, [meeting]))[0]

        return await by_service(keys, fetch)


async def _types(info: Context, meetings: Sequence[Meeting]) -> list[MeetingType]:
    return [MeetingType.of(r) for r in await service.reads(info.context.ctx, meetings)]


@described(rest.OccurrenceRead)
@strawberry.type(name="MeetingOccurrence")
class OccurrenceType:
    meeting_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str = enum_field(OccurrenceStatusEnum)
    notes: str | None
    decisions: str | None
    recorded_by: str | None
    recorded_at: dt.datetime | None

    @staticmethod
    def of(read: rest.OccurrenceRead) -> OccurrenceType:
        return fill(OccurrenceType, read)


@described(rest.ActionRead)
@strawberry.type(name="MeetingAction")
class MeetingActionType(Entity):
    meeting_id: uuid.UUID
    occurrence_start: dt.datetime
    owner_id: uuid.UUID
    title: str
    due_date: dt.date
    status: str = enum_field(MeetingActionStatusEnum)
    closed_at: dt.datetime | None
    created_by: str
    version: int = strawberry.field(description=VERSION)
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def of(read: rest.ActionRead) -> MeetingActionType:
        return fill(MeetingActionType, read)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[MeetingActionType | None]:
        async def fetch(key: NodeKey) -> MeetingActionType:
            return MeetingActionType.of(actions.action_read(await actions.get_action(info.context.ctx, key.id)))

        return await by_service(keys, fetch)


# --- inputs ----------------------------------------------------------------------------------------


@described(rest.MeetingCreate, rest.MeetingRead)
@strawberry.input(description="The fields of a meeting to schedule, or to change (a field left out keeps its value)")
class MeetingInput:
    kind: str | None = enum_field(MeetingKindEnum | None, default=strawberry.UNSET)
    title: str | None = strawberry.UNSET
    department_id: strawberry.ID | None = ref_field("Department")
    attendee_ids: list[strawberry.ID] | None = strawberry.UNSET
    organizer_id: strawberry.ID | None = ref_field("Employee")
    cycle_id: strawberry.ID | None = ref_field("Cycle")
    review_meeting_id: strawberry.ID | None = ref_field("ReviewMeeting")
    starts_at: dt.datetime | None = strawberry.UNSET
    duration_minutes: int | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    rrule: str | None = strawberry.UNSET
    status: str | None = enum_field(MeetingStatusEnum | None, default=strawberry.UNSET)


@described(rest.OccurrenceRecord, rest.OccurrenceRead)
@strawberry.input(description="What to record of an occurrence")
class OccurrenceInput:
    notes: str | None = strawberry.UNSET
    decisions: str | None = strawberry.UNSET


@described(rest.ActionCreate, rest.ActionRead)
@strawberry.input(
    description="The fields of a follow-up action to add, or to change (a field left out keeps its value)"
)
class MeetingActionInput:
    owner_id: strawberry.ID | None = ref_field("Employee")
    title: str | None = strawberry.UNSET
    due_date: dt.date | None = strawberry.UNSET
    status: str | None = enum_field(MeetingActionStatusEnum | None, default=strawberry.UNSET)


def _attendees(data: dict[str, Any]) -> dict[str, Any]:
    if isinstance(data.get("attendee_ids"), list):
        data["attendee_ids"] = [
            ref(v, "Employee", loc=["input", "attendeeIds", i]) for i, v in enumerate(data["attendee_ids"])
        ]
    return data


MeetingIdArg = Annotated[strawberry.ID, strawberry.argument(description="The meeting's id")]
StartArg = Annotated[
    dt.datetime, strawberry.argument(description="The occurrence's start (as the occurrences give it)")
]


# --- queries and mutations ---------------------------------------------------------------------------


@described(filters=True)
@strawberry.type
class MeetingQuery:
    @strawberry.field(description="The meetings the caller may read, a page at a time")
    async def meetings(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        kind: Annotated[str | None, strawberry.argument(graphql_type=MeetingKindEnum | None)] = None,
        department_id: strawberry.ID | None = None,
        attendee_id: strawberry.ID | None = None,
        cycle_id: strawberry.ID | None = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=MeetingStatusEnum | None)] = None,
    ) -> Connection[MeetingType]:
        params = page_params(first, after, last, before)
        page = await service.list_meetings(
            info.context.ctx,
            params,
            kind=plain(kind),
            department_id=ref(department_id, "Department", loc=["departmentId"]),
            attendee_id=ref(attendee_id, "Employee", loc=["attendeeId"]),
            cycle_id=ref(cycle_id, "Cycle", loc=["cycleId"]),
            status=plain(status),
        )
        return nodes_connection(page, await _types(info, page.items), params)

    @strawberry.field(
        description="The occurrences of a meeting starting in a window of at most 366 days "
        "(`from` inclusive, `to` exclusive)"
    )
    async def meeting_occurrences(
        self,
        info: Context,
        meeting_id: MeetingIdArg,
        from_: Annotated[dt.datetime, strawberry.argument(name="from", description="The window's start")],
        to: Annotated[dt.datetime, strawberry.argument(description="The window's end")],
    ) -> list[OccurrenceType]:
        reads = await service.occurrences(info.context.ctx, ref(meeting_id, MeetingType, loc=["meetingId"]), from_, to)
        return [OccurrenceType.of(r) for r in reads]

    @strawberry.field(
        description="The brief of an occurrence of a meeting, built by its kind (a stand-up's or weekly "
        "meeting's team brief, a one-on-one's, a quarterly review's). REST: GET /api/v1/meetings/{id}/brief"
    )
    async def meeting_brief(
        self,
        info: Context,
        meeting_id: MeetingIdArg,
        occurrence: Annotated[
            dt.datetime | None,
            strawberry.argument(description="The occurrence's start (default: the next one from now)"),
        ] = None,
    ) -> BriefType:
        found = await brief.meeting_brief(info.context.ctx, ref(meeting_id, MeetingType, loc=["meetingId"]), occurrence)
        return BriefType(
            kind=found.kind,
            document=JSON(found.model_dump(mode="json", by_alias=True)),
            markdown=brief.markdown(found),
        )

    @strawberry.field(description="The follow-up actions of a meeting, a page at a time")
    async def meeting_actions(
        self,
        info: Context,
        meeting_id: MeetingIdArg,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=MeetingActionStatusEnum | None)] = None,
    ) -> Connection[MeetingActionType]:
        params = page_params(first, after, last, before)
        meeting = ref(meeting_id, MeetingType, loc=["meetingId"])
        page = await actions.list_actions(info.context.ctx, meeting, params, plain(status))
        return connection(page, lambda a: MeetingActionType.of(actions.action_read(a)), params)


@described()
@strawberry.type
class MeetingMutation:
    @strawberry.mutation(description="Schedules a meeting (a single one, or a series with `rrule`)")
    async def schedule_meeting(self, info: Context, input: MeetingInput) -> MeetingType:
        data = validate_input(rest.MeetingCreate, _attendees(input_dict(input)))
        return (await _types(info, [await service.create_meeting(info.context.ctx, data)]))[0]

    @strawberry.mutation(description="Changes a meeting")
    async def update_meeting(
        self, info: Context, id: strawberry.ID, input: MeetingInput, expected_version: int | None = None
    ) -> MeetingType:
        data = validate_input(rest.MeetingUpdate, _attendees(input_dict(input)))
        meeting = await service.update_meeting(
            info.context.ctx, ref(id, MeetingType), data, expected=IfMatch.of(expected_version)
        )
        return (await _types(info, [meeting]))[0]

    @strawberry.mutation(description="Records an occurrence of a meeting as held, with its notes and decisions")
    async def hold_meeting_occurrence(
        self, info: Context, meeting_id: MeetingIdArg, start: StartArg, input: OccurrenceInput | None = None
    ) -> OccurrenceType:
        data = validate_input(rest.OccurrenceRecord, input_dict(input) if input is not None else {})
        meeting = ref(meeting_id, MeetingType, loc=["meetingId"])
        return OccurrenceType.of(await service.record_occurrence(info.context.ctx, meeting, start, "held", data))

    @strawberry.mutation(description="Cancels an occurrence of a meeting")
    async def cancel_meeting_occurrence(
        self, info: Context, meeting_id: MeetingIdArg, start: StartArg, input: OccurrenceInput | None = None
    ) -> OccurrenceType:
        data = validate_input(rest.OccurrenceRecord, input_dict(input) if input is not None else {})
        meeting = ref(meeting_id, MeetingType, loc=["meetingId"])
        return OccurrenceType.of(await service.record_occurrence(info.context.ctx, meeting, start, "cancelled", data))

    @strawberry.mutation(description="Adds a follow-up action decided in an occurrence of a meeting")
    async def add_meeting_action(
        self, info: Context, meeting_id: MeetingIdArg, start: StartArg, input: MeetingActionInput
    ) -> MeetingActionType:
        data = validate_input(rest.ActionCreate, input_dict(input))
        meeting = ref(meeting_id, MeetingType, loc=["meetingId"])
        action = await actions.add_action(info.context.ctx, meeting, start, data)
        return MeetingActionType.of(actions.action_read(action))

    @strawberry.mutation(description="Changes a follow-up action; its owner may change its status alone")
    async def update_meeting_action(
        self, info: Context, id: strawberry.ID, input: MeetingActionInput, expected_version: int | None = None
    ) -> MeetingActionType:
        data = validate_input(rest.ActionUpdate, input_dict(input))
        action = await actions.update_action(
            info.context.ctx, ref(id, MeetingActionType), data, expected=IfMatch.of(expected_version)
        )
        return MeetingActionType.of(actions.action_read(action))
