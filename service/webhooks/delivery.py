"""The delivery engine: outbox events in, signed HTTP requests out, at least once.

Two steps, each its own short transaction, and no transaction is open during HTTP:

1. Fan-out: claim unpublished rows of `outbox_events`, write one `webhook_deliveries`
   row per matching active subscription (status `pending`, due now), and mark the event
   published, all in one transaction. A process dying midway rolls it back, so the event
   is fanned out later, exactly once (a unique key on (subscription, event) backs this).
2. Delivery: claim due deliveries by setting a lease (`claimed_until`, `claim_token`) and
   committing; then make the attempt; then acknowledge it in a new transaction that only
   applies when the claim token still matches. A worker that dies between claim and
   acknowledgement leaves a lease that expires, after which the delivery is due again and
   another worker sends it (the receiver may see it twice; `webhook-id` lets it tell).

Both steps work one organization at a time. A round first asks which organizations have
work (unpublished events; due deliveries): a plain read across organizations, grouped by
organization, without row locks, longest waiting first, at most `orgs_per_round` of them.
Then it claims per organization, `org_id = :org` in every statement of the claim's
transaction, each organization taking an equal share of the round's batch (what quiet
ones leave goes to the busy ones), so one busy organization cannot starve the others. On
Citus, where every table is distributed by organization, such a claim routes to one
shard, which is what `FOR UPDATE` needs there; the discovery read is the only statement
that fans out (docs/webhooks.md, "On Citus").

On PostgreSQL the claims use `SELECT ... FOR UPDATE SKIP LOCKED`, so any number of
workers (`python -m service worker`) share the work without waiting on each other and
never claim the same row. SQLite has no row locks: there the claim is one `UPDATE ...
WHERE id IN (SELECT ...)`, which SQLite runs under its single writer lock, and the engine
runs inside the API process (`inprocess()`, started from the app's lifespan).

Retries follow the Standard Webhooks schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h, each delay with random jitter (default +/-20%); after the last attempt the
delivery is `dead`. A 429, 502 or 504 with `Retry-After` (seconds or an HTTP date, capped)
is not retried before that time. A 410 kills the delivery and disables the subscription.
A subscription is also disabled after N dead deliveries in a row or when every attempt
for it has failed for a sustained period (default 5 days). Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import json
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy import ColumnElement, CursorResult, Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service import __version__
from service.config import Settings, get_settings
from service.db import Database, database
from service.kit import audit
from service.kit.models import OutboxEvent
from service.meetings.actions import OVERDUE_EVERY, overdue_round
from service.observability import JOB_DURATION, continued_span, instrument_httpx
from service.org.models import DEFAULT_ORG_SETTINGS, Organization
from service.principal import Principal
from service.types import new_id, utcnow
from service.webhooks import signing, urls
from service.webhooks.models import (
    DUE_STATUSES,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
)

log = structlog.get_logger("service.webhooks")

# Seconds to wait before attempt 1, 2, ... 8 (Standard Webhooks' suggested schedule).
SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
RETRY_AFTER_STATUSES = frozenset({429, 502, 504})
MAX_EXCERPT_CHARS = 1000
_READ_BYTES = 4 * MAX_EXCERPT_CHARS  # enough for 1,000 characters of UTF-8
USER_AGENT = f"perf-service-webhooks/{__version__}"

ATTEMPTS = Counter("webhook_delivery_attempts_total", "Webhook delivery attempts", ["outcome"])


@dataclass(frozen=True)
class DeliveryConfig:
    batch_size: int = 20  # deliveries claimed per round, over all organizations
    outbox_batch_size: int = 200  # outbox events fanned out per round, over all organizations
    orgs_per_round: int = 50  # organizations served per round, longest waiting first
    lease_seconds: float = 60.0
    connect_timeout: float = 5.0
    total_timeout: float = 15.0
    retry_scale: float = 1.0
    retry_jitter: float = 0.2
    retry_after_max: float = 36000.0
    disable_after_dead: int = 5
    disable_after_failing_seconds: float = 5 * 86400.0
    poll_seconds: float = 1.0
    org_id: uuid.UUID | None = None  # work for one organization only (tests, tools)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> DeliveryConfig:
        s = settings or get_settings()
        config = cls(
            batch_size=s.webhook_batch_size,
            orgs_per_round=s.webhook_orgs_per_round,
            lease_seconds=s.webhook_lease_seconds,
            connect_timeout=s.webhook_connect_timeout_seconds,
            total_timeout=s.webhook_timeout_seconds,
            retry_scale=s.webhook_retry_scale,
            retry_jitter=s.webhook_retry_jitter,
            retry_after_max=s.webhook_retry_after_max_seconds,
            disable_after_dead=s.webhook_disable_after_dead,
            disable_after_failing_seconds=s.webhook_disable_after_failing_seconds,
            poll_seconds=s.webhook_poll_seconds,
        )
        return replace(config, **overrides)

    @property
    def lease(self) -> dt.timedelta:
        """A claim outlives the longest possible attempt, so a live worker never loses it."""
        return dt.timedelta(seconds=max(self.lease_seconds, self.total_timeout + 1.0))


# --- pure rules ----------------------------------------------------------------------------


def retry_delay(failures: int, config: DeliveryConfig, rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after `failures` failed attempts of the current
    schedule, or None when the schedule is exhausted."""
    if failures >= len(SCHEDULE):
        return None
    jitter = (rng or random).uniform(-config.retry_jitter, config.retry_jitter)
    return max(0.0, SCHEDULE[failures] * config.retry_scale * (1 + jitter))


