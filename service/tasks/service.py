"""Work waiting for the caller (GET /api/v1/me/tasks, GraphQL `me { tasks }`).

A task is a thing of the workflows that waits for the calling employee now: the state a
workflow action needs, and the caller someone that action allows
(service/authz/policy.py), computed from the same rows and rules the actions check:

- `objective_approval`: objectives in `submitted` (service/okr/workflow.py) that
  `policy.objective_action(..., "approve")` lets the caller approve: their direct and
  indirect reports', and everyone's for hr and admin; never their own (four eyes).
- `peer_feedback`: peer requests addressed to the caller, `requested`, before their
  deadline (the organization's today), on an evaluation still open for feedback
  (`OPEN_FOR_FEEDBACK`): what `peers.submit` accepts. The title names the evaluated
  person; a reviewer is never named to anyone here (the evaluated person's own tasks
  hold no peer request about them).
- `self_review`: the caller's evaluations in `not_started` (`submit_self` needs it).
- `manager_review`: evaluations of the caller's direct reports in `self_review`
  (`submit_manager` needs it; the manager review belongs to the direct manager. hr and
  admin may write one for anyone but are not asked to).
- `interview_acknowledgement`: interviews of the caller with an outcome and no
  signature, whose evaluation is finalized. Acknowledging the interview acknowledges
  the evaluation (and the evaluation's acknowledgement signs its interviews), so one task
  per interview covers both; incentive results have no acknowledgement by the employee
  (payroll acknowledges them).
- `calibration`: open calibration sessions, for hr and admin (`manage_calibrations`):
  a session records the employees it calibrates, not who sits on it.
- `check_in_overdue`: key results the caller owns (the key result's owner, or the
  objective's owner when it names none) of published objectives in active cycles, whose
  latest check-in (or, without one, the later of the cycle's start and the key result's
  creation) is more than the organization's `check_in_cadence_days` (default 7: SPEC's
  weekly check-ins) before today; due the day the next check-in was owed.
- `development_item`: open items of active development plans due within 14 days, for
  the plan's employee and its owner.
- `meeting_action`: open follow-up actions of meetings (service/meetings/actions.py), for
  their owner, until done or cancelled.
- `improvement_action`: the actions of review meetings' improvement plans the caller
  owns that are not done (`open` or `in_progress`), one task per review meeting, due on
  the earliest of them; they are closed by recording them `done` in the plan.

A task whose action the locked-period rules would refuse (a closed cycle, an official
result: service/scoring/locks.py) is not waiting for anyone and is left out.

Cost: one statement per kind at most (fewer when a kind cannot apply to the caller),
plus the organization, its cycles and the official results that lock inputs: a fixed
number whatever the number of tasks. The whole list is computed per request (a person's
work is bounded by their reports and inbox; hr's approvals by the organization's
submitted objectives) and paged in memory with the usual cursors, in the order due date
(no date last), kind, subject id.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass

from service.auth.context import Ctx
from service.authz import policy
from service.authz.policy import Relation
from service.evaluations.service import OPEN_FOR_FEEDBACK
from service.kit.pagination import Page, PageParams, Position, SortKey, SortSpec, window
from service.okr.compute import check_in_due
from service.org.models import DEFAULT_ORG_SETTINGS, Organization
from service.principal import Principal
from service.tasks import repository as repo
from service.tasks.schemas import TaskLinks, TaskRead, TaskSubject
from service.types import utcnow

KINDS = (
    "objective_approval",
    "peer_feedback",
    "self_review",
    "manager_review",
    "interview_acknowledgement",
    "calibration",
    "check_in_overdue",
    "development_item",
    "meeting_action",
    "improvement_action",
)
SUBJECT_KINDS = (
    "objective",
    "peer_request",
    "evaluation",
    "interview",
    "calibration",
    "key_result",
    "development_plan_item",
    "meeting_action",
    "review_meeting",
)
DEVELOPMENT_WINDOW_DAYS = 14
DEVELOPMENT_OPEN = ("open", "in_progress")
ACKNOWLEDGEABLE = ("finalized", "acknowledged")  # the evaluation states an interview is signed in
ORDER = SortSpec(((SortKey("due", kind="date", nullable=True), False), (SortKey("kind"), False)))


@dataclass(frozen=True)
class Task:
    kind: str
    subject_kind: str
    subject_id: uuid.UUID
    title: str
    due: dt.date | None
    cycle_id: uuid.UUID | None
    action: str  # the REST call that acts on it, "POST /api/v1/..."


def _position(t: Task) -> Position:
    return Position((t.due, t.kind), t.subject_id)


def _name(row: object) -> str:
    return f"{row.given_name} {row.family_name}"  # type: ignore[attr-defined]  # a row with the employee's names


class _Locks:
    """The locked-period rules of service/scoring/locks.py over rows already read: a cycle
    is read-only when it or one it is nested in is closed; an employee's inputs in a
    cycle are locked once their result there (or, for inputs that roll up, in an
    enclosing cycle) is official."""

    def __init__(self, cycles: dict[uuid.UUID, object]) -> None:
        self.cycles = cycles
        self.official: set[tuple[uuid.UUID, uuid.UUID]] = set()

    def chain(self, cycle_id: uuid.UUID) -> list[uuid.UUID]:
        out: list[uuid.UUID] = []
        node: uuid.UUID | None = cycle_id
        while node is not None and node in self.cycles and node not in out:
            out.append(node)
            node = self.cycles[node].parent_id  # type: ignore[attr-defined]
        return out

    def closed(self, cycle_id: uuid.UUID) -> bool:
        return any(self.cycles[c].status == "closed" for c in self.chain(cycle_id))  # type: ignore[attr-defined]

    def locked(self, cycle_id: uuid.UUID, employee_id: uuid.UUID, rolls_up: bool) -> bool:
        chain = self.chain(cycle_id)
        return self.closed(cycle_id) or any((c, employee_id) in self.official for c in chain[: None if rolls_up else 1])


async def organization_calendar(ctx: Ctx) -> tuple[dt.tzinfo, int]:
    """The organization's time zone (its days are the deadlines' days), and its check-in
    cadence in days."""
    org = await ctx.session.get(Organization, ctx.org_id)
    try:
        tz = zoneinfo.ZoneInfo(org.timezone) if org else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    settings = {**DEFAULT_ORG_SETTINGS, **((org.settings if org else None) or {})}
    return tz, int(settings["check_in_cadence_days"])


async def tasks_of(ctx: Ctx, principal: Principal | None = None) -> list[Task]:
    """Every task waiting for the caller (or for `principal`: a one-on-one brief lists an
    employee's own work), unsorted. A caller with no employee (an admin without one, an
    integration client) has none."""
    p = principal or ctx.principal
    me = p.employee_id
    if me is None or not policy.is_person(p):
        return []
    session, org = ctx.session, ctx.org_id
    tz, cadence = await organization_calendar(ctx)
    today = utcnow().astimezone(tz).date()
    locks = _Locks(await repo.cycles(session, org))
    pending: list[tuple[Task, uuid.UUID, uuid.UUID | None, bool]] = []  # (task, cycle, locked employee, rolls up)

    # objective_approval: whom the workflow lets approve (never the owner themself)
    if policy.objective_action(p, Relation.MANAGER, "approve").allowed:
        anyone = policy.objective_action(p, Relation.OTHER, "approve").allowed
        for o in await repo.objectives_to_approve(session, org, me, anyone):
            task = Task(
                "objective_approval",
                "objective",
                o.id,
                f"Approve objective '{o.title}'",
                None,
                o.cycle_id,
                f"POST /api/v1/objectives/{o.id}/approve",
            )
            pending.append((task, o.cycle_id, o.owner_id, True))

    # peer_feedback: the requested reviewer answers
    if policy.answer_peer_request(p, Relation.OTHER, True).allowed:
        for r in await repo.open_peer_requests(session, org, me, OPEN_FOR_FEEDBACK, today):
            task = Task(
                "peer_feedback",
                "peer_request",
                r.id,
                f"Peer feedback for {_name(r)}",
                r.due_date,
                r.cycle_id,
                f"POST /api/v1/evaluations/{r.evaluation_id}/feedback",
            )
            pending.append((task, r.cycle_id, r.employee_id, False))

    # self_review and manager_review
    for ev in await repo.reviews_due(session, org, me):
        cycle_name = locks.cycles[ev.cycle_id].name  # type: ignore[attr-defined]
        if ev.employee_id == me and ev.status == "not_started":
            if not policy.write_self_review(p, Relation.SELF).allowed:
                continue
            task = Task(
                "self_review",
                "evaluation",
                ev.id,
                f"Self review for {cycle_name}",
                None,
                ev.cycle_id,
                f"POST /api/v1/evaluations/{ev.id}/submit_self",
            )
        elif ev.manager_id == me and ev.status == "self_review":
            if not policy.write_manager_review(p, Relation.MANAGER, True).allowed:
                continue
            task = Task(
                "manager_review",
                "evaluation",
                ev.id,
                f"Manager review of {_name(ev)} for {cycle_name}",
                None,
                ev.cycle_id,
                f"POST /api/v1/evaluations/{ev.id}/submit_manager",
            )
        else:
            continue
        pending.append((task, ev.cycle_id, ev.employee_id, False))

    # interview_acknowledgement: the employee signs the outcome
    if policy.acknowledge_interview(p, Relation.SELF).allowed:
        for i in await repo.interviews_to_acknowledge(session, org, me, ACKNOWLEDGEABLE):
            cycle_name = locks.cycles[i.cycle_id].name  # type: ignore[attr-defined]
            task = Task(
                "interview_acknowledgement",
                "interview",
                i.id,
                f"Acknowledge the outcome of your performance interview for {cycle_name}",
                None,
                i.cycle_id,
                f"POST /api/v1/interviews/{i.id}/acknowledge",
            )
            pending.append((task, i.cycle_id, None, False))

    # calibration: hr and admin run the sessions
    if policy.manage_calibrations(p).allowed:
        for s in await repo.open_calibrations(session, org):
            cycle_name = locks.cycles[s.cycle_id].name  # type: ignore[attr-defined]
            task = Task(
                "calibration",
                "calibration",
                s.id,
                f"Calibrate '{s.name}' for {cycle_name}",
                None,
                s.cycle_id,
                f"POST /api/v1/calibrations/{s.id}/finalize",
            )
            pending.append((task, s.cycle_id, None, False))

    # check_in_overdue: key results the caller owns in active cycles
    active = {c for c, row in locks.cycles.items() if row.status == "active"}  # type: ignore[attr-defined]
    if active and policy.check_in(p, Relation.SELF, Relation.SELF).allowed:
        for kr in await repo.key_results_owned(session, org, me, active):
            start = locks.cycles[kr.cycle_id].start_date  # type: ignore[attr-defined]
            due = check_in_due(kr.last_at, start, kr.created_at, tz, cadence)
            if due >= today:
                continue
            task = Task(
                "check_in_overdue",
                "key_result",
                kr.id,
                f"Check in on key result '{kr.title}'",
                due,
                kr.cycle_id,
                f"POST /api/v1/key-results/{kr.id}/check-ins",
            )
            pending.append((task, kr.cycle_id, kr.owner_id, True))

    # development_item: the employee and the plan's owner follow the plan's items
    unlocked: list[Task] = []
    if policy.update_development_item(p, Relation.SELF, False, True).allowed:
        until = today + dt.timedelta(days=DEVELOPMENT_WINDOW_DAYS)
        for it in await repo.development_items_due(session, org, me, until, DEVELOPMENT_OPEN):
            title = f"Development item '{it.title}'"
            unlocked.append(
                Task(
                    "development_item",
                    "development_plan_item",
                    it.id,
                    title if it.employee_id == me else f"{title} of {_name(it)}",
                    it.due_date,
                    it.cycle_id,
                    f"PATCH /api/v1/development-plans/{it.plan_id}/items/{it.id}",
                )
            )

    # meeting_action: the owner of a meeting's follow-up action, until it is closed
    if policy.update_meeting_action(p, Relation.SELF, False, True, True).allowed:
        for a in await repo.meeting_actions_open(session, org, me):
            unlocked.append(
                Task(
                    "meeting_action",
                    "meeting_action",
                    a.id,
                    f"Action '{a.title}' from '{a.meeting}'",
                    a.due_date,
                    a.cycle_id,
                    f"PATCH /api/v1/meeting-actions/{a.id}",
                )
            )

    # improvement_action: the owner of actions of a review meeting's plan, until done
    for m in await repo.improvement_plans_naming(session, org, me):
        mine = [a for a in m.improvement_plan or [] if a.get("owner_id") == str(me) and a.get("status") != "done"]
        if mine:
            title = f"'{mine[0]['action']}'" if len(mine) == 1 else f"{len(mine)} actions"
            unlocked.append(
                Task(
                    "improvement_action",
                    "review_meeting",
                    m.id,
                    f"Improvement {title} from '{m.title or 'a review meeting'}'",
                    min(dt.date.fromisoformat(str(a["due_date"])) for a in mine),
                    None,
                    f"PATCH /api/v1/review-meetings/{m.id}",
                )
            )

    locked_people = {e for _, _, e, _ in pending if e is not None}
    chains = {c for _, cycle, e, _ in pending if e is not None for c in locks.chain(cycle)}
    locks.official = await repo.official_results(session, org, chains, locked_people)
    return [
        task
        for task, cycle, employee, rolls_up in pending
        if not (locks.closed(cycle) if employee is None else locks.locked(cycle, employee, rolls_up))
    ] + unlocked


def task_read(t: Task) -> TaskRead:
    return TaskRead(
        kind=t.kind,
        subject=TaskSubject(kind=t.subject_kind, id=t.subject_id),
        title=t.title,
        due=t.due,
        cycle_id=t.cycle_id,
        links=TaskLinks(rest=t.action),
    )


async def my_tasks(ctx: Ctx, params: PageParams) -> Page[Task]:
    """One page of the caller's tasks, in the list's order; cursors as every list's."""
    return window(await tasks_of(ctx), ORDER, _position, limit=params.limit, after=params.cursor)
