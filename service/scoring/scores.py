"""Score use cases: read one, list a cycle's (cursor pages, filters), recompute as a job."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from service.auth.context import Ctx
from service.authz import policy as authz
from service.authz.enforce import relation, require
from service.config import get_settings
from service.cycles.models import Cycle
from service.cycles.service import get_cycle
from service.db import bulk_read_settings
from service.errors import NotFound, ValidationFailed
from service.kit import audit, export, hierarchy, search
from service.kit.chunks import chunks
from service.kit.export import Column, CsvExport, csv_text, snapshot_session
from service.kit.pagination import Page, PageParams, Position, Sorting, SortKey, SortSpec, decode_position, window
from service.observability import observe_job
from service.org.models import Employee
from service.org.repository import employees_matching, names_of
from service.scoring import freshness, jobs, records, stored
from service.scoring import service as scoring
from service.scoring.composite import COMPONENTS
from service.scoring.models import ScoreJob
from service.scoring.numbers import round_fraction, round_points
from service.scoring.schemas import PolicyRef, ScoreRead, ScoreVersionRead
from service.types import new_id, utcnow

log = structlog.get_logger("service.scoring")


def _pts(v: Any) -> Any:
    return round_points(v) if v is not None else None


def _fields(cycle: Cycle, scored: scoring.Scored, explain: bool) -> dict[str, Any]:
    r, rec = scored.result, scored.record
    return dict(
        employee_id=scored.employee.id,
        cycle_id=cycle.id,
        status=r.status,
        components={k: _pts(v) for k, v in r.components.items()},
        weights={k: round_fraction(v) for k, v in r.weights.items()},
        composite=_pts(r.composite),
        calibration_delta=round_points(r.calibration_delta),
        final=_pts(r.final),
        rating=r.rating,
        flags=list(r.flags),
        policy=PolicyRef(id=scored.policy.id, version=scored.policy.version),
        official=rec is not None,
        finalized_at=rec.finalized_at if rec is not None else None,
        record_version=rec.version if rec is not None else None,
        explanation=scoring.jsonable(r.explanation) if explain else None,
    )


def score_read(cycle: Cycle, scored: scoring.Scored, explain: bool = True) -> ScoreRead:
    """The score as the API shows it: the record when official, else live."""
    return ScoreRead(**_fields(cycle, scored, explain))


def version_read(cycle: Cycle, scored: scoring.Scored) -> ScoreVersionRead:
    rec = scored.record
    return ScoreVersionRead(
        **_fields(cycle, scored, True),
        source=rec.source,
        calibration_id=rec.calibration_id,
        reason=rec.reason,
        changes=rec.changes,
        created_by=rec.created_by,
        created_at=rec.created_at,
    )


async def get_score(ctx: Ctx, cycle_id: uuid.UUID, employee_id: uuid.UUID) -> tuple[Cycle, scoring.Scored]:
    cycle = await get_cycle(ctx, cycle_id)
    rel = await relation(ctx, employee_id)
    decision = authz.read_subject(ctx.principal, rel)
    if ctx.principal.is_client or not decision.allowed:
        raise NotFound("score not found")
    rows = await scoring.population(ctx, cycle, [employee_id])
    if not rows:
        raise NotFound("this employee is not scored in this cycle")
    return cycle, (await records.official_or_live(ctx, cycle, rows))[0]


async def scores_of(ctx: Ctx, cycle_id: uuid.UUID, employee_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ScoreRead]:
    """`get_score` for many employees at once, without the errors: the scores the caller
    may read (`read_subject`, no integration client) of those scored in the cycle, the
    record where official, else computed in one batch (`records.official_or_live`, as
    GET /cycles/{id}/scores scores a page). Absent: not visible, not scored, or a cycle
    the caller may not read."""
    try:
        cycle = await get_cycle(ctx, cycle_id)
    except NotFound:
        return {}
    p = ctx.principal
    if p.is_client:
        return {}
    reports = await ctx.reports()
    wanted = [e for e in dict.fromkeys(employee_ids) if authz.read_subject(p, authz.relation_to(p, e, reports)).allowed]
    rows = await scoring.population(ctx, cycle, wanted) if wanted else []
    if not rows:
        return {}
    return {s.employee.id: score_read(cycle, s) for s in await records.official_or_live(ctx, cycle, rows)}


async def visible_population(
    ctx: Ctx,
    cycle: Cycle,
    department_id: uuid.UUID | None,
    manager_id: uuid.UUID | None,
    *,
    subtree: bool = False,
    q: str | None = None,
) -> list[Any]:
    """The cycle's scored employees the caller may see, narrowed by the filters: the
    filters only ever remove rows (a manager or department outside the caller's view
    leaves the list empty)."""
    hierarchy.check_people_filter(manager_id, subtree)
    words = search.terms(q)
    if ctx.principal.is_client:
        return []
    rows = await scoring.population(ctx, cycle)
    if not authz.reads_everything(ctx.principal):
        allowed = set(await ctx.reports())
        if ctx.principal.employee_id is not None:
            allowed.add(ctx.principal.employee_id)
        rows = [r for r in rows if r.id in allowed]
    if department_id is not None:
        rows = [r for r in rows if r.department_id == department_id]
    if manager_id is not None:
        if subtree:
            below = await hierarchy.subtree_ids(ctx.session, ctx.org_id, manager_id)
            rows = [r for r in rows if r.id in below]
        else:
            rows = [r for r in rows if r.manager_id == manager_id]
    if words and rows:
        found = {r[0] for r in await ctx.session.execute(employees_matching(ctx.org_id, words))}
        rows = [r for r in rows if r.id in found]
    return rows


# Scores are computed (or read from the record) in Python, so their order is applied in
# memory, with the same rules and cursors as the SQL lists (`kit.pagination.window`). The
# score keys sort by the values shown (points rounded to 2 places).
SCORE_SORT = Sorting(
    SortKey("final", kind="decimal", nullable=True),
    SortKey("composite", kind="decimal", nullable=True),
    SortKey("family_name"),
    SortKey("given_name"),
)
SCORED_KEYS = frozenset({"final", "composite"})
NAME_KEYS = frozenset({"family_name", "given_name"})


@dataclass
class _Listing:
    cycle: Cycle
    rows: list[Any]  # the visible population, filtered
    spec: SortSpec
    names: dict[uuid.UUID, Any]  # id → external_id and names (when the sort or the export needs them)
    rating: str | None

    @property
    def needs_scores(self) -> bool:
        """The rating filter and the score keys are known only once everyone is scored."""
        return self.rating is not None or bool(self.spec.names() & SCORED_KEYS)

    def position(self, employee_id: uuid.UUID, read: ScoreRead | None) -> Position:
        values = []
        for key, _ in self.spec.keys:
            if key.name in SCORED_KEYS:
                values.append(getattr(read, key.name))
            else:
                values.append(getattr(self.names[employee_id], key.name))
        return Position(tuple(values), employee_id)


async def _listing(
    ctx: Ctx,
    cycle_id: uuid.UUID,
    *,
    department_id: uuid.UUID | None,
    manager_id: uuid.UUID | None,
    subtree: bool,
    q: str | None,
    sort: str | Sequence[str] | None,
    rating: str | None,
    with_names: bool,
) -> _Listing:
    cycle = await get_cycle(ctx, cycle_id)
    check_rating(rating)
    spec = SCORE_SORT.parse(sort)
    rows = await visible_population(ctx, cycle, department_id, manager_id, subtree=subtree, q=q)
    names = {}
    if rows and (with_names or spec.names() & NAME_KEYS):
        names = await names_of(ctx.session, ctx.org_id, [r.id for r in rows])
    return _Listing(cycle, rows, spec, names, rating)


async def _live_reads(ctx: Ctx, cycle: Cycle, rows: Sequence[Any], explain: bool = False) -> list[ScoreRead]:
    return [score_read(cycle, s, explain) for s in await records.official_or_live(ctx, cycle, rows, explain=explain)]


async def _scored_reads(ctx: Ctx, listing: _Listing, rows: Sequence[Any], explain: bool = False) -> list[ScoreRead]:
    reads = await _live_reads(ctx, listing.cycle, rows, explain)
    return [r for r in reads if listing.rating is None or r.rating == listing.rating]


def _walk(params: PageParams) -> dict[str, Any]:
    """`window`'s cursor arguments for a page's parameters (forward or backward)."""
    if params.backward:
        return {"before": params.cursor, "backward": True}
    return {"after": params.cursor}


async def list_scores_page(
    ctx: Ctx,
    cycle_id: uuid.UUID,
    params: PageParams,
    *,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    rating: str | None = None,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
    explain: bool = False,
) -> Page[ScoreRead]:
    """A page of the cycle's visible scores in `sort` order (employee id order by
    default), forward from `params.cursor` or, with `params.backward` (GraphQL's
    `last`/`before`), the rows before it. Once the cycle's stored scores are complete
    (service/scoring/freshness.py) the page is read from them in SQL; until then it is
    computed live: sorting by a score (or filtering by rating) scores every visible
    employee first, otherwise only the page's employees are scored."""
    cycle = await get_cycle(ctx, cycle_id)
    check_rating(rating)
    hierarchy.check_people_filter(manager_id, subtree)
    if not ctx.principal.is_client and await freshness.is_complete(ctx.session, ctx.org_id, cycle.id):
        where = stored.PageFilter(department_id, manager_id, subtree, rating, search.terms(q))
        found = await stored.page(ctx, cycle, params, sort, where)
        items = [stored.read_of(r) for r in found.items]
        if explain and items:
            rows = await scoring.population(ctx, cycle, [r.employee_id for r in items])
            explained = {r.employee_id: r for r in await _live_reads(ctx, cycle, rows, explain=True)}
            items = [explained.get(r.employee_id, r) for r in items]
        # a page in id order carries no positions; its items' cursors are their employees'
        positions = found.positions or [Position((), r.employee_id) for r in items]
        return Page(items, found.next_cursor, found.previous_cursor, found.sort, positions)
    listing = await _listing(
        ctx,
        cycle_id,
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        q=q,
        sort=sort,
        rating=rating,
        with_names=False,
    )
    spec, by_id = listing.spec, {r.id: r for r in listing.rows}
    if listing.needs_scores:
        reads = await _scored_reads(ctx, listing, listing.rows)
        page = window(
            reads,
            spec,
            lambda r: listing.position(r.employee_id, r),
            limit=params.limit,
            **_walk(params),
        )
        if explain and page.items:
            page.items = await _scored_reads(ctx, listing, [by_id[r.employee_id] for r in page.items], explain=True)
        return page
    chosen = window(
        listing.rows,
        spec,
        lambda r: listing.position(r.id, None),
        limit=params.limit,
        **_walk(params),
    )
    items = await _scored_reads(ctx, listing, chosen.items, explain=explain)
    return Page(items, chosen.next_cursor, chosen.previous_cursor, spec, chosen.positions)


