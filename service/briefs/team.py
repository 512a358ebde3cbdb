"""The team brief: what a team meeting over a period [from, to) should look at, each item
with the reasons it is listed.

- Key results (of published objectives the caller may read, in cycles overlapping the
  period, owned by a team member: the key result's owner, or the objective's when it
  names none), judged on `as_of` = the earlier of the organization's today and the
  period's last day, from the check-ins made before the period's end:
  - `off_pace`: the key result's pace (service/okr/compute.py, the `pace` the API shows)
    is not `on_track`; figures: pace, progress, expected progress.
  - `confidence_dropped`: the confidence of the latest check-in before `since` is higher
    than that of the latest check-in (only check-ins that carry a confidence count);
    figures: both confidences and their times.
  - `check_in_overdue`: in an active cycle, the next check-in was owed before `as_of`
    (`compute.check_in_due`, the rule of the `check_in_overdue` task: the organization's
    `check_in_cadence_days` after the latest check-in, or after the later of the cycle's
    start and the key result's creation); figures: last check-in, due day, cadence.
- KPIs (assignments the caller may read of team members in those cycles): the latest
  measurement dated before the period's end against the assignment's bar, respecting the
  definition's direction: `below_threshold` when it is under the threshold (over it for
  `lower_is_better`; the target stands in when the assignment has no threshold), and
  `out_of_range` outside [range_low, range_high] for `target_range` or the range method.
- Actions: the open ones given (a meeting's, an improvement plan's), `overdue` once past
  their due date, else `open`.

Cost: a fixed number of statements whatever the team's size (bounded by `MAX_TEAM`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.briefs import repository as repo
from service.briefs.common import Calendar, calendar, period_of, period_or_default, plain
from service.briefs.schemas import ActionIn, ActionItem, KeyResultItem, KpiItem, Reason, TeamBrief
from service.errors import NotFound, ValidationFailed
from service.kpi import repository as kpi_repo
from service.kpi.models import KpiAssignment, KpiDefinition, KpiMeasurement
from service.okr import compute
from service.okr import repository as okr_repo
from service.okr.models import CheckIn, KeyResult
from service.org.models import Department
from service.scoring import okr as engine

MAX_TEAM = 500
DONE = ("done", "closed", "cancelled")


def _latest_with_confidence(check_ins: Sequence[CheckIn]) -> CheckIn | None:
    with_confidence = [c for c in check_ins if c.confidence is not None]
    return max(with_confidence, key=lambda c: (c.checked_in_at, c.created_at, c.id), default=None)


def key_result_reasons(
    kr: KeyResult,
    check_ins: Sequence[CheckIn],
    cycle: Any,
    clock: Calendar,
    as_of: dt.date,
    since: dt.datetime,
) -> tuple[compute.KeyResultView, list[Reason]]:
    """The key result's view as of `as_of` and why a team brief lists it (empty: it is
    not listed). `check_ins` are those made before the period's end."""
    view = compute.key_result_view(kr, check_ins, cycle, as_of)
    reasons: list[Reason] = []
    if view.pace != "on_track":
        expected = engine.expected_progress(as_of, cycle.start_date, cycle.end_date)
        reasons.append(
            Reason(
                code="off_pace",
                figures={
                    "pace": view.pace,
                    "progress": plain(view.progress),
                    "expected_progress": plain(expected.quantize(Decimal("0.0001"))),
                    "as_of": as_of.isoformat(),
                },
            )
        )
    before = _latest_with_confidence([c for c in check_ins if c.checked_in_at < since])
    latest = _latest_with_confidence(check_ins)
    if before is not None and latest is not None and latest.confidence < before.confidence:  # type: ignore[operator]
        reasons.append(
            Reason(
                code="confidence_dropped",
                figures={
                    "before": before.confidence,
                    "before_at": before.checked_in_at.isoformat(),
                    "latest": latest.confidence,
                    "latest_at": latest.checked_in_at.isoformat(),
                },
            )
        )
    if cycle.status == "active":
        last_at = max((c.checked_in_at for c in check_ins), default=None)
        due = compute.check_in_due(last_at, cycle.start_date, kr.created_at, clock.tz, clock.cadence_days)
        if due < as_of:
            reasons.append(
                Reason(
                    code="check_in_overdue",
                    figures={
                        "last_checked_in_at": last_at.isoformat() if last_at else None,
                        "due": due.isoformat(),
                        "cadence_days": clock.cadence_days,
                        "days_overdue": (as_of - due).days,
                    },
                )
            )
    return view, reasons


def kpi_reasons(row: KpiAssignment, definition: KpiDefinition, latest: KpiMeasurement) -> list[Reason]:
    """Why the latest measurement puts the assignment in a team brief (empty: it does not)."""
    value = latest.value
    if definition.direction == "target_range" or row.method == "range":
        low, high = row.range_low, row.range_high
        if low is not None and high is not None and not low <= value <= high:
            return [
                Reason(
                    code="out_of_range",
                    figures={"value": plain(value), "range_low": plain(low), "range_high": plain(high)},
                )
            ]
        return []
    bar, bar_kind = (row.threshold, "threshold") if row.threshold is not None else (row.target, "target")
    if bar is None:
        return []
    below = value > bar if definition.direction == "lower_is_better" else value < bar
    if not below:
        return []
    return [
        Reason(
            code="below_threshold",
            figures={
                "value": plain(value),
                "measured_at": latest.measured_at.isoformat(),
                bar_kind: plain(bar),
                "direction": definition.direction,
            },
        )
    ]


