"""Follow-up actions of meetings: decided in an occurrence, with an owner (one of the
meeting's attendees, so they can read where it came from), a due date and a status
(open → done or cancelled). Open actions are on their owner's task list
(`meeting_action`, service/tasks) until closed.

Who: whoever records the meeting's occurrences adds actions and changes them; the owner
closes their own (`status` alone). An action is read with its meeting (404 otherwise).

`action.overdue`: an open action past its due date (the day after it, in UTC) gets one
event, from the round `overdue_round` that the webhook delivery engine runs every
`OVERDUE_EVERY` seconds (in the worker, and in the API process when it delivers
webhooks itself). The round claims each action with a conditional update of
`overdue_notified_at` (NULL → now), so two engines never send it twice, and an action
moved back to `open` with a later due date is not announced again.

Review meetings keep their improvement plan as it is (owned, dated actions with a status,
in the record's JSON, which development plans copy from): they are the quarterly review's
written record, edited as one document. Actions decided in the meeting rhythm are rows of
their own. Both are followed up alike: on their owner's task list, and announced once
when overdue by the same round (an improvement action through the row beside its plan,
service/evaluations/plan_actions.py, that holds its mark).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.db import Database, database
from service.errors import NotFound, ValidationFailed
from service.evaluations import plan_actions
from service.kit import audit, outbox
from service.kit.changes import audited, set_fields
from service.kit.etag import IfMatch
from service.kit.pagination import Page, PageParams, paginate
from service.meetings import repository as repo
from service.meetings import service as meetings
from service.meetings.events import ActionOverdue
from service.meetings.models import MeetingAction
from service.meetings.schemas import ActionCreate, ActionRead, ActionUpdate
from service.types import new_id, utcnow

ACTION = "meeting action"
OVERDUE_EVERY = 60.0  # seconds between two overdue rounds of a delivery engine
OVERDUE_BATCH = 500


def action_read(a: MeetingAction) -> ActionRead:
    return ActionRead(
        id=a.id,
        meeting_id=a.meeting_id,
        occurrence_start=a.occurrence_start,
        owner_id=a.owner_id,
        title=a.title,
        due_date=a.due_date,
        status=a.status,
        closed_at=a.closed_at,
        created_by=a.created_by,
        version=a.version,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def _snapshot(a: MeetingAction) -> dict[str, Any]:
    return action_read(a).model_dump(mode="json", exclude={"created_at", "updated_at", "version"})


async def add_action(ctx: Ctx, meeting_id: uuid.UUID, start: dt.datetime, data: ActionCreate) -> MeetingAction:
    meeting, attendees, _ = await meetings.for_recording(ctx, meeting_id)
    start = await meetings.occurrence_of(ctx, meeting, start)
    if data.owner_id not in attendees:
        raise ValidationFailed.field("owner_id", "the owner must be one of the meeting's attendees")
    action = MeetingAction(
        org_id=ctx.org_id,
        id=new_id(),
        meeting_id=meeting.id,
        occurrence_start=start,
        owner_id=data.owner_id,
        title=data.title,
        due_date=data.due_date,
        status="open",
        created_by=ctx.principal.actor,
    )
    ctx.session.add(action)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "meeting_action.created", "meeting_action", action.id, None, _snapshot(action)
    )
    return action


async def list_actions(
    ctx: Ctx, meeting_id: uuid.UUID, params: PageParams, status: str | None = None
) -> Page[MeetingAction]:
    meeting, _, _ = await meetings.get_meeting(ctx, meeting_id)
    stmt = repo.actions_of_meeting(ctx.org_id, meeting.id)
    if status is not None:
        stmt = stmt.where(MeetingAction.status == status)
    return await paginate(ctx.session, stmt, MeetingAction.id, params)


async def get_action(ctx: Ctx, action_id: uuid.UUID) -> MeetingAction:
    """The action; 404 unless the caller may read its meeting."""
    action = await ctx.session.get(MeetingAction, (ctx.org_id, action_id))
    if action is None:
        raise NotFound("meeting action not found")
    await meetings.get_meeting(ctx, action.meeting_id)
    return action


async def update_action(
    ctx: Ctx, action_id: uuid.UUID, data: ActionUpdate, expected: IfMatch | None = None
) -> MeetingAction:
    """Change an action; its owner may change `status` alone. Done or cancelled stamps
    `closed_at`; open clears it."""
    action = await get_action(ctx, action_id)
    meeting, attendees, rel = await meetings.get_meeting(ctx, action.meeting_id)
    changes = data.model_dump(exclude_unset=True)
    me = ctx.principal.employee_id
    is_owner = me is not None and not ctx.principal.is_client and action.owner_id == me
    organizer = me is not None and meeting.organizer_id == me
    require(policy.update_meeting_action(ctx.principal, rel, organizer, is_owner, set(changes) <= {"status"}), ACTION)
    if changes.get("owner_id") is not None and changes["owner_id"] not in attendees:
        raise ValidationFailed.field("owner_id", "the owner must be one of the meeting's attendees")
    old_status = action.status
    async with audited(ctx, action, "meeting_action.updated", _snapshot, expected):
        set_fields(action, changes, not_null=("owner_id", "title", "due_date", "status"))
        if action.status != old_status:
            action.closed_at = None if action.status == "open" else utcnow()
    return action


async def open_actions_of(ctx: Ctx, owner_id: uuid.UUID) -> Sequence[MeetingAction]:
    return await repo.open_actions_of(ctx.session, ctx.org_id, owner_id)


async def overdue_round(today: dt.date | None = None, *, db: Database = database) -> int:
    """Emit `action.overdue` once for each follow-up action past its due date and not
    closed: open meeting actions, then improvement actions of review meetings that are
    not done (service/evaluations/plan_actions.py); answers how many were announced. Each
    action is claimed by a conditional update, in the transaction that writes its event."""
    today = today or utcnow().date()
    sent = 0
    async with db.sessions() as session:
        for action in await repo.newly_overdue(session, today, OVERDUE_BATCH):
            if not await repo.claim_overdue(session, action):
                continue
            await outbox.emit(
                session,
                action.org_id,
                "action.overdue",
                ActionOverdue(
                    source="meeting_action",
                    action_id=action.id,
                    meeting_id=action.meeting_id,
                    review_meeting_id=None,
                    action_index=None,
                    owner_id=action.owner_id,
                    due_date=action.due_date,
                ),
            )
            sent += 1
        for item in await plan_actions.newly_overdue(session, today, OVERDUE_BATCH):
            if not await plan_actions.claim(session, item):
                continue
            await outbox.emit(
                session,
                item.org_id,
                "action.overdue",
                ActionOverdue(
                    source="improvement_action",
                    action_id=None,
                    meeting_id=None,
                    review_meeting_id=item.review_meeting_id,
                    action_index=item.action_index,
                    owner_id=item.owner_id,
                    due_date=item.due_date,
                ),
            )
            sent += 1
        await session.commit()
    return sent