async def list_scores(
    ctx: Ctx,
    cycle_id: uuid.UUID,
    params: PageParams,
    *,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    rating: str | None = None,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
    explain: bool = False,
) -> tuple[list[ScoreRead], str | None]:
    """`list_scores_page` as (items, next cursor)."""
    page = await list_scores_page(
        ctx,
        cycle_id,
        params,
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        rating=rating,
        q=q,
        sort=sort,
        explain=explain,
    )
    return list(page.items), page.next_cursor


def _first(pair: tuple[Position, Any]) -> Position:
    return pair[0]


@dataclass(frozen=True)
class ExportRow:
    score: ScoreRead
    person: Any


def _component(name: str) -> Column[ExportRow]:
    return Column(name, lambda r: r.score.components.get(name))


SCORE_COLUMNS: list[Column[ExportRow]] = [
    Column("employee_id", lambda r: r.score.employee_id),
    Column("employee_external_id", lambda r: r.person.external_id, typed=True),
    Column("given_name", lambda r: r.person.given_name, typed=True),
    Column("family_name", lambda r: r.person.family_name, typed=True),
    Column("cycle_id", lambda r: r.score.cycle_id),
    Column("status", lambda r: r.score.status),
    *(_component(c) for c in COMPONENTS),
    Column("composite", lambda r: r.score.composite),
    Column("calibration_delta", lambda r: r.score.calibration_delta),
    Column("final", lambda r: r.score.final),
    Column("rating", lambda r: r.score.rating),
    Column("flags", lambda r: r.score.flags),
    Column("policy_id", lambda r: r.score.policy.id),
    Column("policy_version", lambda r: r.score.policy.version),
    Column("official", lambda r: r.score.official),
    Column("finalized_at", lambda r: r.score.finalized_at),
    Column("record_version", lambda r: r.score.record_version),
]