def action_items(actions: Sequence[ActionIn], as_of: dt.date) -> list[ActionItem]:
    """The actions still open, each `overdue` past its due date or else `open`."""
    out = []
    for a in actions:
        if a.status in DONE:
            continue
        if a.due_date is not None and a.due_date < as_of:
            reason = Reason(
                code="overdue", figures={"due_date": a.due_date.isoformat(), "days": (as_of - a.due_date).days}
            )
        else:
            reason = Reason(code="open", figures={"due_date": a.due_date.isoformat() if a.due_date else None})
        out.append(ActionItem(**a.model_dump(), reasons=[reason]))
    return out


async def team_brief(
    ctx: Ctx,
    employee_ids: Sequence[uuid.UUID],
    start: dt.date | None,
    end: dt.date | None,
    since: dt.date | None = None,
    actions: Sequence[ActionIn] = (),
) -> TeamBrief:
    """The brief of a team (at most `MAX_TEAM` people) for [start, end); `since` is the
    previous meeting's day (default: the period's start)."""
    require(policy.read_team_brief(ctx.principal), "team brief")
    clock = await calendar(ctx)
    start, end = period_or_default(clock, start, end)
    period = period_of(start, end)
    since = since or start
    if len(set(employee_ids)) > MAX_TEAM:
        raise ValidationFailed.field("employee_ids", f"a team brief covers at most {MAX_TEAM} people")
    team = list(dict.fromkeys(employee_ids))
    as_of = min(clock.today, end - dt.timedelta(days=1))
    until = clock.midnight(end)
    since_at = clock.midnight(since)

    rows = await repo.team_key_results(ctx.session, ctx.org_id, ctx.principal, team, start, end) if team else []
    check_ins = await okr_repo.check_ins_of(ctx.session, ctx.org_id, [r[0].id for r in rows])
    cycles = await okr_repo.cycles_by_id(ctx.session, ctx.org_id, {r.cycle_id for r in rows})
    key_results: list[KeyResultItem] = []
    for kr, objective_title, cycle_id, owner_id in rows:
        made = [c for c in check_ins.get(kr.id, []) if c.checked_in_at < until]
        view, reasons = key_result_reasons(kr, made, cycles[cycle_id], clock, as_of, since_at)
        if reasons:
            key_results.append(
                KeyResultItem(
                    key_result_id=kr.id,
                    title=kr.title,
                    objective_id=kr.objective_id,
                    objective_title=objective_title,
                    owner_id=owner_id,
                    cycle_id=cycle_id,
                    progress=view.progress,
                    pace=view.pace,
                    confidence=view.confidence,
                    last_checked_in_at=view.last_checked_in_at,
                    reasons=reasons,
                )
            )

    kpis: list[KpiItem] = []
    if team:
        assignments = await repo.visible_assignments_of(
            ctx.session, ctx.org_id, ctx.principal, team, repo.overlapping_cycles(ctx.org_id, start, end)
        )
        latest = await repo.latest_measurements(ctx.session, ctx.org_id, [a.id for a in assignments], end)
        defs = await kpi_repo.definitions_by_id(ctx.session, ctx.org_id, {a.definition_id for a in assignments})
        for a in assignments:
            m = latest.get(a.id)
            if m is None:
                continue
            d = defs[a.definition_id]
            reasons = kpi_reasons(a, d, m)
            if reasons:
                kpis.append(
                    KpiItem(
                        assignment_id=a.id,
                        employee_id=a.employee_id,
                        cycle_id=a.cycle_id,
                        kpi_code=d.code,
                        kpi_name=d.name,
                        direction=d.direction,
                        latest_value=m.value,
                        measured_at=m.measured_at,
                        reasons=reasons,
                    )
                )
    return TeamBrief(
        period=period,
        since=since,
        as_of=as_of,
        employee_ids=team,
        key_results=key_results,
        kpis=kpis,
        actions=action_items(actions, as_of),
    )


async def open_plan_actions(ctx: Ctx, team: Sequence[uuid.UUID]) -> list[ActionIn]:
    """The actions not done of the improvement plans of review meetings about the team
    that the caller may read: carried into every team brief until they are done."""
    out = []
    for m in await repo.plan_actions_of(ctx.session, ctx.org_id, ctx.principal, team):
        for a in m.improvement_plan or []:
            if a.get("status") != "done":
                out.append(
                    ActionIn(
                        title=a["action"],
                        owner_id=a["owner_id"],
                        due_date=a["due_date"],
                        status=a["status"],
                        source="review_meeting",
                        source_id=m.id,
                    )
                )
    return out


async def department_brief(
    ctx: Ctx, department_id: uuid.UUID, start: dt.date | None, end: dt.date | None, since: dt.date | None = None
) -> TeamBrief:
    """The team brief of a department's members (not terminated), with the open actions
    of their review meetings' improvement plans; 404 for an unknown department, 422 for
    one of more than `MAX_TEAM` people."""
    require(policy.read_team_brief(ctx.principal), "team brief")
    if await ctx.session.get(Department, (ctx.org_id, department_id)) is None:
        raise NotFound("department not found")
    start, end = period_or_default(await calendar(ctx), start, end)
    period_of(start, end)
    members = await repo.department_members(ctx.session, ctx.org_id, department_id, MAX_TEAM)
    if len(members) > MAX_TEAM:
        raise ValidationFailed(
            f"the department has more than {MAX_TEAM} members: a team brief covers at most that many",
            errors=[{"loc": ["path", "department_id"], "msg": f"more than {MAX_TEAM} members"}],
        )
    actions = await open_plan_actions(ctx, members) if members else []
    return await team_brief(ctx, members, start, end, since, actions)