def parse_retry_after(value: str | None, now: dt.datetime, cap: float) -> float | None:
    """`Retry-After` as seconds from now (delta-seconds or HTTP date), capped; None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), cap)


def payload_body(event_type: str, created_at: dt.datetime, data: dict[str, Any]) -> str:
    """The JSON body every attempt of a delivery sends, byte for byte."""
    timestamp = created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def share(budget: int, orgs: int) -> int:
    """What one organization may take of a round's `budget` when `orgs` organizations have
    work: an equal part, rounded up (so a budget smaller than the organizations serves the
    longest waiting ones, one item each)."""
    return max(1, -(-budget // max(orgs, 1)))


async def spread(orgs: list[uuid.UUID], budget: int, take: Callable[[uuid.UUID, int], Awaitable[int]]) -> int:
    """Hand out up to `budget` items over `orgs` (longest waiting first): each takes an
    equal share (`take(org, n)` answers how many it took); what the organizations with
    less work leave goes, in further equal passes, to those that took their full share.
    Every call but an organization's last takes at least one item, so a round makes at
    most `budget + len(orgs)` calls. Answers the items taken."""
    taken = 0
    active = list(orgs)
    while active and taken < budget:
        each = share(budget - taken, len(active))
        full = []
        for org_id in active:
            if taken >= budget:
                break
            want = min(each, budget - taken)
            got = await take(org_id, want)
            taken += got
            if got == want:
                full.append(org_id)
        active = full
    return taken


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what moves between the steps ----------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds the lease of, with what the attempt needs."""

    org_id: uuid.UUID
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    token: str
    webhook_id: str
    body: str
    url: str
    secrets: tuple[str, ...] = field(repr=False)
    attempts: int
    schedule_step: int
    allow_private: bool
    traceparent: str | None = None  # of the request that wrote the event (tracing)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None
    excerpt: str | None
    retry_after: float | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def _system(org_id: uuid.UUID) -> Principal:
    """Whom the audit log names for what the engine does on its own."""
    return Principal(sub="webhook-delivery", org_id=org_id, kind="system")


