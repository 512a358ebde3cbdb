"""KPI targets for people present only part of a cycle (the policy's `kpi_proration`,
service/scoring/proration.py), against the pure engine. Expected points are computed
here with exact rational arithmetic (fractions.Fraction), independently of the engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from fractions import Fraction

import pytest

from service.scoring.engine import AssignmentIn, EmployeeInputs, Measurement, PolicyParams, kpi_component
from service.scoring.engine import score_employee as score
from service.scoring.numbers import round_points
from service.scoring.proration import Presence, prorate
from tests.scoring.vectors import VECTOR_DIR, build_inputs, build_policy, load_file

START, END = dt.date(2026, 10, 1), dt.date(2026, 12, 31)  # 92 days
BASE = PolicyParams(w_kpi=Decimal("0.6"), w_okr=Decimal("0.3"), w_eval=Decimal("0.1"))
PRORATE = dataclasses.replace(BASE, kpi_proration="prorate_target")
EXCLUDE = dataclasses.replace(BASE, kpi_proration="exclude")


def gmv(*values: str, weight: str = "1", start: dt.date | None = None, end: dt.date | None = None) -> AssignmentIn:
    """A summed, banded KPI: threshold 1,000,000, target 1,200,000, stretch 1,400,000."""
    return AssignmentIn(
        id=uuid.uuid4(),
        method="banded",
        direction="higher_is_better",
        aggregation="sum",
        weight=Decimal(weight),
        threshold=Decimal(1000000),
        target=Decimal(1200000),
        stretch=Decimal(1400000),
        measurements=tuple(Measurement(Decimal(v), dt.date(2026, 12, 1)) for v in values),
        code="GMV",
        cycle_start=start,
        cycle_end=end,
    )


def conversion(value: str) -> AssignmentIn:
    """A level (last), ratio method: target 0.03."""
    return AssignmentIn(
        id=uuid.uuid4(),
        method="ratio",
        direction="higher_is_better",
        aggregation="last",
        target=Decimal("0.03"),
        measurements=(Measurement(Decimal(value), dt.date(2026, 12, 1)),),
        code="CONV",
    )


def banded(actual: Fraction, thr: Fraction, tgt: Fraction, stretch: Fraction) -> Fraction:
    """SPEC section 5's banded rule with the default 60 / 100 / 120 points."""
    f = (actual - thr) / (tgt - thr)
    if f < 0:
        return Fraction(0)
    if f < 1:
        return 60 + 40 * f
    return 100 + 20 * min((actual - tgt) / (stretch - tgt), Fraction(1))


def shown(x: Fraction) -> str:
    return str(round_points(Decimal(x.numerator) / Decimal(x.denominator)))


def component(policy: PolicyParams, presence: Presence | None, *assignments: AssignmentIn):  # type: ignore[no-untyped-def]
    return kpi_component(assignments, policy, START, END, presence=presence)


def test_none_keeps_targets_whatever_the_presence():
    hired = Presence(first=dt.date(2026, 11, 1))
    plain = component(BASE, None, gmv("700000"))
    same = component(BASE, hired, gmv("700000"))
    assert same.points == plain.points == 0  # below the full-quarter threshold
    assert "kpi_prorated" not in same.flags


def test_hired_mid_quarter_scales_a_summed_target_by_days_present():
    # Hired November 1: 61 of 92 days, so the GMV thresholds are 61/92 of the quarter's.
    c = component(PRORATE, Presence(first=dt.date(2026, 11, 1)), gmv("410000", "380000"))
    k = Fraction(61, 92)
    expected = banded(Fraction(790000), 1000000 * k, 1200000 * k, 1400000 * k)
    assert str(round_points(c.points)) == shown(expected) == "98.30"
    assert c.flags == ("kpi_prorated",)
    (a,) = c.assignments
    assert a["proration"]["days_present"] == 61 and a["proration"]["period_days"] == 92
    assert a["proration"]["scaled"] is True
    assert abs(Fraction(a["proration"]["target"]) - 1200000 * k) < Fraction(1, 10**30)


def test_hired_on_the_first_day_is_present_the_whole_cycle():
    c = component(PRORATE, Presence(first=START), gmv("1185000"))
    assert str(round_points(c.points)) == "97.00"  # Appendix A's GMV points
    assert c.flags == () and "proration" not in c.assignments[0]


