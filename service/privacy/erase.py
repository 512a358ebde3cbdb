"""Erasure: one person's data pseudonymized everywhere, after the retention the
organization sets (docs/data-protection.md has what is erased, what is kept and why).

Every step is a set-based statement over one table (the person's rows, or the rows that
hold one of their values); the rows of other people and every number that finalized
payroll, scores of record and calibrations depend on stay as they were. The audit log
keeps that the erasure happened (`employee.erased`, with who and why) but not what was
erased: the payloads of older events that held the person's values are redacted (the one
UPDATE its append-only triggers allow). Undelivered webhook payloads and pending outbox
events are redacted the same way, so a receiver never gets a value after its erasure.

Idempotent: an erased person (`employees.erased_at`) is answered as before and nothing
changes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Table, bindparam, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.development.models import DevelopmentPlanItem
from service.errors import Conflict
from service.evaluations.models import Evaluation, Interview, PeerRequest, ReviewMeeting
from service.kit import audit
from service.kit.models import AuditEvent, IdempotencyRecord, OutboxEvent
from service.okr.models import CheckIn, KeyResult, Objective
from service.org.models import DEFAULT_ORG_SETTINGS, Employee, Organization
from service.scim.models import ScimUser
from service.types import utcnow
from service.webhooks.models import WebhookDelivery

ERASED_TEXT = "[erased]"
ERASED_GIVEN_NAME = "Erased"
ERASED_DOMAIN = "erased.invalid"
# Keys of an employee's audit payloads that name them, redacted whatever their value.
PERSONAL_KEYS = frozenset({"external_id", "email", "given_name", "family_name", "user_name", "display_name"})
CHUNK = 500


class RetentionNotOver(Conflict):
    """The organization's retention period for the person has not passed (or they are
    not terminated): the problem says from when an erasure becomes possible."""

    code, title, problem_code = "retention-not-over", "Retention period not over", "retention_not_over"


@dataclass(frozen=True)
class Erasure:
    employee_id: uuid.UUID
    erased_at: dt.datetime


def retention_days(org: Organization | None) -> int:
    settings = {**DEFAULT_ORG_SETTINGS, **((org.settings if org else None) or {})}
    return int(settings["retention_days_after_termination"])


def erasable_from(emp: Any, days: int) -> dt.date | None:
    """The first day the person may be erased: termination date + retention; None while
    they are not terminated."""
    if emp.status != "terminated" or emp.termination_date is None:
        return None
    return emp.termination_date + dt.timedelta(days=days)


def check_retention(emp: Employee, days: int, today: dt.date) -> None:
    possible_from = erasable_from(emp, days)
    if possible_from is None:
        raise RetentionNotOver(
            f"the employee is not terminated: erasure is possible {days} days after the termination date",
            extra={"possible_from": None, "retention_days_after_termination": days},
        )
    if today < possible_from:
        raise RetentionNotOver(
            f"the organization keeps data {days} days after termination: erasure is possible from "
            f"{possible_from.isoformat()}",
            extra={"possible_from": possible_from.isoformat(), "retention_days_after_termination": days},
        )


# --- what the person wrote ------------------------------------------------------------------


@dataclass(frozen=True)
class FreeText:
    """A column of text the person wrote (or that is about them alone), and whose rows."""

    table: Table
    column: str
    owner: str  # the column naming the person


def free_texts() -> Sequence[FreeText]:
    """What they wrote (check-in notes, self reviews, feedback they gave, descriptions of
    what they own) and the text about them alone (reviews and feedback they received,
    interview notes, review meetings about them, development actions). Ratings, scores
    and titles stay; a manager's comments on someone else stay that person's."""
    ev, pr, iv, rm = Evaluation.__table__, PeerRequest.__table__, Interview.__table__, ReviewMeeting.__table__
    return (
        FreeText(CheckIn.__table__, "note", "author_employee_id"),
        FreeText(ev, "self_comments", "employee_id"),
        FreeText(ev, "manager_comments", "employee_id"),
        FreeText(ev, "acknowledgement_comment", "employee_id"),
        FreeText(pr, "comments", "reviewer_id"),
        FreeText(pr, "decline_reason", "reviewer_id"),
        FreeText(pr, "comments", "employee_id"),
        FreeText(Objective.__table__, "description", "owner_id"),
        FreeText(KeyResult.__table__, "description", "owner_id"),
        FreeText(iv, "plan", "employee_id"),
        FreeText(iv, "notes", "employee_id"),
        FreeText(iv, "outcome", "employee_id"),
        FreeText(iv, "acknowledgement_comment", "employee_id"),
        FreeText(rm, "summary", "employee_id"),
        FreeText(rm, "gap", "employee_id"),
        FreeText(rm, "cause_analysis", "employee_id"),
        FreeText(DevelopmentPlanItem.__table__, "details", "employee_id"),
    )


async def _erase_free_text(session: AsyncSession, org_id: uuid.UUID, emp_id: uuid.UUID) -> tuple[set[str], set[str]]:
    """Replaces every free text of `free_texts()`; answers the texts replaced and the ids
    of the rows they were in (their audit events are redacted too)."""
    texts: set[str] = set()
    ids: set[str] = set()
    for ft in free_texts():
        t, col = ft.table, ft.table.c[ft.column]
        where = (t.c.org_id == org_id, t.c[ft.owner] == emp_id, col.is_not(None), col != ERASED_TEXT)
        for row_id, value in (await session.execute(select(t.c.id, col).where(*where))).all():
            texts.add(value)
            ids.add(str(row_id))
        values: dict[str, Any] = {ft.column: ERASED_TEXT}
        if "version" in t.c:
            values["version"] = t.c.version + 1
        await session.execute(update(t).where(*where).values(values).execution_options(synchronize_session=False))
    return texts, ids


# --- redaction of stored payloads -------------------------------------------------------------


@dataclass(frozen=True)
class Redactor:
    """Replaces the person's values in a JSON payload: a string equal to one of them, or
    holding a distinctive one (e-mail, external id, full name), and under `personal` keys
    (an employee payload of theirs) whatever the value."""

    exact: dict[str, str]
    contained: dict[str, str]

    def text(self, value: str) -> str:
        if value in self.exact:
            return self.exact[value]
        for old, new in self.contained.items():
            if old in value:
                value = value.replace(old, new)
        return value

    def walk(self, value: Any, personal: bool = False) -> Any:
        if isinstance(value, dict):
            return {
                k: (ERASED_TEXT if personal and k in PERSONAL_KEYS and v is not None else self.walk(v, personal))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.walk(v, personal) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    @property
    def needles(self) -> list[str]:
        """Values to look for in stored text (set-based selection of the rows to redact)."""
        return sorted(self.contained)


def redactor_for(emp: Employee, scim: ScimUser | None, texts: Iterable[str], pseudo: dict[str, str]) -> Redactor:
    exact: dict[str, str] = {}
    contained: dict[str, str] = {}
    for key in ("given_name", "family_name", "email", "external_id"):
        old = getattr(emp, key)
        if old and old != pseudo[key]:
            exact[old] = pseudo[key]
    full = f"{emp.given_name} {emp.family_name}".strip()
    for old, new in ((emp.email, pseudo["email"]), (emp.external_id, pseudo["external_id"]), (full, ERASED_TEXT)):
        if old and len(old) >= 5 and old != new:
            contained[old] = new
    if scim is not None:
        for old in (scim.user_name, scim.external_id, scim.display_name):
            if old and old not in (pseudo["email"], pseudo["external_id"]):
                exact[old] = ERASED_TEXT
                if len(old) >= 5:
                    contained[old] = ERASED_TEXT
    for text in texts:
        exact[text] = ERASED_TEXT
    return Redactor(exact, contained)


def _mentions(columns: Sequence[Any], needles: Sequence[str]) -> Any:
    return or_(*(cast(c, String).contains(n, autoescape=True) for c in columns for n in needles))


async def _redact_audit(
    session: AsyncSession, org_id: uuid.UUID, emp_id: uuid.UUID, entity_ids: set[str], r: Redactor
) -> int:
    a = AuditEvent.__table__.c
    found: dict[Any, Any] = {}
    conditions = [_mentions((a.before, a.after, a.reason), r.needles)] if r.needles else []
    ids = sorted(entity_ids | {str(emp_id)})
    conditions += [a.entity_id.in_(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]
    for cond in conditions:
        stmt = select(a.id, a.entity_type, a.entity_id, a.before, a.after, a.reason).where(a.org_id == org_id, cond)
        for row in (await session.execute(stmt)).all():
            found[row.id] = row
    now = utcnow()
    changed = []
    for row in found.values():
        personal = row.entity_type == "employee" and row.entity_id == str(emp_id)
        before, after = r.walk(row.before, personal), r.walk(row.after, personal)
        reason = r.text(row.reason) if row.reason else row.reason
        if (before, after, reason) != (row.before, row.after, row.reason):
            changed.append({"b_id": row.id, "b_before": before, "b_after": after, "b_reason": reason})
    if changed:
        await session.execute(
            update(AuditEvent.__table__)
            .where(a.org_id == org_id, a.id == bindparam("b_id"))
            .values(
                before=bindparam("b_before"), after=bindparam("b_after"), reason=bindparam("b_reason"), redacted_at=now
            )
            .execution_options(synchronize_session=False),
            changed,
        )
    return len(changed)


async def _redact_pending_events(session: AsyncSession, org_id: uuid.UUID, emp_id: uuid.UUID, r: Redactor) -> None:
    """Outbox events not yet published and webhook deliveries not yet delivered."""
    needles = [str(emp_id), *r.needles]
    o = OutboxEvent.__table__.c
    rows = (
        await session.execute(
            select(o.id, o.payload).where(o.org_id == org_id, o.published_at.is_(None), _mentions([o.payload], needles))
        )
    ).all()
    changed = [{"b_id": i, "b_payload": r.walk(p, True)} for i, p in rows if r.walk(p, True) != p]
    if changed:
        await session.execute(
            update(OutboxEvent.__table__)
            .where(o.org_id == org_id, o.id == bindparam("b_id"))
            .values(payload=bindparam("b_payload"))
            .execution_options(synchronize_session=False),
            changed,
        )
    d = WebhookDelivery.__table__.c
    rows = (
        await session.execute(
            select(d.id, d.body).where(d.org_id == org_id, d.status != "succeeded", _mentions([d.body], needles))
        )
    ).all()
    bodies = []
    for i, body in rows:
        try:
            new = json.dumps(r.walk(json.loads(body), True), separators=(",", ":"))
        except ValueError:
            new = r.text(body)
        if new != body:
            bodies.append({"b_id": i, "b_body": new})
    if bodies:
        await session.execute(
            update(WebhookDelivery.__table__)
            .where(d.org_id == org_id, d.id == bindparam("b_id"))
            .values(body=bindparam("b_body"))
            .execution_options(synchronize_session=False),
            bodies,
        )


# --- the use case ---------------------------------------------------------------------------------


def pseudonyms(emp_id: uuid.UUID) -> dict[str, str]:
    tag = f"erased-{emp_id.hex[:12]}"
    return {
        "given_name": ERASED_GIVEN_NAME,
        "family_name": tag,
        "email": f"{tag}@{ERASED_DOMAIN}",
        "external_id": f"erased-{emp_id.hex}",
    }


async def erase(ctx: Ctx, emp: Employee, reason: str, *, today: dt.date | None = None) -> Erasure:
    """Pseudonymizes `emp` (already found and authorized by the caller) if the retention
    is over; an erased employee is answered as it was, with nothing changed."""
    if emp.erased_at is not None:
        return Erasure(emp.id, emp.erased_at)
    session, org_id = ctx.session, ctx.org_id
    org = await session.get(Organization, org_id)
    check_retention(emp, retention_days(org), today or utcnow().date())

    pseudo = pseudonyms(emp.id)
    scim = await session.get(ScimUser, (org_id, emp.id))
    texts, entity_ids = await _erase_free_text(session, org_id, emp.id)
    r = redactor_for(emp, scim, texts, pseudo)
    idem = IdempotencyRecord.__table__.c
    await session.execute(
        delete(IdempotencyRecord.__table__).where(
            idem.org_id == org_id, _mentions([idem.response_body], [str(emp.id), *r.needles])
        )
    )
    await _redact_audit(session, org_id, emp.id, entity_ids, r)
    await _redact_pending_events(session, org_id, emp.id, r)

    now = utcnow()
    if scim is not None:
        scim.user_name = pseudo["email"]
        scim.user_name_key = pseudo["email"] if scim.user_name_key is not None else None
        scim.external_id = None
        scim.display_name = None
    for key, value in pseudo.items():
        setattr(emp, key, value)
    emp.base_salary_minor = emp.comp_currency = emp.target_bonus_pct = emp.target_bonus_minor = None
    emp.erased_at = now
    await session.flush()
    await audit.record(session, ctx.principal, "employee.erased", "employee", emp.id, reason=reason)
    return Erasure(emp.id, now)
