"""OKR scoring, SPEC section 4: current value, KR score, pace, objective score, OKR points
and the OKR component. Pure: frozen inputs, Decimal results."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from service.scoring.numbers import HUNDRED, ONE, ZERO, clamp, div
from service.scoring.policy import PolicyParams

COUNTED_STATUSES = frozenset({"published", "closed"})


@dataclass(frozen=True, slots=True)
class CheckIn:
    checked_in_at: dt.datetime
    created_at: dt.datetime
    value: Decimal | None = None
    done: bool | None = None


@dataclass(frozen=True, slots=True)
class Milestone:
    weight: Decimal
    done: bool
    title: str = ""


@dataclass(frozen=True, slots=True)
class KeyResultIn:
    id: uuid.UUID | None
    kind: str  # metric, boolean, milestone
    weight: Decimal = ONE
    start: Decimal | None = None
    target: Decimal | None = None
    check_ins: tuple[CheckIn, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    grade: Decimal | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class KeyResultScore:
    current: Decimal | None
    progress: Decimal  # computed, 0..1
    score: Decimal  # the grade when there is one, else progress
    graded: bool


@dataclass(frozen=True, slots=True)
class ObjectiveIn:
    id: uuid.UUID | None
    type: str  # committed or aspirational
    weight: Decimal = ONE
    status: str = "published"
    key_results: tuple[KeyResultIn, ...] = ()
    title: str = ""


@dataclass(frozen=True, slots=True)
class ObjectiveScore:
    score: Decimal | None  # None: not scored (no KR, or KR weights sum to zero)
    progress: Decimal | None
    key_results: tuple[KeyResultScore, ...] = field(default=())


_CHECK_IN_TIME = attrgetter("checked_in_at", "created_at")


def latest_check_in(check_ins: Sequence[CheckIn]) -> CheckIn | None:
    """The latest by `checked_in_at`; ties go to the latest created (then to the first given)."""
    if len(check_ins) < 2:
        return check_ins[0] if check_ins else None
    return max(check_ins, key=_CHECK_IN_TIME)


def current_value(kr: KeyResultIn) -> Decimal | None:
    """A metric KR's current value: its latest check-in's value, else `start`."""
    if kr.kind != "metric":
        return None
    latest = latest_check_in([c for c in kr.check_ins if c.value is not None])
    return latest.value if latest is not None else kr.start


def _is_done(kr: KeyResultIn) -> bool:
    latest = latest_check_in([c for c in kr.check_ins if c.done is not None])
    return bool(latest.done) if latest is not None else False


def _progress_and_current(kr: KeyResultIn) -> tuple[Decimal, Decimal | None]:
    if kr.kind == "metric":
        if kr.start is None or kr.target is None or kr.target == kr.start:
            raise ValueError("a metric key result needs start != target")
        current = current_value(kr)
        assert current is not None
        return clamp(div(current - kr.start, kr.target - kr.start), ZERO, ONE), current
    if kr.kind == "boolean":
        return (ONE if _is_done(kr) else ZERO), None
    if kr.kind == "milestone":
        total = sum((m.weight for m in kr.milestones), ZERO)
        if total <= 0:
            return ZERO, None
        return div(sum((m.weight for m in kr.milestones if m.done), ZERO), total), None
    raise ValueError(f"unknown key result kind {kr.kind}")


def kr_progress(kr: KeyResultIn) -> Decimal:
    """The computed KR score, a fraction in [0, 1]."""
    return _progress_and_current(kr)[0]


def kr_score(kr: KeyResultIn) -> KeyResultScore:
    progress, current = _progress_and_current(kr)
    if kr.grade is not None:
        return KeyResultScore(current=current, progress=progress, score=kr.grade, graded=True)
    return KeyResultScore(current=current, progress=progress, score=progress, graded=False)


def _weighted(pairs: Sequence[tuple[Decimal, Decimal]]) -> Decimal | None:
    total = sum((w for w, _ in pairs), ZERO)
    if total <= 0:
        return None
    return div(sum((w * v for w, v in pairs), ZERO), total)


def _scored(objective: ObjectiveIn) -> tuple[tuple[KeyResultScore, ...], Decimal | None]:
    scores = tuple(kr_score(kr) for kr in objective.key_results)
    return scores, _weighted([(kr.weight, s.score) for kr, s in zip(objective.key_results, scores, strict=True)])


def objective_score(objective: ObjectiveIn) -> ObjectiveScore:
    """Σ(w_kr × score_kr) / Σ w_kr; an objective with no KR (or only zero weights) is not scored."""
    scores, score = _scored(objective)
    progress_pairs = [(kr.weight, s.progress) for kr, s in zip(objective.key_results, scores, strict=True)]
    return ObjectiveScore(score=score, progress=_weighted(progress_pairs), key_results=scores)


def par_for(objective_type: str, policy: PolicyParams) -> Decimal:
    return policy.okr_par_aspirational if objective_type == "aspirational" else policy.okr_par_committed


def okr_points(score: Decimal, objective_type: str, policy: PolicyParams) -> Decimal:
    """min(score / par, okr_cap) × 100."""
    return min(div(score, par_for(objective_type, policy)), policy.okr_cap) * HUNDRED


@dataclass(frozen=True, slots=True)
class OkrComponent:
    points: Decimal | None
    objectives: tuple[dict[str, Any], ...]
    flags: tuple[str, ...]


def okr_component(objectives: Sequence[ObjectiveIn], policy: PolicyParams, *, explain: bool = True) -> OkrComponent:
    """Weighted mean (objective weights) of the OKR points of published or closed
    objectives; drafts and rejected ones never count, unscored ones are flagged.
    Without `explain` the same numbers come without the per-objective explanation."""
    explained: list[dict[str, Any]] = []
    pairs: list[tuple[Decimal, Decimal]] = []
    flags: set[str] = set()
    for obj in objectives:
        if obj.status not in COUNTED_STATUSES:
            continue
        kr_scores, score = _scored(obj)  # the objective's progress is not part of its points
        points: Decimal | None
        if score is None:
            points = None
            flags.add("objective_not_scored")
        else:
            points = okr_points(score, obj.type, policy)
            pairs.append((obj.weight, points))
        if explain:
            explained.append(
                {
                    "id": str(obj.id) if obj.id else None,
                    "title": obj.title,
                    "type": obj.type,
                    "weight": obj.weight,
                    "par": par_for(obj.type, policy),
                    "key_results": [
                        {
                            "id": str(kr.id) if kr.id else None,
                            "title": kr.title,
                            "kind": kr.kind,
                            "weight": kr.weight,
                            "current": s.current,
                            "progress": s.progress,
                            "score": s.score,
                            "graded": s.graded,
                        }
                        for kr, s in zip(obj.key_results, kr_scores, strict=True)
                    ],
                    "score": score,
                    "points": points,
                }
            )
    points = _weighted(pairs)
    if pairs and points is None:
        flags.add("zero_weights")
    return OkrComponent(points=points, objectives=tuple(explained), flags=tuple(sorted(flags)))


def expected_progress(day: dt.date, start: dt.date, end: dt.date) -> Decimal:
    """The elapsed fraction of the cycle at `day`, clamped to [0, 1]."""
    if end <= start:
        return ONE if day >= end else ZERO
    return clamp(div(Decimal((day - start).days), Decimal((end - start).days)), ZERO, ONE)


def pace(progress: Decimal, day: dt.date, start: dt.date, end: dt.date) -> str:
    """on_track at ≥ 0.7 × expected, at_risk at ≥ 0.5 × expected, else off_track;
    before the cycle starts, everything is on track."""
    if day < start:
        return "on_track"
    expected = expected_progress(day, start, end)
    if progress >= Decimal("0.7") * expected:
        return "on_track"
    if progress >= Decimal("0.5") * expected:
        return "at_risk"
    return "off_track"