class Dispatcher:
    """Fans out the outbox and delivers due deliveries; safe to run in many processes."""

    def __init__(
        self,
        config: DeliveryConfig | None = None,
        *,
        db: Database = database,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or DeliveryConfig.from_settings()
        self.db = db
        self._transport = transport
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None

    # --- lifecycle --------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            c = self.config
            self._client = instrument_httpx(
                httpx.AsyncClient(
                    transport=self._transport,
                    follow_redirects=False,
                    trust_env=False,
                    timeout=httpx.Timeout(c.total_timeout, connect=c.connect_timeout),
                    headers={"User-Agent": USER_AGENT},
                )
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> int:
        """One round: fan out what the outbox holds, deliver one batch of due deliveries.
        Returns how much work was found (0: nothing to do right now)."""
        fanned = await self.fan_out()
        claims = await self.claim()
        if claims:
            # Every attempt of the round finishes before the round does (graceful stop);
            # an unexpected error surfaces afterwards, and its delivery's lease expires.
            outcomes = await asyncio.gather(*(self.deliver(c) for c in claims), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        return fanned + len(claims)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; a round in progress finishes (graceful shutdown).
        Every `OVERDUE_EVERY` seconds, also the round that announces overdue meeting
        actions (service/meetings/actions.py), so it runs wherever events are delivered."""
        next_overdue = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_overdue:
                next_overdue = time.monotonic() + OVERDUE_EVERY
                try:
                    await overdue_round(db=self.db)
                except Exception:
                    log.exception("overdue_round_failed")
            try:
                worked = await self.run_once()
            except Exception:  # the database may be away for a moment: log, wait, go on
                log.exception("webhook_round_failed")
                worked = 0
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.poll_seconds)

    # --- fan-out ------------------------------------------------------------------------

    def _dialect(self, session: AsyncSession) -> str:
        return session.get_bind().dialect.name

    async def _organizations(self, pending: Select[uuid.UUID]) -> list[uuid.UUID]:
        """The organizations a round serves: the configured one, or those `pending` finds
        (a read grouped by organization, longest waiting first, without row locks)."""
        if self.config.org_id is not None:
            return [self.config.org_id]
        async with self.db.sessions() as session, session.begin():
            return list((await session.execute(pending.limit(self.config.orgs_per_round))).scalars())

    def _unpublished_orgs(self) -> Select[uuid.UUID]:
        return (
            select(OutboxEvent.org_id)
            .where(OutboxEvent.published_at.is_(None))
            .group_by(OutboxEvent.org_id)
            .order_by(func.min(OutboxEvent.created_at), OutboxEvent.org_id)
        )

    async def fan_out(self) -> int:
        """Turn unpublished outbox events into deliveries, organization by organization,
        shared out by `spread`; returns events handled (at most `outbox_batch_size`)."""
        orgs = await self._organizations(self._unpublished_orgs())
        written: list[int] = []

        async def take(org_id: uuid.UUID, limit: int) -> int:
            events, deliveries = await self._fan_out_org(org_id, limit)
            written.append(deliveries)
            return events

        events = await spread(orgs, self.config.outbox_batch_size, take)
        if sum(written):
            log.info("webhook_fan_out", events=events, deliveries=sum(written), organizations=len(orgs))
        return events

    async def _fan_out_org(self, org_id: uuid.UUID, limit: int) -> tuple[int, int]:
        """One organization's oldest unpublished events, up to `limit`, fanned out in one
        transaction that names the organization in every statement (one shard on Citus).
        Returns (events, deliveries written)."""
        now = utcnow()
        E = OutboxEvent
        pending = (
            select(E.id).where(E.org_id == org_id, E.published_at.is_(None)).order_by(E.created_at, E.id).limit(limit)
        )
        async with self.db.sessions() as session, session.begin():
            if self._dialect(session) == "postgresql":
                ids = list((await session.execute(pending.with_for_update(skip_locked=True))).scalars())
                if not ids:
                    return 0, 0
                await session.execute(update(E).where(E.org_id == org_id, E.id.in_(ids)).values(published_at=now))
            else:  # one statement, so it runs under SQLite's writer lock from the start
                ids = list(
                    (
                        await session.execute(
                            update(E)
                            .where(E.org_id == org_id, E.id.in_(pending.scalar_subquery()))
                            .values(published_at=now)
                            .returning(E.id)
                        )
                    ).scalars()
                )
                if not ids:
                    return 0, 0
            events = (await session.execute(select(E).where(E.org_id == org_id, E.id.in_(ids)))).scalars().all()
            subs = [
                (sub_id, list(sub_events or []))
                for sub_id, sub_events in (
                    await session.execute(
                        select(WebhookSubscription.id, WebhookSubscription.events).where(
                            WebhookSubscription.org_id == org_id, WebhookSubscription.active.is_(True)
                        )
                    )
                ).all()
            ]
            rows = []
            for event in sorted(events, key=lambda e: (e.created_at, e.id)):
                body = None
                for sub_id, sub_events in subs:
                    if event.event_type not in sub_events:
                        continue
                    body = body or payload_body(event.event_type, event.created_at, event.payload)
                    rows.append(
                        {
                            "org_id": org_id,
                            "id": new_id(),
                            "subscription_id": sub_id,
                            "event_id": event.id,
                            "event_type": event.event_type,
                            "body": body,
                            "status": "pending",
                            "attempts": 0,
                            "schedule_step": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                            "traceparent": event.traceparent,
                        }
                    )
            if rows:
                await session.execute(WebhookDelivery.__table__.insert(), rows)
        return len(events), len(rows)

    # --- claiming -----------------------------------------------------------------------

    def _due_conditions(self, now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
        D, S = WebhookDelivery, WebhookSubscription
        return (
            D.status.in_(DUE_STATUSES),
            D.next_attempt_at <= now,
            or_(D.claimed_until.is_(None), D.claimed_until <= now),
            S.active.is_(True),
        )

    def _due_orgs(self, now: dt.datetime) -> Select[uuid.UUID]:
        D, S = WebhookDelivery, WebhookSubscription
        return (
            select(D.org_id)
            .join(S, and_(S.org_id == D.org_id, S.id == D.subscription_id))
            .where(*self._due_conditions(now))
            .group_by(D.org_id)
            .order_by(func.min(D.next_attempt_at), D.org_id)
        )

    def _due(self, now: dt.datetime, limit: int, org_id: uuid.UUID | None = None) -> Select[uuid.UUID, uuid.UUID]:
        """Due deliveries of one organization (`org_id`, else the configured one), soonest
        first. Without either it spans every organization, which Citus refuses to lock."""
        D, S = WebhookDelivery, WebhookSubscription
        org = org_id or self.config.org_id
        stmt = (
            select(D.org_id, D.id)
            .join(S, and_(S.org_id == D.org_id, S.id == D.subscription_id))
            .where(*self._due_conditions(now))
            .order_by(D.next_attempt_at, D.id)
            .limit(limit)
        )
        if org is not None:
            stmt = stmt.where(D.org_id == org, S.org_id == org)
        return stmt

    async def claim(self, limit: int | None = None) -> list[Claim]:
        """Lease up to `limit` due deliveries to this worker (committed before returning),
        organization by organization, shared out by `spread`."""
        now = utcnow()
        token = secrets.token_hex(16)
        orgs = await self._organizations(self._due_orgs(now))
        claims: list[Claim] = []

        async def take(org_id: uuid.UUID, n: int) -> int:
            got = await self._claim_org(org_id, now, token, n)
            claims.extend(got)
            return len(got)

        await spread(orgs, limit or self.config.batch_size, take)
        return claims

    async def _claim_org(self, org_id: uuid.UUID, now: dt.datetime, token: str, limit: int) -> list[Claim]:
        """Lease up to `limit` due deliveries of one organization, in one transaction that
        names the organization in every statement (one shard on Citus)."""
        D, S = WebhookDelivery, WebhookSubscription
        lease = {"claimed_until": now + self.config.lease, "claim_token": token}
        due = self._due(now, limit, org_id)
        async with self.db.sessions() as session, session.begin():
            if self._dialect(session) == "postgresql":
                keys = (await session.execute(due.with_for_update(skip_locked=True, of=D))).all()
                if not keys:
                    return []
                await session.execute(
                    update(D).where(D.org_id == org_id, D.id.in_([k.id for k in keys])).values(**lease)
                )
            else:
                # an UPDATE's result is a CursorResult (with a rowcount), which the stubs of `execute` do not say
                result = cast(
                    CursorResult[Any],
                    await session.execute(
                        update(D)
                        .where(D.org_id == org_id, D.id.in_(due.with_only_columns(D.id).scalar_subquery()))
                        .values(**lease)
                    ),
                )
                if not result.rowcount:
                    return []
            rows = (
                await session.execute(
                    select(
                        D.org_id,
                        D.id,
                        D.subscription_id,
                        D.body,
                        D.attempts,
                        D.schedule_step,
                        D.traceparent,
                        S.url,
                        S.secret,
                        S.previous_secret,
                        S.previous_secret_expires_at,
                        Organization.settings,
                    )
                    .join(S, and_(S.org_id == D.org_id, S.id == D.subscription_id))
                    .join(Organization, Organization.id == D.org_id)
                    .where(D.org_id == org_id, S.org_id == org_id, Organization.id == org_id, D.claim_token == token)
                    .order_by(D.next_attempt_at, D.id)
                )
            ).all()
        claims = []
        for r in rows:
            signing_secrets = [r.secret]
            if r.previous_secret and r.previous_secret_expires_at and r.previous_secret_expires_at > now:
                signing_secrets.append(r.previous_secret)
            org_settings = {**DEFAULT_ORG_SETTINGS, **(r.settings or {})}
            claims.append(
                Claim(
                    org_id=r.org_id,
                    delivery_id=r.id,
                    subscription_id=r.subscription_id,
                    token=token,
                    webhook_id=f"msg_{r.id.hex}",
                    body=r.body,
                    url=r.url,
                    secrets=tuple(signing_secrets),
                    attempts=r.attempts,
                    schedule_step=r.schedule_step,
                    allow_private=bool(org_settings.get("webhooks_allow_private")),
                    traceparent=r.traceparent,
                )
            )
        return claims

    # --- one attempt ----------------------------------------------------------------------

    async def deliver(self, claim: Claim) -> bool:
        """Attempt and acknowledge; False when the claim was lost in the meantime. With
        tracing on, in a span that is a child of the span that wrote the event (its
        stored `traceparent`), around the HTTP request's client span and the SQL."""
        with continued_span(
            "webhook delivery",
            claim.traceparent,
            **{
                "perf.org_id": claim.org_id,
                "webhook.delivery_id": claim.delivery_id,
                "webhook.attempt": claim.attempts + 1,
            },
        ):
            result = await self.attempt(claim)
            return await self.acknowledge(claim, result)

    async def attempt(self, claim: Claim) -> AttemptResult:
        started = time.monotonic()

        def done(
            status: int | None = None,
            error: str | None = None,
            excerpt: str | None = None,
            retry_after: float | None = None,
        ) -> AttemptResult:
            return AttemptResult(status, error, excerpt, retry_after, int((time.monotonic() - started) * 1000))

        try:
            target = await urls.target(claim.url, claim.allow_private)
            secrets_ = [signing.unseal(s) for s in claim.secrets]
        except urls.UnsafeUrl as exc:
            return done(error=_short(f"refused: the URL {exc}"))
        except Exception as exc:  # a secret that cannot be decrypted: never log its value
            return done(error=_short(f"cannot sign: {type(exc).__name__}"))
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            **target.headers,
            **signing.headers(claim.webhook_id, timestamp, claim.body, secrets_),
        }
        try:
            async with asyncio.timeout(self.config.total_timeout):
                async with self.client.stream(
                    "POST", target.url, content=claim.body.encode(), headers=headers, extensions=target.extensions
                ) as resp:
                    excerpt = await _excerpt(resp)
                    retry_after = None
                    if resp.status_code in RETRY_AFTER_STATUSES:
                        retry_after = parse_retry_after(
                            resp.headers.get("retry-after"), utcnow(), self.config.retry_after_max
                        )
                    return done(resp.status_code, None, excerpt, retry_after)
        except TimeoutError:
            return done(error=f"timed out after {self.config.total_timeout:g} s")
        except httpx.HTTPError as exc:
            return done(error=_short(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__))

    # --- acknowledging ----------------------------------------------------------------------

    async def acknowledge(self, claim: Claim, result: AttemptResult) -> bool:
        D = WebhookDelivery
        now = utcnow()
        attempt_no = claim.attempts + 1
        step = claim.schedule_step + 1
        values: dict[str, Any] = {
            "attempts": attempt_no,
            "schedule_step": step,
            "last_attempt_at": now,
            "last_status_code": result.status_code,
            "last_error": result.error,
            "last_response_excerpt": result.excerpt,
            "claimed_until": None,
            "claim_token": None,
        }
        if result.succeeded:
            outcome = "succeeded"
            values.update(status="succeeded", succeeded_at=now, next_attempt_at=None)
        else:
            delay = None if result.gone else retry_delay(step, self.config, self._rng)
            if delay is not None and result.retry_after is not None:
                delay = max(delay, result.retry_after)  # never sooner than the receiver asked
            if delay is None:
                outcome = "dead"
                values.update(status="dead", next_attempt_at=None)
            else:
                outcome = "failed"
                values.update(status="failed", next_attempt_at=now + dt.timedelta(seconds=delay))
        async with self.db.sessions() as session, session.begin():
            # an UPDATE's result is a CursorResult (with a rowcount), which the stubs of `execute` do not say
            acked = cast(
                CursorResult[Any],
                await session.execute(
                    update(D)
                    .where(D.org_id == claim.org_id, D.id == claim.delivery_id, D.claim_token == claim.token)
                    .values(**values)
                ),
            )
            if acked.rowcount != 1:
                # The lease expired (or a redelivery reset it) and the row is someone
                # else's now: this outcome is not recorded; the delivery goes again.
                log.warning("webhook_claim_lost", delivery_id=str(claim.delivery_id))
                return False
            session.add(
                WebhookDeliveryAttempt(
                    org_id=claim.org_id,
                    id=new_id(),
                    delivery_id=claim.delivery_id,
                    subscription_id=claim.subscription_id,
                    attempt=attempt_no,
                    attempted_at=now,
                    status_code=result.status_code,
                    error=result.error,
                    response_excerpt=result.excerpt,
                    duration_ms=result.duration_ms,
                )
            )
            await self._subscription_health(session, claim, result, outcome, now)
        ATTEMPTS.labels(outcome).inc()
        JOB_DURATION.labels("webhook_delivery", outcome).observe(result.duration_ms / 1000)
        log.info(
            "webhook_attempt",
            delivery_id=str(claim.delivery_id),
            subscription_id=str(claim.subscription_id),
            attempt=attempt_no,
            status_code=result.status_code,
            outcome=outcome,
            duration_ms=result.duration_ms,
        )
        return True

    async def _subscription_health(
        self, session: AsyncSession, claim: Claim, result: AttemptResult, outcome: str, now: dt.datetime
    ) -> None:
        S = WebhookSubscription
        key = (S.org_id == claim.org_id, S.id == claim.subscription_id)
        if result.succeeded:
            await session.execute(
                update(S)
                .where(*key, or_(S.consecutive_dead != 0, S.failing_since.is_not(None)))
                .values(consecutive_dead=0, failing_since=None)
            )
            return
        if result.gone:
            await self._disable(session, claim, "the endpoint answered 410 Gone", now)
            return
        changes: dict[str, Any] = {"failing_since": func.coalesce(S.failing_since, now)}
        if outcome == "dead":
            changes["consecutive_dead"] = S.consecutive_dead + 1
        await session.execute(update(S).where(*key).values(**changes))
        health = (await session.execute(select(S.consecutive_dead, S.failing_since, S.active).where(*key))).first()
        if health is None or not health.active:
            return
        failing_for = (now - health.failing_since).total_seconds() if health.failing_since else 0.0
        if health.consecutive_dead >= self.config.disable_after_dead:
            await self._disable(
                session, claim, f"{health.consecutive_dead} deliveries in a row failed every attempt", now
            )
        elif failing_for >= self.config.disable_after_failing_seconds:
            await self._disable(session, claim, f"every attempt failed for {_duration(failing_for)}", now)

    async def _disable(self, session: AsyncSession, claim: Claim, reason: str, now: dt.datetime) -> None:
        S = WebhookSubscription
        # an UPDATE's result is a CursorResult (with a rowcount), which the stubs of `execute` do not say
        result = cast(
            CursorResult[Any],
            await session.execute(
                update(S)
                .where(S.org_id == claim.org_id, S.id == claim.subscription_id, S.active.is_(True))
                .values(
                    active=False, disabled_at=now, disabled_reason=reason[:200], version=S.version + 1, updated_at=now
                )
            ),
        )
        if result.rowcount:
            log.warning("webhook_disabled", subscription_id=str(claim.subscription_id), reason=reason)
            await audit.record(
                session,
                _system(claim.org_id),
                "webhook.disabled",
                "webhook",
                claim.subscription_id,
                {"active": True},
                {"active": False, "disabled_reason": reason},
            )


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} seconds"


async def _excerpt(resp: httpx.Response) -> str | None:
    """At most MAX_EXCERPT_CHARS of the answer; the rest is never read, let alone kept."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _READ_BYTES:
            break
    if not size:
        return None
    return b"".join(chunks)[:_READ_BYTES].decode("utf-8", errors="replace")[:MAX_EXCERPT_CHARS]


# --- in-process mode ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def inprocess(
    config: DeliveryConfig | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    enabled: bool | None = None,
) -> AsyncIterator[Dispatcher | None]:
    """Run the engine as a task of the current process for as long as the block lasts
    (the app's lifespan on SQLite, where `WEBHOOK_INPROCESS` defaults to on). On exit the
    round in progress gets a moment to finish; an attempt cut short is not acknowledged,
    so its lease expires and it is sent again: nothing is lost."""
    if enabled is None:
        enabled = get_settings().webhook_inprocess_enabled
    if not enabled:
        yield None
        return
    dispatcher = Dispatcher(config, transport=transport)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run_forever(stop), name="webhook-delivery")
    log.info("webhook_inprocess_started")
    try:
        yield dispatcher
    finally:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await dispatcher.aclose()


__all__ = [
    "SCHEDULE",
    "DeliveryConfig",
    "Dispatcher",
    "inprocess",
    "parse_retry_after",
    "payload_body",
    "retry_delay",
    "share",
    "spread",
]
