"""The follow-up state of review meetings' improvement actions (`improvement_actions`).

A review meeting's improvement plan stays the written record, JSON on the meeting, edited
as one document. Beside it, one row per action holds what following it up needs, with
indexes: its owner, due date and status (the owner's task list finds their actions by
owner, the overdue round by due date) and `overdue_notified_at`.

An action is identified by its position in the plan (`action_index`, from 0), as a
development item copied from it names its source. `sync` rewrites a meeting's rows
whenever its plan is written; an action that keeps its position and its owner keeps its
`overdue_notified_at`, so editing its text, status or due date does not announce it
again (like a meeting action moved back to open), while a different owner at that
position is a different action, announced when it is overdue in turn."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.evaluations.models import ImprovementActionState, ReviewMeeting
from service.types import utcnow

DONE = "done"


def rows_of(org_id: uuid.UUID, meeting_id: uuid.UUID, plan: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a plan, without their overdue marks."""
    return [
        {
            "org_id": org_id,
            "review_meeting_id": meeting_id,
            "action_index": n,
            "owner_id": uuid.UUID(str(a["owner_id"])),
            "due_date": dt.date.fromisoformat(str(a["due_date"])),
            "status": str(a.get("status") or "open"),
            "overdue_notified_at": None,
        }
        for n, a in enumerate(plan)
    ]


async def sync(session: AsyncSession, meeting: ReviewMeeting) -> None:
    """Rewrite the meeting's rows from its plan, keeping the overdue mark of each action
    whose position and owner are unchanged."""
    t = ImprovementActionState.__table__
    mine = (t.c.org_id == meeting.org_id, t.c.review_meeting_id == meeting.id)
    # Every row locked, in position order as the round claims them (so neither waits on
    # the other in a circle): a round claiming one meanwhile waits, then finds it gone
    # (and the next round finds its successor, marked as it was).
    current = await session.execute(
        select(t.c.action_index, t.c.owner_id, t.c.overdue_notified_at)
        .where(*mine)
        .order_by(t.c.action_index)
        .with_for_update()
    )
    marks = {(index, owner): notified for index, owner, notified in current.all() if notified is not None}
    rows = rows_of(meeting.org_id, meeting.id, meeting.improvement_plan or [])
    for row in rows:
        row["overdue_notified_at"] = marks.get((row["action_index"], row["owner_id"]))
    await session.execute(delete(t).where(*mine))
    if rows:
        await session.execute(insert(t), rows)


async def newly_overdue(session: AsyncSession, today: dt.date, limit: int) -> Sequence[ImprovementActionState]:
    """Actions not done, past due and not yet announced, of every organization (the
    worker's round), in plan order: a meeting's actions are claimed by position, the
    order `sync` locks them in."""
    a = ImprovementActionState
    stmt = (
        select(a)
        .where(a.status != DONE, a.due_date < today, a.overdue_notified_at.is_(None))
        .order_by(a.org_id, a.review_meeting_id, a.action_index)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def claim(session: AsyncSession, action: ImprovementActionState) -> bool:
    """Mark the action announced unless another round did, or it was done meanwhile."""
    a = ImprovementActionState
    result = await session.execute(
        update(a)
        .where(
            a.org_id == action.org_id,
            a.review_meeting_id == action.review_meeting_id,
            a.action_index == action.action_index,
            a.owner_id == action.owner_id,
            a.overdue_notified_at.is_(None),
            a.status != DONE,
        )
        .values(overdue_notified_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1
