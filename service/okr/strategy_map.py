"""The strategy map of a cycle: every top-level objective (company level, no parent)
of the cycle with its tree of child objectives in the cycle or the cycles nested in it
(a year's company objective, its quarters' department objectives), grouped by balanced-scorecard
perspective, with progress rolled up per node and per perspective.

One load of the cycle's objectives the caller may read (private ones they may not read
are absent, with whatever hangs below them), one set-wise load of their key results and
check-ins, then the rollup in memory: the statement count does not grow with the tree."""

from __future__ import annotations

import uuid
from collections import defaultdict

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.cycles.service import descendant_ids, load_cycle
from service.errors import NotFound, ValidationFailed
from service.okr import repository as repo
from service.okr import rollup
from service.okr.models import Objective
from service.okr.schemas import PerspectiveGroup, StrategyMapRead, StrategyNode
from service.okr.service import MAX_ALIGNMENT_DEPTH, load_for, rollup_of, view_of

MAX_NODES = 5000
GROUPS = ("financial", "customer", "internal_process", "learning_growth", "unassigned")


async def strategy_map(ctx: Ctx, cycle_id: uuid.UUID) -> StrategyMapRead:
    return (await strategy_map_with_rows(ctx, cycle_id))[0]


async def strategy_map_with_rows(ctx: Ctx, cycle_id: uuid.UUID) -> tuple[StrategyMapRead, dict[uuid.UUID, Objective]]:
    """The map and the rows it shows by id (GraphQL answers each node's objective with
    them, without loading it again)."""
    require(policy.read_objectives(ctx.principal), "objectives")
    if await load_cycle(ctx, cycle_id) is None:
        raise NotFound("cycle not found")
    cycles = await descendant_ids(ctx, cycle_id)
    objs = await repo.visible_cycle_objectives(ctx.session, ctx.org_id, ctx.principal, cycles, MAX_NODES + 1)
    if len(objs) > MAX_NODES:
        raise ValidationFailed(
            f"the cycle has more than {MAX_NODES} objectives; read trees one at a time through "
            "/objectives/{id}/alignment",
            extra={"max_nodes": MAX_NODES},
        )
    by_id = {o.id: o for o in objs}
    children: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for o in objs:
        if o.parent_id is not None and o.parent_id in by_id:
            children[o.parent_id].append(o.id)
    roots = [o for o in objs if o.parent_id is None and o.level == "company" and o.cycle_id == cycle_id]
    edges = _tree_below([r.id for r in roots], children)
    shown = [by_id[i] for i in edges]
    loaded = await load_for(ctx, shown)
    rolled = rollup_of(shown, loaded, edges)

    def node(o: Objective) -> StrategyNode:
        view = view_of(o, loaded)
        return StrategyNode(
            id=o.id,
            title=o.title,
            level=o.level,
            owner_id=o.owner_id,
            perspective=o.perspective,
            weight=o.weight,
            status=o.status,
            progress_source=o.progress_source,
            own_progress=view.progress,
            rolled_up_progress=rolled.get(o.id),
            children=[node(by_id[c]) for c in edges[o.id]],
        )

    groups: dict[str, list[Objective]] = {g: [] for g in GROUPS}
    for r in roots:
        groups[r.perspective if r.perspective in groups else "unassigned"].append(r)
    found = StrategyMapRead(
        cycle_id=cycle_id,
        node_count=len(shown),
        groups=[
            PerspectiveGroup(
                perspective=g,
                progress=rollup.weighted_progress([(o.weight, rolled.get(o.id)) for o in members]),
                objectives=[node(o) for o in members],
            )
            for g, members in groups.items()
        ],
    )
    return found, {o.id: o for o in shown}


def _tree_below(roots: list[uuid.UUID], children: dict[uuid.UUID, list[uuid.UUID]]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The shown tree, breadth first from the roots: each node once, at most
    MAX_ALIGNMENT_DEPTH levels below a root (as the alignment tree), id → shown children."""
    edges: dict[uuid.UUID, list[uuid.UUID]] = {r: [] for r in roots}
    frontier = list(roots)
    for _ in range(MAX_ALIGNMENT_DEPTH):
        nxt: list[uuid.UUID] = []
        for parent in frontier:
            for c in children.get(parent, []):
                if c not in edges:
                    edges[c] = []
                    edges[parent].append(c)
                    nxt.append(c)
        frontier = nxt
    return edges
