"""Nominations: the results of okr_breakthrough plans (SPEC section 8), a promotion-track
or training nomination for each employee who owns an aspirational objective scored at
or above the plan's `min_objective_score` and whose rating is listed (the rule itself is
`calc.nomination`). They carry no money and never reach payroll.

Each nomination has its own decision: approve or decline (with a comment), by hr/admin;
an approved nomination may then be finalized, which locks it like any result. The same
rows are incentive results, so `/incentive-results` lists them too (`kind=nomination`).

What a nomination is for is named `nomination_kind` everywhere (plan parameters, both
lists and their filters, the events); the older names (`kind` of a nomination, `nomination`
of a result, the `?kind=` and `?nomination=` filters, the events' `kind`) still work and
are deprecated (`one_kind` reconciles a filter given under both names).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from service.auth.context import Ctx
from service.development import repository as development
from service.errors import NotFound, ValidationFailed
from service.incentives import results
from service.incentives.models import IncentiveResult
from service.incentives.schemas import NominationRead
from service.kit.etag import IfMatch
from service.kit.pagination import Page, PageParams

DECISIONS = ("approve", "decline", "finalize")


def one_kind(nomination_kind: str | None, old: str | None, old_name: str) -> str | None:
    """The nomination kind to filter by, given as `nomination_kind` or under its deprecated
    name `old_name`: either, or both when they agree (422 when they do not)."""
    if nomination_kind is not None and old is not None and nomination_kind != old:
        msg = f"nomination_kind and its deprecated name {old_name} disagree; give one of them"
        raise ValidationFailed(msg, errors=[{"loc": ["query", old_name], "msg": msg}])
    return nomination_kind if nomination_kind is not None else old


def nomination_read(
    r: IncentiveResult, links: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID | None]] | None = None
) -> NominationRead:
    """The read model; `links` holds the development plan (and its review meeting) of
    the nominations that have one (`nomination_reads` reads them for a page at once)."""
    plan_id, meeting_id = (links or {}).get(r.id, (None, None))
    return NominationRead(
        id=r.id,
        plan_id=r.plan_id,
        employee_id=r.employee_id,
        nomination_kind=r.nomination or "",
        kind=r.nomination or "",
        status=r.status,
        period_start=r.period_start,
        period_end=r.period_end,
        inputs=results.redact(r.inputs),
        decision_comment=r.decision_comment,
        approved_at=r.approved_at,
        approved_by=r.approved_by,
        declined_at=r.declined_at,
        declined_by=r.declined_by,
        finalized_at=r.finalized_at,
        development_plan_id=plan_id,
        review_meeting_id=meeting_id,
        version=r.version,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


async def nomination_reads(ctx: Ctx, rows: Sequence[IncentiveResult]) -> list[NominationRead]:
    """The read models of many nominations, their development plan links in one query."""
    links = await development.nomination_links(ctx.session, ctx.org_id, [r.id for r in rows])
    return [nomination_read(r, links) for r in rows]


async def list_nominations(
    ctx: Ctx,
    params: PageParams,
    *,
    plan_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> Page[IncentiveResult]:
    filters = results.ResultFilters(
        plan_id=plan_id, employee_id=employee_id, status=status, kind="nomination", cycle_id=cycle_id, nomination=kind
    )
    return await results.list_results(ctx, params, filters)


async def get_nomination(ctx: Ctx, nomination_id: uuid.UUID) -> IncentiveResult:
    r, _ = await results.get_result(ctx, nomination_id)
    if r.kind != "nomination":
        raise NotFound("nomination not found")
    return r


async def decide(
    ctx: Ctx, nomination_id: uuid.UUID, decision: str, comment: str | None = None, expected: IfMatch | None = None
) -> IncentiveResult:
    """Approve, decline or finalize one nomination (the result lifecycle's transitions)."""
    if decision not in DECISIONS:
        raise NotFound(f"no action {decision!r}")
    await get_nomination(ctx, nomination_id)
    return await results.transition(ctx, nomination_id, decision, comment, expected)