async def export_scores(
    ctx: Ctx,
    cycle_id: uuid.UUID,
    *,
    cursor: str | None = None,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    rating: str | None = None,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
) -> CsvExport:
    """The cycle's visible scores as CSV, in the list's order, after `cursor`, from one
    snapshot (service/kit/export.py). Once the cycle's stored scores are complete (in
    that snapshot) the rows are read from them, `export.CHUNK` at a time in keyset pages
    like the list's, and nobody is scored. Until then the employees are scored
    `export.CHUNK` at a time while the answer is sent; sorted by a score (or filtered by
    rating), the export scores everyone twice: a first pass keeps only each employee's
    sort values, the second writes the rows in order; memory holds those values, never
    the scores."""
    listing = await _listing(
        ctx,
        cycle_id,
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        q=q,
        sort=sort,
        rating=rating,
        with_names=True,
    )
    if cursor:
        decode_position(listing.spec, cursor)  # a bad cursor is a 422 now, not a broken stream later
    principal, org_id = ctx.principal, ctx.org_id

    async def pieces() -> AsyncIterator[list[ExportRow]]:
        async with snapshot_session(replica=True) as session:
            sctx = Ctx(session=session, principal=principal)
            found = await session.get(Cycle, (org_id, cycle_id))
            if found is None:
                return
            listing.cycle = found
            if not principal.is_client and await freshness.is_complete(session, org_id, cycle_id):
                where = stored.PageFilter(department_id, manager_id, subtree, rating, search.terms(q))
                async for rows in _stored_export(sctx, found, cursor, sort, where):
                    yield rows
                return
            pairs: list[tuple[Position, Any]] = []
            if listing.needs_scores:
                by_id = {r.id: r for r in listing.rows}
                for part in chunks(listing.rows, export.CHUNK):  # pass 1: the sort values only
                    for read in await _scored_reads(sctx, listing, part):
                        pairs.append((listing.position(read.employee_id, read), by_id[read.employee_id]))
            else:
                pairs = [(listing.position(r.id, None), r) for r in listing.rows]
            ordered = [row for _, row in window(pairs, listing.spec, _first, limit=len(pairs) or 1, after=cursor).items]
            for part in chunks(ordered, export.CHUNK):
                reads = await _scored_reads(sctx, listing, part)
                yield [ExportRow(r, listing.names[r.employee_id]) for r in reads]

    return CsvExport(f"scores-{cycle_id}.csv", csv_text(SCORE_COLUMNS, pieces()))


