"""Computed fields of objectives and key results: rows in, the scoring engine's answers
out (service.scoring.okr holds every rule; this file only adapts rows to its inputs and
rounds for display). REST and GraphQL both use it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.cycles.models import Cycle
from service.okr.models import CheckIn, KeyResult, Objective
from service.scoring import okr as engine
from service.scoring.numbers import ONE, round_fraction


def milestones_from(raw: list[dict[str, Any]] | None) -> tuple[engine.Milestone, ...]:
    """The engine's milestones from a key result's stored `milestones` JSON."""
    if not raw:
        return ()
    return tuple(
        engine.Milestone(weight=Decimal(str(m["weight"])), done=bool(m.get("done")), title=str(m.get("title", "")))
        for m in raw
    )


def milestones_in(kr: KeyResult) -> tuple[engine.Milestone, ...]:
    return milestones_from(kr.milestones)


def _ordered(check_ins: Sequence[CheckIn]) -> list[CheckIn]:
    # Newest id first: when two check-ins tie on both times, the engine keeps the first
    # maximum it meets, which is then the one created last.
    return sorted(check_ins, key=lambda c: c.id, reverse=True)


def check_in_in(c: CheckIn) -> engine.CheckIn:
    return engine.CheckIn(checked_in_at=c.checked_in_at, created_at=c.created_at, value=c.value, done=c.done)


def key_result_in(kr: KeyResult, check_ins: Sequence[CheckIn]) -> engine.KeyResultIn:
    return _key_result_in(kr, tuple(check_in_in(c) for c in _ordered(check_ins)))


def _key_result_in(kr: KeyResult, inputs: tuple[engine.CheckIn, ...]) -> engine.KeyResultIn:
    """`inputs`: the engine's check-ins, in `_ordered` order."""
    return engine.KeyResultIn(
        id=kr.id,
        kind=kr.kind,
        weight=kr.weight,
        start=kr.start,
        target=kr.target,
        check_ins=inputs,
        milestones=milestones_in(kr),
        grade=kr.grade,
        title=kr.title,
    )


def objective_in(
    obj: Objective, krs: Sequence[KeyResult], check_ins: dict[uuid.UUID, list[CheckIn]]
) -> engine.ObjectiveIn:
    return engine.ObjectiveIn(
        id=obj.id,
        type=obj.type,
        weight=obj.weight,
        status=obj.status,
        key_results=tuple(key_result_in(kr, check_ins.get(kr.id, [])) for kr in krs),
        title=obj.title,
    )


@dataclass(frozen=True)
class KeyResultView:
    current: Decimal | None
    done: bool | None
    progress: Decimal
    score: Decimal
    pace: str
    status: str | None
    confidence: int | None
    last_checked_in_at: dt.datetime | None


@dataclass(frozen=True)
class ObjectiveView:
    score: Decimal | None
    progress: Decimal | None
    pace: str | None
    flags: tuple[str, ...]


def _latest(ordered: Sequence[CheckIn], inputs: Sequence[engine.CheckIn]) -> CheckIn | None:
    """The row of the latest check-in by the engine's rule; `inputs` are the engine's
    check-ins made from `ordered` (the rows in `_ordered` order), one for one."""
    latest = engine.latest_check_in(inputs)
    if latest is None:
        return None
    return ordered[next(i for i, c in enumerate(inputs) if c is latest)]


def _pace(progress: Decimal, cycle: Cycle | None, today: dt.date) -> str:
    if cycle is None:
        return "on_track"
    return engine.pace(progress, today, cycle.start_date, cycle.end_date)


def key_result_view(kr: KeyResult, check_ins: Sequence[CheckIn], cycle: Cycle | None, today: dt.date) -> KeyResultView:
    ordered = _ordered(check_ins)
    inputs = tuple(check_in_in(c) for c in ordered)
    result = engine.kr_score(_key_result_in(kr, inputs))
    latest = _latest(ordered, inputs)
    return KeyResultView(
        current=result.current,
        done=(result.progress == ONE) if kr.kind == "boolean" else None,
        progress=round_fraction(result.progress),
        score=round_fraction(result.score),
        pace=_pace(result.progress, cycle, today),
        status=latest.status if latest else None,
        confidence=latest.confidence if latest else None,
        last_checked_in_at=latest.checked_in_at if latest else None,
    )


def objective_view(
    obj: Objective,
    krs: Sequence[KeyResult],
    check_ins: dict[uuid.UUID, list[CheckIn]],
    cycle: Cycle | None,
    today: dt.date,
) -> ObjectiveView:
    result = engine.objective_score(objective_in(obj, krs, check_ins))
    if result.score is None or result.progress is None:
        return ObjectiveView(score=None, progress=None, pace=None, flags=("not_scored",))
    return ObjectiveView(
        score=round_fraction(result.score),
        progress=round_fraction(result.progress),
        pace=_pace(result.progress, cycle, today),
        flags=(),
    )


def direction(kr: KeyResult) -> str | None:
    if kr.kind != "metric" or kr.start is None or kr.target is None:
        return None
    return "increase" if kr.target > kr.start else "decrease"


def milestones_out(kr: KeyResult) -> list[dict[str, Any]] | None:
    if kr.milestones is None:
        return None
    return [
        {"title": m["title"], "weight": Decimal(str(m["weight"])), "done": bool(m.get("done"))} for m in kr.milestones
    ]


def check_in_due(
    last_at: dt.datetime | None, cycle_start: dt.date, created_at: dt.datetime, tz: dt.tzinfo, cadence_days: int
) -> dt.date:
    """The day a key result's next check-in is owed: its latest check-in's day (or,
    without one, the later of its cycle's start and its creation) plus the organization's
    `check_in_cadence_days`, in the organization's time zone. A check-in is overdue once
    that day is before today (the task list and the team brief share this rule)."""
    last = last_at.astimezone(tz).date() if last_at is not None else max(cycle_start, created_at.astimezone(tz).date())
    return last + dt.timedelta(days=cadence_days)


def kr_progress(kr: KeyResult, check_ins: Sequence[CheckIn]) -> Decimal:
    """A key result's computed progress, unrounded (the rollup's input; grades ignored)."""
    return engine.kr_score(key_result_in(kr, check_ins)).progress
