"""Calibration sessions (SPEC section 7): a fixed set of employees of one cycle, points
adjustments (each with a mandatory reason and its author, audited, counting in the
scores as soon as recorded), the distribution report against the policy's guideline, a
what-if simulation that saves nothing, and finalization.

Finalizing needs the cycle in `calibration` (its policy versions are pinned) and every
member's manager review submitted. It applies the enforced distribution (rank by final,
the cumulative-count rule, ties get the best band any of them got:
service/scoring/distribution.py) to each group of members scored under a policy whose
guideline is `enforced`, stores each member's final, computed and enforced rating, locks
the session, moves the evaluations to `calibrated` and emits `calibration.finalized`.
From then on the scores API shows the enforced rating (flag `distribution_enforced`).

The session's `distribution_mode` says how an enforced guideline applies: `enforce` (the
default) gives each member the band of their rank, up or down; `cap` gives each member
the worse of their computed rating and that band, so it only lowers members above the
shares and never raises anyone (`capped_ratings` there). A simulation may try the other
mode without saving anything.

All numbers come from service/scoring/service.py (`score_employees`), which the scores
API uses too, so a session never disagrees with the scores."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.cycles.models import Cycle
from service.cycles.service import ensure_writable, load_cycle, writable_cycle
from service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.evaluations import repository as repo
from service.evaluations.events import CalibrationFinalized, CalibrationFinalizedResult
from service.evaluations.models import (
    CalibrationAdjustment,
    CalibrationMember,
    CalibrationSession,
    Evaluation,
)
from service.evaluations.schemas import (
    AdjustmentRead,
    BandRead,
    CalibrationAdjustmentCreate,
    CalibrationCreate,
    CalibrationRead,
    DistributionGroup,
    DistributionRead,
    MemberResult,
    PolicyRefRead,
    SimulateIn,
)
from service.evaluations.service import relation, selected_population
from service.kit import audit, outbox
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.scoring import locks, records
from service.scoring import service as scoring
from service.scoring.composite import Adjustment
from service.scoring.distribution import capped_ratings, distribution_report, enforced_ratings
from service.scoring.numbers import round_points
from service.types import new_id, utcnow

CALIBRATING = ("review", "calibration")


def session_read(s: CalibrationSession, members: Sequence[CalibrationMember]) -> CalibrationRead:
    return CalibrationRead(
        id=s.id,
        cycle_id=s.cycle_id,
        name=s.name,
        department_id=s.department_id,
        status=s.status,
        distribution_mode=s.distribution_mode,
        employee_ids=[m.employee_id for m in members],
        created_by=s.created_by,
        finalized_at=s.finalized_at,
        finalized_by=s.finalized_by,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


async def reads_of(ctx: Ctx, rows: Sequence[CalibrationSession]) -> list[CalibrationRead]:
    members = await repo.members_of(ctx.session, ctx.org_id, [s.id for s in rows])
    return [session_read(s, members.get(s.id, [])) for s in rows]


def adjustment_read(a: CalibrationAdjustment) -> AdjustmentRead:
    return AdjustmentRead(
        id=a.id,
        calibration_id=a.session_id,
        employee_id=a.employee_id,
        delta=a.delta,
        reason=a.reason,
        author=a.author,
        created_at=a.created_at,
    )


# --- sessions ----------------------------------------------------------------------------------


async def list_sessions(
    ctx: Ctx, params: PageParams, cycle_id: uuid.UUID | None = None, status: str | None = None
) -> Page[CalibrationSession]:
    require(policy.read_calibrations(ctx.principal), "calibrations")
    stmt = select(CalibrationSession).where(CalibrationSession.org_id == ctx.org_id)
    if cycle_id is not None:
        stmt = stmt.where(CalibrationSession.cycle_id == cycle_id)
    if status is not None:
        stmt = stmt.where(CalibrationSession.status == status)
    return await paginate(ctx.session, stmt, CalibrationSession.id, params)


async def get_session(ctx: Ctx, session_id: uuid.UUID) -> CalibrationSession:
    if not policy.read_calibrations(ctx.principal).allowed:
        raise NotFound("calibration not found")
    s = await repo.get_session(ctx.session, ctx.org_id, session_id)
    if s is None:
        raise NotFound("calibration not found")
    return s


async def member_ids(ctx: Ctx, s: CalibrationSession) -> list[uuid.UUID]:
    return [m.employee_id for m in (await repo.members_of(ctx.session, ctx.org_id, [s.id]))[s.id]]


async def create_session(ctx: Ctx, data: CalibrationCreate) -> CalibrationSession:
    require(policy.manage_calibrations(ctx.principal), "calibrations")
    cycle = await writable_cycle(ctx, data.cycle_id)
    if cycle.status not in CALIBRATING:
        raise Conflict(
            f"calibration happens in review or calibration; the cycle is {cycle.status}",
            extra={"cycle_status": cycle.status},
        )
    rows = await selected_population(ctx, cycle, data.department_id, data.employee_ids)
    if not rows:
        raise ValidationFailed.field("department_id", "no employee of this department is scored in the cycle")
    ids = [r.id for r in rows]
    taken = await repo.members_in_cycle(ctx.session, ctx.org_id, cycle.id, ids)
    if taken:
        raise Conflict(
            "some employees are already calibrated in another session of this cycle",
            extra={
                "errors": [
                    {"loc": ["body", "employee_ids"], "msg": f"already in a session: {e}"}
                    for e in sorted(str(k) for k in taken)
                ][:50]
            },
        )
    s = CalibrationSession(
        org_id=ctx.org_id,
        id=new_id(),
        cycle_id=cycle.id,
        name=data.name,
        department_id=data.department_id,
        status="open",
        distribution_mode=data.distribution_mode,
        created_by=ctx.principal.actor,
    )
    ctx.session.add(s)
    await ctx.session.flush()
    members = [
        {"org_id": ctx.org_id, "id": new_id(), "session_id": s.id, "cycle_id": cycle.id, "employee_id": e} for e in ids
    ]
    for chunk in repo.chunks(members, 2000):
        await ctx.session.execute(insert(CalibrationMember), list(chunk))
    await audit.record(
        ctx.session,
        ctx.principal,
        "calibration.created",
        "calibration",
        s.id,
        None,
        {
            "cycle_id": str(cycle.id),
            "name": s.name,
            "department_id": str(s.department_id) if s.department_id else None,
            "distribution_mode": s.distribution_mode,
            "employee_ids": [str(e) for e in ids],
        },
    )
    return s


# --- adjustments -------------------------------------------------------------------------------


async def _open_session(ctx: Ctx, s: CalibrationSession) -> Cycle:
    cycle = await load_cycle(ctx, s.cycle_id)
    assert cycle is not None
    ensure_writable(cycle)
    if s.status != "open":
        raise Conflict("the calibration is finalized and locked", extra={"calibration_status": s.status})
    return cycle


async def list_adjustments(
    ctx: Ctx, session_id: uuid.UUID, params: PageParams, employee_id: uuid.UUID | None = None
) -> Page[CalibrationAdjustment]:
    s = await get_session(ctx, session_id)
    stmt = repo.adjustments(ctx.org_id, s.id)
    if employee_id is not None:
        stmt = stmt.where(CalibrationAdjustment.employee_id == employee_id)
    return await paginate(ctx.session, stmt, CalibrationAdjustment.id, params)


async def add_adjustment(ctx: Ctx, session_id: uuid.UUID, data: CalibrationAdjustmentCreate) -> CalibrationAdjustment:
    s = await get_session(ctx, session_id)
    require(policy.manage_calibrations(ctx.principal), "calibration")
    if not policy.adjust_calibration(ctx.principal, await relation(ctx, data.employee_id)).allowed:
        raise Forbidden("nobody calibrates their own score")
    if data.employee_id not in await member_ids(ctx, s):
        raise ValidationFailed.field("employee_id", "not a member of this calibration")
    cycle = await load_cycle(ctx, s.cycle_id)
    assert cycle is not None
    await locks.ensure_open(ctx, cycle, [data.employee_id], rolls_up=False)
    await _open_session(ctx, s)
    reason = data.reason.strip()
    if not reason:
        raise ValidationFailed.field("reason", "an adjustment needs a reason")
    p = ctx.principal
    a = CalibrationAdjustment(
        org_id=ctx.org_id,
        id=new_id(),
        session_id=s.id,
        cycle_id=s.cycle_id,
        employee_id=data.employee_id,
        delta=data.delta,
        reason=reason,
        author=p.actor,
        author_employee_id=p.employee_id,
        created_at=utcnow(),
    )
    ctx.session.add(a)
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        p,
        "calibration.adjusted",
        "calibration_adjustment",
        a.id,
        None,
        {
            "calibration_id": str(s.id),
            "cycle_id": str(s.cycle_id),
            "employee_id": str(a.employee_id),
            "delta": str(a.delta),
            "reason": reason,
            "author": p.actor,
        },
        reason=reason,
    )
    return a


# --- distribution, simulation, finalization ------------------------------------------------------


@dataclass
class Outcome:
    read: DistributionRead
    scored: list[scoring.Scored]
    enforced: dict[uuid.UUID, str]
    computed: dict[uuid.UUID, str | None]


def _bands(policy_params: Any, ratings: list[str | None]) -> tuple[str | None, list[BandRead]]:
    dist = policy_params.distribution
    if dist is None:
        return None, [
            BandRead(rating=r, pct=None, allowed=None, actual=sum(1 for x in ratings if x == r))
            for r, _ in sorted(policy_params.bands, key=lambda b: b[1], reverse=True)
        ]
    report = distribution_report(ratings, dist.bands)
    return dist.mode, [BandRead(rating=b.rating, pct=b.pct, allowed=b.allowed, actual=b.actual) for b in report]


def _merge(groups: list[DistributionGroup]) -> list[BandRead]:
    merged: dict[str, BandRead] = {}
    for g in groups:
        for b in g.bands:
            if b.rating not in merged:
                merged[b.rating] = BandRead(rating=b.rating, pct=b.pct, allowed=b.allowed, actual=b.actual)
                continue
            m = merged[b.rating]
            m.pct = m.pct if m.pct == b.pct else None
            m.allowed = None if m.allowed is None or b.allowed is None else m.allowed + b.allowed
            m.actual += b.actual
    return list(merged.values())


def _applied(mode: str, members_scored: list[scoring.Scored], bands: Sequence[tuple[str, Any]]) -> dict[uuid.UUID, str]:
    """The ratings an enforced guideline gives a group in the session's mode."""
    if mode == "cap":
        return capped_ratings(
            [
                (sc.employee.id, sc.result.final, sc.result.rating)
                for sc in members_scored
                if sc.result.final is not None
            ],
            bands,
        )
    return enforced_ratings(
        [(sc.employee.id, sc.result.final) for sc in members_scored if sc.result.final is not None], bands
    )