async def _stored_export(
    ctx: Ctx, cycle: Cycle, cursor: str | None, sort: str | Sequence[str] | None, where: stored.PageFilter
) -> AsyncIterator[list[ExportRow]]:
    """The export's rows from the stored scores: the list's keyset pages, `export.CHUNK`
    rows each, with the people's names read for each page."""
    params = PageParams(limit=export.CHUNK, cursor=cursor)
    while True:
        found = await stored.page(ctx, cycle, params, sort, where)
        reads = [stored.read_of(r) for r in found.items]
        names = await names_of(ctx.session, ctx.org_id, [r.employee_id for r in reads]) if reads else {}
        yield [ExportRow(r, names[r.employee_id]) for r in reads]
        if found.next_cursor is None:
            return
        params = PageParams(limit=export.CHUNK, cursor=found.next_cursor)


# --- recompute -----------------------------------------------------------------------------------


async def recompute_cycle(ctx: Ctx, cycle: Cycle) -> tuple[int, int]:
    """Stores every score of the cycle in this transaction at the cycle's inputs version
    (`freshness.begin`, `stored.rescore` through `jobs.store_span`, `freshness.complete`),
    and emits one `score.updated` event naming the employees whose final or rating
    changed. The inline path of `start_recompute`; larger cycles run as a job of chunks.
    The cyclic garbage collector waits until the end (see scoring.collector_paused)."""
    with scoring.collector_paused():
        return await _recompute(ctx, cycle)


