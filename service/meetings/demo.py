"""The demo organization's week of rhythm (docs/meetings.md): the E-commerce Growth team
(Alan Kay, E006, with Mei Chen, E008, and Tomas Novak, E009) in the week of 16 November
2026 — a stand-up every weekday, the Monday team meeting with its decisions and two
follow-up actions (Mei's done, Tomas's still open, so it sits on his task list and in the
next briefs), Alan's weekly one-on-ones with each of them, and Ada Lovelace's (E002) Q4
quarterly review with her two team leads, still to come. Written through the meetings
service, as a manager would; idempotent: nothing is added once the stand-up is there."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.meetings import actions, service
from service.meetings.models import Meeting
from service.meetings.schemas import ActionCreate, ActionUpdate, MeetingCreate, OccurrenceRecord
from service.principal import Principal

STANDUP = "Growth stand-up"
ZONE = "America/New_York"
WEEK = dt.date(2026, 11, 16)  # a Monday


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(ZONE)).astimezone(dt.UTC)


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    found = await session.execute(select(Meeting.id).where(Meeting.org_id == org_id, Meeting.title == STANDUP))
    if found.first() is not None:
        return

    def as_(key: str) -> Ctx:
        principal = Principal(
            sub=f"demo:{key}",
            org_id=org_id,
            kind="person",
            roles=frozenset({"employee"}),
            employee_id=make_id(f"emp:{key}"),
        )
        return Ctx(session=session, principal=principal)

    alan, ada = as_("E006"), as_("E002")
    mei, tomas = make_id("emp:E008"), make_id("emp:E009")
    standup = await service.create_meeting(
        alan,
        MeetingCreate(
            kind="standup",
            title=STANDUP,
            department_id=make_id("dep:ecom-growth"),
            starts_at=_at(WEEK, 9, 15),
            duration_minutes=15,
            timezone=ZONE,
            rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
        ),
    )
    notes = [
        "Mei: live-show rundown; Tomas: checkout test; no blockers",
        "Tomas blocked on the tracking pixel: Alan pairs with him",
        "Checkout test back up; Mei books the guest for Friday",
        "Order volume up 8% since Monday",
        "Friday live show went out; retro on Monday",
    ]
    for i, text in enumerate(notes):
        await service.record_occurrence(
            alan, standup.id, _at(WEEK + dt.timedelta(days=i), 9, 15), "held", OccurrenceRecord(notes=text)
        )

    weekly = await service.create_meeting(
        alan,
        MeetingCreate(
            kind="weekly",
            title="Growth weekly",
            department_id=make_id("dep:ecom-growth"),
            starts_at=_at(WEEK, 10),
            duration_minutes=60,
            timezone=ZONE,
            rrule="FREQ=WEEKLY;BYDAY=MO",
        ),
    )
    await service.record_occurrence(
        alan,
        weekly.id,
        _at(WEEK, 10),
        "held",
        OccurrenceRecord(
            notes="Conversion key result is behind pace; the live show is ahead.",
            decisions="Fix the checkout test's tracking before changing the page again; a rundown for every show.",
        ),
    )
    for owner, title, due, done in (
        (mei, "Draft the live-show rundown template", dt.date(2026, 11, 20), True),
        (tomas, "Fix the checkout A/B test tracking", dt.date(2026, 11, 27), False),
    ):
        action = await actions.add_action(
            alan, weekly.id, _at(WEEK, 10), ActionCreate(owner_id=owner, title=title, due_date=due)
        )
        if done:
            await actions.update_action(alan, action.id, ActionUpdate(status="done"))

    for report, weekday, hour in ((mei, 2, 14), (tomas, 3, 14)):
        pair = await service.create_meeting(
            alan,
            MeetingCreate(
                kind="one_on_one",
                title="Alan and " + ("Mei" if report == mei else "Tomas"),
                attendee_ids=[make_id("emp:E006"), report],
                starts_at=_at(WEEK + dt.timedelta(days=weekday), hour),
                duration_minutes=30,
                timezone=ZONE,
                rrule="FREQ=WEEKLY",
            ),
        )
        await service.record_occurrence(
            alan,
            pair.id,
            _at(WEEK + dt.timedelta(days=weekday), hour),
            "held",
            OccurrenceRecord(notes="Objectives and last check-ins walked through; feedback from the live show shared."),
        )

    await service.create_meeting(
        ada,
        MeetingCreate(
            kind="quarterly_review",
            title="E-commerce Q4 review",
            attendee_ids=[make_id("emp:E002"), make_id("emp:E006"), make_id("emp:E007")],
            cycle_id=make_id("cycle:FY2026-Q4"),
            starts_at=_at(dt.date(2026, 12, 18), 15),
            duration_minutes=90,
            timezone=ZONE,
        ),
    )
