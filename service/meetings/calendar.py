"""Calendar feeds: each person's private iCalendar (RFC 5545) feed of their meetings and
interviews, for Outlook, Google Calendar or Apple Calendar to subscribe to.

The feed's URL carries its token, `<organization id hex>.<secret>`: the organization part
routes the lookup to one organization (one shard on Citus), and only the SHA-256 of the
secret is stored. Making a feed again rotates it (the old URL stops working), revoking
it ends it; a bad, unknown or revoked token is a 404, as if the URL never existed. The
feed route takes no other credential: the URL is the secret, and it only reads.

A recurring meeting is one VEVENT with its RRULE as stored (never pre-expanded), its
DTSTART in the meeting's time zone (a VTIMEZONE is included), and an EXDATE for each
cancelled occurrence; a cancelled series is left out. Interviews with a time (as the
employee or the interviewer) are one-hour events."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from icalendar import Calendar, Event, vRecur
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.errors import NotFound
from service.evaluations.models import Interview
from service.kit import audit
from service.meetings import recurrence
from service.meetings import repository as repo
from service.meetings.models import CalendarFeed, Meeting
from service.meetings.schemas import CalendarFeedCreated, CalendarFeedRead
from service.types import new_id, utcnow

FEED_PATH = "/calendar/{token}.ics"
INTERVIEW_MINUTES = 60
PRODID = "-//perf-service//meetings//EN"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _me(ctx: Ctx) -> uuid.UUID:
    require(policy.manage_calendar_feed(ctx.principal), "calendar feed")
    assert ctx.principal.employee_id is not None  # the policy needs one
    return ctx.principal.employee_id


async def feed_status(ctx: Ctx) -> CalendarFeedRead:
    feed = await repo.live_feed(ctx.session, ctx.org_id, _me(ctx))
    return CalendarFeedRead(active=feed is not None, created_at=feed.created_at if feed else None)


async def _revoke(ctx: Ctx, me: uuid.UUID) -> bool:
    feed = await repo.live_feed(ctx.session, ctx.org_id, me)
    if feed is None:
        return False
    feed.revoked_at = utcnow()
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "calendar_feed.revoked", "calendar_feed", feed.id, None, None)
    return True


async def make_feed(ctx: Ctx) -> CalendarFeedCreated:
    """A new feed URL for the caller; the live one, if any, stops working."""
    me = _me(ctx)
    await _revoke(ctx, me)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(org_id=ctx.org_id, id=new_id(), employee_id=me, token_hash=_digest(secret))
    ctx.session.add(feed)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "calendar_feed.created", "calendar_feed", feed.id, None, None)
    token = f"{ctx.org_id.hex}.{secret}"
    return CalendarFeedCreated(active=True, created_at=feed.created_at, url=FEED_PATH.format(token=token))


async def revoke_feed(ctx: Ctx) -> None:
    """Ends the caller's feed; 404 when they have none."""
    if not await _revoke(ctx, _me(ctx)):
        raise NotFound("calendar feed not found")


async def _owner(session: AsyncSession, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    org_hex, _, secret = token.partition(".")
    try:
        org_id = uuid.UUID(hex=org_hex)
    except ValueError:
        raise NotFound("calendar feed not found") from None
    feed = await repo.feed_by_hash(session, org_id, _digest(secret)) if secret else None
    if feed is None:
        raise NotFound("calendar feed not found")
    return org_id, feed.employee_id


async def feed_ics(session: AsyncSession, token: str) -> bytes:
    """The iCalendar document of the feed with this token; 404 unless it is live."""
    org_id, me = await _owner(session, token)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Meetings")
    meetings = (await session.execute(repo.meetings_of(org_id, me).order_by(Meeting.starts_at))).scalars().all()
    cancelled = await repo.cancelled_starts(session, org_id, [m.id for m in meetings])
    for m in meetings:
        tz = recurrence.zone(m.timezone)
        event = Event()
        event.add("uid", f"meeting-{m.id}@perf-service")
        event.add("summary", m.title)
        event.add("categories", [m.kind])
        event.add("dtstamp", m.updated_at)
        event.add("sequence", m.version)
        event.add("dtstart", m.starts_at.astimezone(tz))
        event.add("duration", dt.timedelta(minutes=m.duration_minutes))
        if m.rrule:
            event.add("rrule", vRecur.from_ical(m.rrule))
            if exdates := cancelled.get(m.id):
                event.add("exdate", [d.astimezone(tz) for d in exdates])
        cal.add_component(event)
    interviews = await session.execute(
        select(Interview).where(
            Interview.org_id == org_id,
            Interview.scheduled_at.is_not(None),
            or_(Interview.employee_id == me, Interview.interviewer_id == me),
        )
    )
    for i in interviews.scalars():
        event = Event()
        event.add("uid", f"interview-{i.id}@perf-service")
        event.add("summary", "Performance interview")
        event.add("dtstamp", i.updated_at)
        event.add("dtstart", i.scheduled_at)
        event.add("duration", dt.timedelta(minutes=INTERVIEW_MINUTES))
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