async def outcome(
    ctx: Ctx,
    s: CalibrationSession,
    proposed: dict[uuid.UUID, list[Adjustment]] | None = None,
    simulated: bool = False,
    mode: str | None = None,
) -> Outcome:
    cycle = await load_cycle(ctx, s.cycle_id)
    assert cycle is not None
    members = (await repo.members_of(ctx.session, ctx.org_id, [s.id]))[s.id]
    stored = {m.employee_id: m for m in members}
    rows = await scoring.population(ctx, cycle, list(stored))
    scored = await records.official_or_live(ctx, cycle, rows, extra_adjustments=proposed)
    finalized = s.status == "finalized"
    applied: str = s.distribution_mode if finalized or mode is None else mode  # a finalized session's is fixed
    computed: dict[uuid.UUID, str | None] = {}
    for sc in scored:  # an open session's members have no enforced rating yet
        computed[sc.employee.id] = stored[sc.employee.id].computed_rating if finalized else sc.result.rating
    by_policy: dict[tuple[Any, int], list[scoring.Scored]] = {}
    for sc in scored:
        by_policy.setdefault((sc.policy.id, sc.policy.version), []).append(sc)
    groups: list[DistributionGroup] = []
    enforced: dict[uuid.UUID, str] = {}
    for (pid, version), members_scored in by_policy.items():
        params = members_scored[0].policy
        mode, bands = _bands(params, [sc.result.rating for sc in members_scored])
        if params.distribution is not None and params.distribution.mode == "enforced":
            if finalized:
                for sc in members_scored:
                    enforced_rating = stored[sc.employee.id].enforced_rating
                    if enforced_rating:
                        enforced[sc.employee.id] = enforced_rating
            else:
                enforced.update(_applied(applied, members_scored, params.distribution.bands))
        groups.append(
            DistributionGroup(
                policy=PolicyRefRead(id=pid, version=version),
                mode=mode,
                employee_ids=[sc.employee.id for sc in members_scored],
                bands=bands,
            )
        )
    employees = [
        MemberResult(
            employee_id=sc.employee.id,
            status=sc.result.status,
            composite=round_points(sc.result.composite) if sc.result.composite is not None else None,
            calibration_delta=round_points(sc.result.calibration_delta),
            final=round_points(sc.result.final) if sc.result.final is not None else None,
            rating=sc.result.rating,
            computed_rating=computed[sc.employee.id],
            enforced_rating=enforced.get(sc.employee.id),
            flags=list(sc.result.flags),
        )
        for sc in scored
    ]
    read = DistributionRead(
        calibration_id=s.id,
        cycle_id=s.cycle_id,
        status=s.status,
        simulated=simulated,
        distribution_mode=applied,
        bands=_merge(groups),
        groups=groups,
        employees=employees,
    )
    return Outcome(read=read, scored=scored, enforced=enforced, computed=computed)