async def _recompute(ctx: Ctx, cycle: Cycle) -> tuple[int, int]:
    await bulk_read_settings(ctx.session)
    version = await freshness.begin(ctx.session, ctx.org_id, cycle.id)
    out = await jobs.store_span(ctx, cycle, version, jobs.LOWEST, jobs.HIGHEST)
    await freshness.complete(ctx.session, ctx.org_id, cycle.id, version)
    await jobs.emit_changed(ctx.session, ctx.org_id, cycle.id, out.changed)
    return out.employees, len(out.changed)


async def start_recompute(ctx: Ctx, cycle_id: uuid.UUID) -> ScoreJob:
    """Small cycles (`SCORE_INLINE_MAX` employees at most) are recomputed inside the
    request; larger ones are queued as a job of leased chunks that runners (the worker,
    and the API process with `SCORE_JOBS_IN_API`) share, polled at GET
    /api/v1/score-jobs/{id} (service/scoring/jobs.py). A job already queued or running
    for the cycle's current inputs is answered instead of a second one."""
    cycle = await get_cycle(ctx, cycle_id)
    require(authz.recompute_scores(ctx.principal), "scores")
    size = await jobs.population_size(ctx.session, ctx.org_id, cycle)
    if size <= get_settings().score_inline_max:
        version = await freshness.begin(ctx.session, ctx.org_id, cycle.id)
        now = utcnow()
        job = ScoreJob(
            org_id=ctx.org_id,
            id=new_id(),
            cycle_id=cycle.id,
            status="running",
            requested_by=ctx.principal.actor,
            created_at=now,
            started_at=now,
            attempts=1,
            total=size,
            done=0,
            inputs_version=version,
            reason="requested",
        )
        ctx.session.add(job)
        with observe_job("score_recompute", mode="inline"):
            job.employees, job.changed = await recompute_cycle(ctx, cycle)
        job.status, job.finished_at, job.done = "succeeded", utcnow(), size
        await ctx.session.flush()
    else:
        job = await jobs.queue(ctx.session, ctx.org_id, cycle.id, requested_by=ctx.principal.actor, reason="requested")
        ctx.after_commit(jobs.wake)
    await audit.record(ctx.session, ctx.principal, "scores.recompute", "cycle", cycle.id, after={"job_id": str(job.id)})
    return job


async def get_job(ctx: Ctx, job_id: uuid.UUID) -> ScoreJob:
    if not authz.read_score_jobs(ctx.principal).allowed:
        raise NotFound("job not found")
    job = await ctx.session.get(ScoreJob, (ctx.org_id, job_id))
    if job is None:
        raise NotFound("job not found")
    return await jobs.settle(ctx.session, job)


def check_rating(rating: str | None) -> None:
    if rating is not None and not (0 < len(rating) <= 10):
        raise ValidationFailed("invalid rating", errors=[{"loc": ["query", "rating"], "msg": "1 to 10 characters"}])


__all__ = ["Employee", "get_score", "list_scores", "start_recompute", "get_job", "recompute_cycle"]
