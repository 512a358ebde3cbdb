"""The evaluation part of an employee's score inputs (SPEC sections 6 and 7), loaded
set-wise for any number of employees in a constant number of queries:

- `manager_rating`: the submitted manager review's overall rating (a saved draft does
  not count);
- `peer_ratings`: the submitted 360 ratings, in ascending order (an order that says
  nothing about who gave which);
- `adjustments`: every calibration adjustment recorded for the cycle (they count as soon
  as recorded);
- `rating_override`: the rating an enforced distribution gave at finalization;
- `peer_ratings_shown`: for the evaluated employee reading their own score, the
  anonymous form of the peer ratings (count and mean, only once enough reviewers
  answered), which replaces the list in the explanation (SPEC section 10).

A recompute chunk (`ScoringScope.employee_range`) reads only its id range.

Only the cycle itself counts: an evaluation or calibration of a quarter is not one of
its year. Registered with the scores module's loader registry, which imports no
evaluation code."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from service.auth.context import Ctx
from service.evaluations.models import (
    CalibrationAdjustment,
    CalibrationMember,
    CalibrationSession,
    Evaluation,
    PeerRequest,
)
from service.org.service import org_settings
from service.scoring.composite import Adjustment
from service.scoring.service import ScoringScope, anonymous_peer_ratings, input_loader, who

SMALL_SET = 100


@input_loader
async def evaluation_loader(ctx: Ctx, scope: ScoringScope) -> dict[uuid.UUID, dict[str, Any]]:
    wanted = set(scope.employee_ids)
    org, cycle_id = ctx.org_id, scope.cycle.id

    def only(column: Any) -> list[Any]:
        # A few employees (a write re-scoring whom it touched) are read by id; a larger
        # set cycle-wide and filtered here (a cycle has few evaluation rows per
        # employee); a recompute chunk reads its id range only.
        return who(column, wanted, scope.employee_range, SMALL_SET)

    out: dict[uuid.UUID, dict[str, Any]] = {}

    def part(emp: uuid.UUID) -> dict[str, Any]:
        return out.setdefault(emp, {})

    manager_rows = await ctx.session.execute(
        select(Evaluation.employee_id, Evaluation.manager_rating).where(
            Evaluation.org_id == org,
            Evaluation.cycle_id == cycle_id,
            Evaluation.manager_submitted_at.is_not(None),
            Evaluation.manager_rating.is_not(None),
            *only(Evaluation.employee_id),
        )
    )
    for emp, rating in manager_rows:
        if emp in wanted:
            assert rating is not None  # the query leaves out null ratings
            part(emp)["manager_rating"] = Decimal(rating)

    peers: dict[uuid.UUID, list[Decimal]] = {}
    peer_rows = await ctx.session.execute(
        select(PeerRequest.employee_id, PeerRequest.rating).where(
            PeerRequest.org_id == org,
            PeerRequest.cycle_id == cycle_id,
            PeerRequest.status == "submitted",
            PeerRequest.rating.is_not(None),
            *only(PeerRequest.employee_id),
        )
    )
    for emp, rating in peer_rows:
        if emp in wanted:
            assert rating is not None  # the query leaves out null ratings
            peers.setdefault(emp, []).append(Decimal(rating))
    for emp, ratings in peers.items():
        part(emp)["peer_ratings"] = sorted(ratings)

    adjustments = await ctx.session.execute(
        select(CalibrationAdjustment)
        .where(
            CalibrationAdjustment.org_id == org,
            CalibrationAdjustment.cycle_id == cycle_id,
            *only(CalibrationAdjustment.employee_id),
        )
        .order_by(CalibrationAdjustment.id)
    )
    for a in adjustments.scalars():
        if a.employee_id in wanted:
            part(a.employee_id).setdefault("adjustments", []).append(
                Adjustment(delta=a.delta, reason=a.reason, author=a.author, id=a.id)
            )

    enforced = await ctx.session.execute(
        select(CalibrationMember.employee_id, CalibrationMember.enforced_rating)
        .join(
            CalibrationSession,
            (CalibrationSession.org_id == CalibrationMember.org_id)
            & (CalibrationSession.id == CalibrationMember.session_id),
        )
        .where(
            CalibrationMember.org_id == org,
            CalibrationMember.cycle_id == cycle_id,
            CalibrationSession.status == "finalized",
            CalibrationMember.enforced_rating.is_not(None),
            *only(CalibrationMember.employee_id),
        )
    )
    for emp, enforced_rating in enforced:
        if emp in wanted:
            part(emp)["rating_override"] = enforced_rating

    me = ctx.principal.employee_id
    if me is not None and me in wanted and not ctx.principal.is_client:
        minimum = int((await org_settings(ctx))["peer_feedback_min_reviewers"])
        part(me)["peer_ratings_shown"] = anonymous_peer_ratings(peers.get(me, []), minimum)
    return out
