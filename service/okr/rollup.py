"""Progress rollup of an alignment tree: each objective's progress from its own key
results, from its child objectives (weighted by their `weight`), or both, computed
bottom-up in memory over nodes loaded set-wise (no per-node query).

`both` treats the objective's key results and its child objectives as peers: one
weighted mean over the key results (by key-result weight) and the children (by
objective weight), a child that measures one of the key results counted once, through
that key result. A key result measured by a child objective takes that child's
rolled-up progress, or its own progress when that child has none (nothing measures it,
or the child is reached again while its own rollup is under way: a cycle through
`measured_by_objective_id`, which is never followed round, so a cycle cannot loop). The
SPEC score is not touched: this is displayed progress only."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from service.scoring.numbers import round_fraction

PROGRESS_SOURCES = ("key_results", "children", "both")


@dataclass(frozen=True)
class KrPart:
    """A key result as the rollup sees it: its weight, its computed progress, and the
    child objective measuring it (if any)."""

    weight: Decimal
    progress: Decimal
    measured_by: uuid.UUID | None = None


@dataclass(frozen=True)
class Node:
    weight: Decimal
    source: str
    key_results: tuple[KrPart, ...]
    children: tuple[uuid.UUID, ...]


def _mean(parts: list[tuple[Decimal, Decimal]]) -> Decimal | None:
    total = sum((w for w, _ in parts), Decimal(0))
    if total <= 0:
        return None
    return sum((w * p for w, p in parts), Decimal(0)) / total


def rolled_up(nodes: Mapping[uuid.UUID, Node]) -> dict[uuid.UUID, Decimal | None]:
    """Every node's rolled-up progress (unrounded), None where nothing measures it.
    Iterative post-order, so a deep tree needs no deep recursion."""
    done: dict[uuid.UUID, Decimal | None] = {}
    on_path: set[uuid.UUID] = set()

    def deps(node: Node) -> list[uuid.UUID]:
        out: list[uuid.UUID] = []
        if node.source in ("key_results", "both"):
            out += [k.measured_by for k in node.key_results if k.measured_by is not None]
        if node.source in ("children", "both"):
            out += list(node.children)
        return [d for d in out if d in nodes]

    def value(node: Node) -> Decimal | None:
        parts: list[tuple[Decimal, Decimal]] = []
        if node.source in ("key_results", "both"):
            for k in node.key_results:
                child = done.get(k.measured_by) if k.measured_by is not None else None
                parts.append((k.weight, k.progress if child is None else child))
        if node.source in ("children", "both"):
            measuring = {k.measured_by for k in node.key_results} if node.source == "both" else set()
            for c in node.children:
                if c in measuring:
                    continue  # counted once, through the key result it measures
                child = done.get(c)
                if child is not None:
                    parts.append((nodes[c].weight, child))
        return _mean(parts)

    for start in nodes:
        if start in done:
            continue
        stack: list[tuple[uuid.UUID, bool]] = [(start, False)]
        while stack:
            nid, expanded = stack.pop()
            if nid in done:
                continue
            if expanded:
                on_path.discard(nid)
                done[nid] = value(nodes[nid])
                continue
            if nid in on_path:
                continue
            on_path.add(nid)
            stack.append((nid, True))
            stack += [(d, False) for d in deps(nodes[nid]) if d not in done and d not in on_path]
    return done


def rounded(values: Mapping[uuid.UUID, Decimal | None]) -> dict[uuid.UUID, Decimal | None]:
    return {k: None if v is None else round_fraction(v) for k, v in values.items()}


def weighted_progress(items: list[tuple[Decimal, Decimal | None]]) -> Decimal | None:
    """The weighted mean of the measured items, 4 places (a strategy-map perspective group)."""
    value = _mean([(w, p) for w, p in items if p is not None])
    return None if value is None else round_fraction(value)