@pytest.mark.parametrize(
    "presence,actual,days,points",
    [
        (Presence(first=END), "13000", 1, "99.20"),  # hired on the last day: one day
        # left November 15, the last day employed: October 1 to November 15 is 46 days
        (Presence(last=dt.date(2026, 11, 15)), "600000", 46, "100.00"),
        (Presence(first=dt.date(2026, 10, 16), last=dt.date(2026, 10, 16)), "11000", 1, "62.40"),
    ],
)
def test_presence_at_the_edges_of_the_quarter(presence, actual, days, points):
    c = component(PRORATE, presence, gmv(actual))
    k = Fraction(days, 92)
    expected = banded(Fraction(actual), 1000000 * k, 1200000 * k, 1400000 * k)
    assert str(round_points(c.points)) == shown(expected) == points
    assert c.assignments[0]["proration"]["days_present"] == days


def test_a_level_kpi_keeps_its_target_but_says_why():
    c = component(PRORATE, Presence(first=dt.date(2026, 11, 1)), conversion("0.031"))
    assert str(round_points(c.points)) == "103.33"  # Appendix A's conversion rate, unscaled
    assert c.assignments[0]["proration"] == {"days_present": 61, "period_days": 92, "factor": None, "scaled": False}


def test_zero_days_in_an_assignments_own_cycle_leaves_it_out():
    october = gmv("1", start=START, end=dt.date(2026, 10, 31))
    december = gmv("400000", start=dt.date(2026, 12, 1), end=END)
    hired = Presence(first=dt.date(2026, 12, 1))
    c = component(PRORATE, hired, october, december)
    assert [a["id"] for a in c.assignments] == [str(december.id)]  # October had no day of presence
    assert str(round_points(c.points)) == shown(banded(Fraction(400000), 1000000, 1200000, 1400000))
    only_october = component(PRORATE, hired, october)
    assert only_october.points is None and only_october.flags == ("kpi_prorated",)


def test_hired_after_termination_is_zero_length_presence():
    gone = Presence(first=dt.date(2026, 11, 10), last=dt.date(2026, 11, 9))
    assert gone.days_within(START, END) == 0
    assert component(PRORATE, gone, gmv("5")).points is None


def test_prorate_on_its_own():
    a = gmv("1")
    (p,) = prorate([a], Presence(first=dt.date(2026, 12, 31)), START, END)
    assert abs(Fraction(p.assignment.threshold) - Fraction(1000000, 92)) < Fraction(1, 10**30)
    assert abs(Fraction(p.assignment.stretch) - Fraction(1400000, 92)) < Fraction(1, 10**30)
    assert p.assignment.range_low is None and not p.dropped


@pytest.mark.parametrize(
    "presence,excluded",
    [
        (Presence(first=START), False),
        (Presence(first=dt.date(2026, 10, 2)), True),
        (Presence(last=END), False),
        (Presence(last=dt.date(2026, 12, 30)), True),
        (Presence(), False),
    ],
)
def test_exclude_drops_the_component_for_anyone_not_present_throughout(presence, excluded):
    inputs = EmployeeInputs(
        employee_id=uuid.uuid4(),
        assignments=(gmv("1185000"),),
        manager_rating=Decimal(4),
        cycle_start=START,
        cycle_end=END,
        presence=presence,
    )
    r = score(inputs, EXCLUDE)
    if excluded:
        assert r.components["kpi"] is None and r.weights["kpi"] == 0 and r.weights["eval"] == 1
        assert {"kpi_excluded", "reweighted"} <= set(r.flags)
        assert str(round_points(r.final)) == "80.00"  # the evaluation alone
    else:
        assert str(round_points(r.components["kpi"])) == "97.00" and "kpi_excluded" not in r.flags


def test_appendix_a_is_unchanged_under_every_mode_for_a_full_quarter():
    vectors = [v for v in load_file(VECTOR_DIR / "appendix_a.json") if v["kind"] == "employee"]
    assert vectors
    for vector in vectors:
        base = build_policy(vector.get("policy", {}))
        inputs = build_inputs(vector)
        expected = score(inputs, base)
        whole = dataclasses.replace(inputs, presence=Presence(first=dt.date(2000, 1, 1)))
        for mode in ("none", "prorate_target", "exclude"):
            got = score(whole, dataclasses.replace(base, kpi_proration=mode))
            assert (got.final, got.rating, got.flags) == (expected.final, expected.rating, expected.flags), mode