async def distribution(ctx: Ctx, session_id: uuid.UUID) -> DistributionRead:
    s = await get_session(ctx, session_id)
    return (await outcome(ctx, s)).read


async def simulate(ctx: Ctx, session_id: uuid.UUID, data: SimulateIn) -> DistributionRead:
    """The same computation with proposed adjustments added to the recorded ones;
    nothing is written."""
    s = await get_session(ctx, session_id)
    require(policy.manage_calibrations(ctx.principal), "calibration")
    members = set(await member_ids(ctx, s))
    proposed: dict[uuid.UUID, list[Adjustment]] = {}
    for n, adj in enumerate(data.adjustments):
        if adj.employee_id not in members:
            raise ValidationFailed(
                "not a member",
                errors=[{"loc": ["body", "adjustments", n, "employee_id"], "msg": "not a member of this calibration"}],
            )
        proposed.setdefault(adj.employee_id, []).append(
            Adjustment(delta=adj.delta, reason=adj.reason or "what-if", author=ctx.principal.actor)
        )
    return (await outcome(ctx, s, proposed, simulated=True, mode=data.distribution_mode)).read


async def finalize(ctx: Ctx, session_id: uuid.UUID, expected: IfMatch | None = None) -> CalibrationSession:
    s = await get_session(ctx, session_id)
    require(policy.manage_calibrations(ctx.principal), "calibration")
    ids = await member_ids(ctx, s)
    me = ctx.principal.employee_id
    if me is not None and me in ids:
        raise Forbidden("nobody finalizes a calibration of their own score")
    cycle = await _open_session(ctx, s)
    check_version(expected, s.version)
    await records.lock_cycle_row(ctx, cycle)
    if cycle.status != "calibration":
        raise Conflict(
            f"finalizing needs the cycle in calibration (policies pinned); it is {cycle.status}",
            extra={"cycle_status": cycle.status},
        )
    evaluations = await repo.evaluations_in_cycle(ctx.session, ctx.org_id, cycle.id, ids)
    not_ready = [e for e in ids if e not in evaluations or evaluations[e].status != "manager_review"]
    if not_ready:
        raise Conflict(
            "every member needs an evaluation with a submitted manager review",
            extra={
                "errors": [{"loc": ["employee_ids"], "msg": f"not ready: {e}"} for e in sorted(map(str, not_ready))][
                    :50
                ]
            },
        )
    result = await outcome(ctx, s)
    now = utcnow()
    members = {m.employee_id: m for m in (await repo.members_of(ctx.session, ctx.org_id, [s.id]))[s.id]}
    finals = {sc.employee.id: sc.result.final for sc in result.scored}
    for emp, m in members.items():
        m.final = finals.get(emp)
        m.computed_rating = result.computed.get(emp)
        m.enforced_rating = result.enforced.get(emp)
    await ctx.session.flush()  # before the session is finalized: the database then refuses changes
    changes = []
    for emp in ids:
        ev: Evaluation = evaluations[emp]
        changes.append((ev.id, {"status": ev.status}, {"status": "calibrated", "calibration_id": str(s.id)}))
        ev.status, ev.calibrated_at, ev.calibration_id = "calibrated", now, s.id
    s.status, s.finalized_at, s.finalized_by = "finalized", now, ctx.principal.actor
    await ctx.session.flush()
    # The members' results become official: the score of record, with the enforced ratings.
    await records.finalize(
        ctx, cycle, await scoring.population(ctx, cycle, ids), source="calibration", calibration_id=s.id
    )
    outcomes = [
        {
            "employee_id": str(emp),
            "final": str(round_points(final)) if (final := finals.get(emp)) is not None else None,
            "computed_rating": members[emp].computed_rating,
            "enforced_rating": members[emp].enforced_rating,
        }
        for emp in ids
    ]
    await audit.record(
        ctx.session,
        ctx.principal,
        "calibration.finalized",
        "calibration",
        s.id,
        {"status": "open"},
        {"status": "finalized", "results": outcomes},
    )
    await audit.record_many(ctx.session, ctx.principal, "evaluation.calibrated", "evaluation", changes)
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        "calibration.finalized",
        CalibrationFinalized(
            calibration_id=s.id,
            cycle_id=s.cycle_id,
            count=len(ids),
            results=[
                CalibrationFinalizedResult(**o, rating=o["enforced_rating"] or o["computed_rating"])
                for o in outcomes[:10000]
            ],
            actor=ctx.principal.actor,
        ),
    )
    return s
