"""Property-based tests of the engine (hypothesis): bounds, monotonicity, independence
from input order and invariance under scaling of weights."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.scoring.engine import (
    Adjustment,
    AssignmentIn,
    CheckIn,
    EmployeeInputs,
    KeyResultIn,
    Measurement,
    Milestone,
    ObjectiveIn,
    PolicyParams,
    evaluation_points,
    kpi_component,
    kpi_points,
    kr_score,
    objective_score,
    okr_component,
    round_points,
    score_employee,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
START, END = dt.date(2024, 4, 1), dt.date(2024, 6, 30)
T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
TOLERANCE = Decimal("1e-15")


def decimals(low: str | int, high: str | int, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


def positive(high: str | int = 1000, places: int = 2) -> st.SearchStrategy[Decimal]:
    return decimals(Decimal(1).scaleb(-places), high, places)


def close(a: Decimal | None, b: Decimal | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= TOLERANCE and round_points(a) == round_points(b)


@st.composite
def point_policies(draw: st.DrawFn) -> PolicyParams:
    thr = draw(decimals(0, 100))
    tgt = draw(decimals(thr, 150))
    cap = draw(decimals(tgt, 200))
    return PolicyParams(kpi_threshold_points=thr, kpi_target_points=tgt, kpi_cap=cap)


@st.composite
def banded(draw: st.DrawFn, direction: str | None = None) -> AssignmentIn:
    direction = direction or draw(st.sampled_from(["higher_is_better", "lower_is_better"]))
    values = sorted(draw(st.lists(decimals(-1000, 1000), min_size=3, max_size=3, unique=True)))
    if direction == "lower_is_better":
        values.reverse()
    stretch = values[2] if draw(st.booleans()) else None
    return AssignmentIn(
        id=None,
        method="banded",
        direction=direction,
        aggregation="last",
        threshold=values[0],
        target=values[1],
        stretch=stretch,
    )


@st.composite
def ratio(draw: st.DrawFn, direction: str | None = None) -> AssignmentIn:
    direction = direction or draw(st.sampled_from(["higher_is_better", "lower_is_better"]))
    return AssignmentIn(id=None, method="ratio", direction=direction, aggregation="last", target=draw(positive()))


@st.composite
def ranged(draw: st.DrawFn) -> AssignmentIn:
    low, high = sorted(draw(st.lists(decimals(-100, 100), min_size=2, max_size=2)))
    return AssignmentIn(
        id=None,
        method="range",
        direction="target_range",
        aggregation="last",
        range_low=low,
        range_high=high,
        tolerance=draw(positive(50)),
    )


@st.composite
def binary(draw: st.DrawFn, direction: str | None = None) -> AssignmentIn:
    direction = direction or draw(st.sampled_from(["higher_is_better", "lower_is_better"]))
    return AssignmentIn(
        id=None, method="binary", direction=direction, aggregation="last", target=draw(decimals(-1000, 1000))
    )


ACTUALS = decimals(-2000, 2000, 3)


# ------------------------------------------------------------------ bounds


@SETTINGS
@given(a=st.one_of(banded(), ratio()), value=ACTUALS, policy=point_policies())
def test_banded_and_ratio_points_within_zero_and_cap(a: AssignmentIn, value: Decimal, policy: PolicyParams) -> None:
    assert Decimal(0) <= kpi_points(a, value, policy) <= policy.kpi_cap


@SETTINGS
@given(a=st.one_of(ranged(), binary()), value=ACTUALS, policy=point_policies())
def test_range_and_binary_points_within_zero_and_hundred(a: AssignmentIn, value: Decimal, policy: PolicyParams) -> None:
    assert Decimal(0) <= kpi_points(a, value, policy) <= 100


@SETTINGS
@given(start=decimals(-1000, 1000), target=decimals(-1000, 1000), current=ACTUALS)
def test_kr_score_within_zero_and_one(start: Decimal, target: Decimal, current: Decimal) -> None:
    if start == target:
        return
    kr = KeyResultIn(id=None, kind="metric", start=start, target=target, check_ins=(CheckIn(T0, T0, value=current),))
    assert Decimal(0) <= kr_score(kr).score <= 1


# ------------------------------------------------------------------ monotonicity


def _ordered(direction: str, a: Decimal, b: Decimal) -> tuple[Decimal, Decimal]:
    """(worse, better) in the direction."""
    low, high = sorted((a, b))
    return (low, high) if direction == "higher_is_better" else (high, low)


@SETTINGS
@given(a=st.one_of(banded(), ratio(), binary()), x=ACTUALS, y=ACTUALS, policy=point_policies())
def test_better_actual_never_scores_lower(a: AssignmentIn, x: Decimal, y: Decimal, policy: PolicyParams) -> None:
    worse, better = _ordered(a.direction, x, y)
    assert kpi_points(a, better, policy) >= kpi_points(a, worse, policy)


@SETTINGS
@given(a=ranged(), x=ACTUALS, y=ACTUALS)
def test_range_closer_to_range_never_scores_lower(a: AssignmentIn, x: Decimal, y: Decimal) -> None:
    def distance(v: Decimal) -> Decimal:
        return max(Decimal(0), a.range_low - v, v - a.range_high)

    nearer, farther = sorted((x, y), key=distance)
    policy = PolicyParams()
    assert kpi_points(a, nearer, policy) >= kpi_points(a, farther, policy)


@SETTINGS
@given(start=decimals(-1000, 1000), target=decimals(-1000, 1000), x=ACTUALS, y=ACTUALS)
def test_kr_progress_monotonic_toward_target(start: Decimal, target: Decimal, x: Decimal, y: Decimal) -> None:
    if start == target:
        return
    worse, better = _ordered("higher_is_better" if target > start else "lower_is_better", x, y)

    def score(v: Decimal) -> Decimal:
        return kr_score(
            KeyResultIn(id=None, kind="metric", start=start, target=target, check_ins=(CheckIn(T0, T0, value=v),))
        ).score

    assert score(better) >= score(worse)


@SETTINGS
@given(
    scale=st.integers(2, 10),
    r1=st.integers(1, 10),
    r2=st.integers(1, 10),
    peers=st.lists(st.integers(1, 10), max_size=5),
    p=decimals(0, 1),
)
def test_higher_manager_rating_never_scores_lower(scale: int, r1: int, r2: int, peers: list[int], p: Decimal) -> None:
    r1, r2 = min(r1, scale), min(r2, scale)
    policy = PolicyParams(rating_scale=scale, peer_weight=p)
    peer_ratings = [Decimal(min(x, scale)) for x in peers]
    low, high = sorted((r1, r2))
    assert evaluation_points(Decimal(high), peer_ratings, policy) >= evaluation_points(
        Decimal(low), peer_ratings, policy
    )


# ------------------------------------------------------------------ whole employees


@st.composite
def measurements(draw: st.DrawFn) -> tuple[Measurement, ...]:
    """Each with its own created_at, so `last` is well defined whatever the order."""
    values = draw(st.lists(st.tuples(decimals(-100, 1000), st.integers(-10, 100)), max_size=5))
    return tuple(
        Measurement(value=v, measured_at=START + dt.timedelta(days=d), created_at=T0 + dt.timedelta(minutes=i))
        for i, (v, d) in enumerate(values)
    )


@st.composite
def assignments(draw: st.DrawFn) -> AssignmentIn:
    a = draw(st.one_of(banded(), ratio(), ranged(), binary()))
    return replace(
        a,
        id=uuid.uuid4(),
        aggregation=draw(st.sampled_from(["sum", "avg", "last", "min", "max"])),
        weight=draw(decimals(0, 10)),
        veto=draw(st.booleans()),
        measurements=draw(measurements()),
    )


@st.composite
def check_ins(draw: st.DrawFn, kind: str) -> tuple[CheckIn, ...]:
    """Distinct created_at; checked_in_at may tie."""
    days = draw(st.lists(st.integers(0, 5), max_size=4))
    out = []
    for i, d in enumerate(days):
        at = T0 + dt.timedelta(days=d)
        created = T0 + dt.timedelta(days=10, minutes=i)
        if kind == "metric":
            out.append(CheckIn(at, created, value=draw(decimals(-100, 200))))
        else:
            out.append(CheckIn(at, created, done=draw(st.booleans())))
    return tuple(out)


@st.composite
def key_results(draw: st.DrawFn) -> KeyResultIn:
    kind = draw(st.sampled_from(["metric", "boolean", "milestone"]))
    grade = draw(st.one_of(st.none(), decimals(0, 1)))
    weight = draw(decimals(0, 5))
    if kind == "metric":
        start, target = draw(st.lists(decimals(-100, 100), min_size=2, max_size=2, unique=True))
        return KeyResultIn(
            id=uuid.uuid4(),
            kind=kind,
            weight=weight,
            start=start,
            target=target,
            check_ins=draw(check_ins("metric")),
            grade=grade,
        )
    if kind == "boolean":
        return KeyResultIn(id=uuid.uuid4(), kind=kind, weight=weight, check_ins=draw(check_ins("boolean")), grade=grade)
    ms = draw(st.lists(st.tuples(positive(5), st.booleans()), max_size=4))
    return KeyResultIn(
        id=uuid.uuid4(), kind=kind, weight=weight, grade=grade, milestones=tuple(Milestone(w, d) for w, d in ms)
    )


@st.composite
def objectives(draw: st.DrawFn) -> ObjectiveIn:
    return ObjectiveIn(
        id=uuid.uuid4(),
        type=draw(st.sampled_from(["committed", "aspirational"])),
        weight=draw(decimals(0, 5)),
        status=draw(st.sampled_from(["published", "closed", "published", "draft", "rejected"])),
        key_results=tuple(draw(st.lists(key_results(), max_size=4))),
    )


@st.composite
def policies(draw: st.DrawFn) -> PolicyParams:
    a = draw(st.integers(0, 100))
    b = draw(st.integers(0, 100 - a))
    w_kpi, w_okr = Decimal(a) / 100, Decimal(b) / 100
    return PolicyParams(w_kpi=w_kpi, w_okr=w_okr, w_eval=1 - w_kpi - w_okr, peer_weight=draw(decimals(0, 1)))


@st.composite
def employees(draw: st.DrawFn) -> EmployeeInputs:
    return EmployeeInputs(
        employee_id=None,
        assignments=tuple(draw(st.lists(assignments(), max_size=4))),
        objectives=tuple(draw(st.lists(objectives(), max_size=3))),
        manager_rating=draw(st.one_of(st.none(), st.integers(1, 5).map(Decimal))),
        peer_ratings=tuple(draw(st.lists(st.integers(1, 5).map(Decimal), max_size=4))),
        adjustments=tuple(Adjustment(d, "r", "a") for d in draw(st.lists(decimals(-20, 20), max_size=3))),
        cycle_start=START,
        cycle_end=END,
    )


def _shuffled(seq: tuple, rnd: random.Random) -> tuple:
    items = list(seq)
    rnd.shuffle(items)
    return tuple(items)


def shuffle_everything(e: EmployeeInputs, rnd: random.Random) -> EmployeeInputs:
    return replace(
        e,
        assignments=_shuffled(
            tuple(replace(a, measurements=_shuffled(a.measurements, rnd)) for a in e.assignments), rnd
        ),
        objectives=_shuffled(
            tuple(
                replace(
                    o,
                    key_results=_shuffled(
                        tuple(
                            replace(k, check_ins=_shuffled(k.check_ins, rnd), milestones=_shuffled(k.milestones, rnd))
                            for k in o.key_results
                        ),
                        rnd,
                    ),
                )
                for o in e.objectives
            ),
            rnd,
        ),
        peer_ratings=_shuffled(e.peer_ratings, rnd),
        adjustments=_shuffled(e.adjustments, rnd),
    )


@SETTINGS
@given(e=employees(), policy=policies(), rnd=st.randoms(use_true_random=False))
def test_results_independent_of_input_order(e: EmployeeInputs, policy: PolicyParams, rnd: random.Random) -> None:
    a = score_employee(e, policy)
    b = score_employee(shuffle_everything(e, rnd), policy)
    assert (a.status, a.flags, a.rating) == (b.status, b.flags, b.rating)
    for c in ("kpi", "okr", "eval"):
        assert close(a.components[c], b.components[c]), c
    assert close(a.composite, b.composite)
    assert close(a.final, b.final)


@SETTINGS
@given(e=employees(), policy=policies())
def test_score_bounds(e: EmployeeInputs, policy: PolicyParams) -> None:
    r = score_employee(e, policy)
    if r.status == "insufficient_data":
        assert r.composite is None and r.final is None and r.rating is None
        return
    present = [v for c, v in r.components.items() if v is not None and r.weights[c] > 0]
    assert min(present) - TOLERANCE <= r.composite <= max(present) + TOLERANCE
    assert r.final >= 0
    assert r.rating is not None
    assert r.components["okr"] is None or 0 <= r.components["okr"] <= 100 * policy.okr_cap
    assert r.components["kpi"] is None or 0 <= r.components["kpi"] <= max(policy.kpi_cap, Decimal(100))


# ------------------------------------------------------------------ scale invariance

SCALES = st.one_of(positive(100), st.integers(1, 1000).map(Decimal))


@SETTINGS
@given(items=st.lists(assignments(), min_size=1, max_size=5), c=SCALES)
def test_kpi_weights_scale_invariant(items: list[AssignmentIn], c: Decimal) -> None:
    policy = PolicyParams()
    scaled = [replace(a, weight=a.weight * c) for a in items]
    a = kpi_component(items, policy, START, END)
    b = kpi_component(scaled, policy, START, END)
    assert close(a.points, b.points)
    assert a.flags == b.flags


@SETTINGS
@given(items=st.lists(objectives(), min_size=1, max_size=4), c=SCALES)
def test_objective_weights_scale_invariant(items: list[ObjectiveIn], c: Decimal) -> None:
    policy = PolicyParams()
    scaled = [replace(o, weight=o.weight * c) for o in items]
    a, b = okr_component(items, policy), okr_component(scaled, policy)
    assert close(a.points, b.points)
    assert a.flags == b.flags


@SETTINGS
@given(o=objectives(), c=SCALES)
def test_kr_weights_scale_invariant(o: ObjectiveIn, c: Decimal) -> None:
    scaled = replace(o, key_results=tuple(replace(k, weight=k.weight * c) for k in o.key_results))
    assert close(objective_score(o).score, objective_score(scaled).score)


@SETTINGS
@given(ms=st.lists(st.tuples(positive(5), st.booleans()), min_size=1, max_size=5), c=SCALES)
def test_milestone_weights_scale_invariant(ms: list[tuple[Decimal, bool]], c: Decimal) -> None:
    def kr(factor: Decimal) -> KeyResultIn:
        return KeyResultIn(id=None, kind="milestone", milestones=tuple(Milestone(w * factor, d) for w, d in ms))

    assert close(kr_score(kr(Decimal(1))).score, kr_score(kr(c)).score)
