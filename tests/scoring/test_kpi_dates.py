"""Dated KPI assignments (`effective_from`, `effective_to`: a person moving position in
the middle of a cycle) under each `kpi_proration` mode, against the pure engine
(service/scoring/proration.py). Expected points are computed here with exact rational
arithmetic (fractions.Fraction), independently of the engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from fractions import Fraction

from service.scoring.engine import AssignmentIn, EmployeeInputs, Measurement, PolicyParams, kpi_component
from service.scoring.engine import score_employee as score
from service.scoring.numbers import round_points
from service.scoring.proration import Presence, exclude, prorate, window
from tests.scoring.test_kpi_proration import banded, conversion, shown
from tests.scoring.test_kpi_proration import gmv as quarter_gmv

START, END = dt.date(2026, 4, 1), dt.date(2026, 6, 30)  # 91 days
MOVE = dt.date(2026, 5, 16)  # day 46
BEFORE = MOVE - dt.timedelta(days=1)
BASE = PolicyParams(w_kpi=Decimal("0.6"), w_okr=Decimal("0.3"), w_eval=Decimal("0.1"))
PRORATE = dataclasses.replace(BASE, kpi_proration="prorate_target")
EXCLUDE = dataclasses.replace(BASE, kpi_proration="exclude")
ANYONE = Presence()


def m(value: str, day: dt.date) -> Measurement:
    return Measurement(Decimal(value), day)


def gmv(*ms: Measurement, frm: dt.date | None = None, to: dt.date | None = None) -> AssignmentIn:
    """Summed, banded: threshold 1,000,000, target 1,200,000, stretch 1,400,000."""
    return dataclasses.replace(quarter_gmv(), measurements=ms, effective_from=frm, effective_to=to)


def tickets(*ms: Measurement, frm: dt.date | None = None, to: dt.date | None = None) -> AssignmentIn:
    """Summed, banded: threshold 400, target 500, stretch 600 tickets resolved."""
    return dataclasses.replace(
        gmv(*ms, frm=frm, to=to), threshold=Decimal(400), target=Decimal(500), stretch=Decimal(600), code="TICKETS"
    )


def csat(value: str, day: dt.date, frm: dt.date | None = None) -> AssignmentIn:
    """A level (avg), ratio method: target 4.5."""
    return dataclasses.replace(
        conversion(value),
        aggregation="avg",
        target=Decimal("4.5"),
        measurements=(m(value, day),),
        code="CSAT",
        effective_from=frm,
    )


def component(policy: PolicyParams, presence: Presence | None, *assignments: AssignmentIn):  # type: ignore[no-untyped-def]
    return kpi_component(assignments, policy, START, END, presence=presence)


def test_null_dates_are_the_whole_cycle():
    a = gmv(m("1185000", dt.date(2026, 5, 1)))
    assert window(a, START, END) == (START, END)
    for policy in (BASE, PRORATE, EXCLUDE):
        c = component(policy, ANYONE, a)
        assert str(round_points(c.points)) == "97.00" and c.flags == ()
        assert "window" not in c.assignments[0] and "proration" not in c.assignments[0]


def test_none_only_restricts_the_measurements_to_the_window():
    a = gmv(m("600000", dt.date(2026, 4, 10)), m("900000", MOVE), to=BEFORE)
    c = component(BASE, ANYONE, a)
    (got,) = c.assignments
    assert got["actual"] == Decimal(600000) and got["points"] == 0  # targets stand: below the threshold
    assert got["window"] == {"from": "2026-04-01", "to": "2026-05-15"} and "proration" not in got
    assert c.flags == ()


def test_prorate_a_window_inside_the_cycle_the_worked_example():
    """docs/kpis.md: GMV to day 45, tickets from day 46, both prorated by days in the role."""
    old = gmv(m("300000", dt.date(2026, 4, 20)), m("260000", BEFORE), m("999999", MOVE), to=BEFORE)
    new = tickets(m("100", dt.date(2026, 5, 31)), m("170", END), m("999", BEFORE), frm=MOVE)
    c = component(PRORATE, ANYONE, old, new)
    k_old, k_new = Fraction(45, 91), Fraction(46, 91)
    gmv_points = banded(Fraction(560000), 1000000 * k_old, 1200000 * k_old, 1400000 * k_old)
    tickets_points = banded(Fraction(270), 400 * k_new, 500 * k_new, 600 * k_new)
    assert shown(gmv_points) == "86.49" and shown(tickets_points) == "106.83"
    assert str(round_points(c.points)) == shown((gmv_points + tickets_points) / 2) == "96.66"
    a, b = c.assignments
    assert a["actual"] == Decimal(560000) and b["actual"] == Decimal(270)  # the other side of the move is ignored
    assert (a["proration"]["days_present"], a["proration"]["period_days"]) == (45, 91)
    assert (b["proration"]["days_present"], b["proration"]["period_days"]) == (46, 91)
    assert b["proration"]["window"] == {"from": "2026-05-16", "to": "2026-06-30"}
    assert c.flags == ("kpi_prorated",)


def test_prorate_the_window_meets_the_hire_date():
    # hired April 16, GMV until May 15: 30 days in the role
    hired = Presence(first=dt.date(2026, 4, 16))
    (p,) = prorate([gmv(to=BEFORE)], hired, START, END)
    assert p.explanation is not None and (p.explanation["days_present"], p.explanation["period_days"]) == (30, 91)
    assert Fraction(p.assignment.target) - Fraction(1200000 * 30, 91) < Fraction(1, 10**20)


def test_prorate_a_window_without_a_day_of_presence_is_left_out():
    hired = Presence(first=dt.date(2026, 5, 20))  # after the GMV window ended
    only = component(PRORATE, hired, gmv(m("1", START), to=BEFORE))
    assert only.points is None and only.flags == ("kpi_prorated",)
    assert only.left_out[0]["proration"]["left_out"] is True
    both = component(PRORATE, hired, gmv(to=BEFORE), tickets(m("500", END), frm=MOVE))
    assert [a["code"] for a in both.assignments] == ["TICKETS"]
    assert both.assignments[0]["proration"]["days_present"] == 42  # May 20 to June 30
    assert [a["code"] for a in both.left_out] == ["GMV"]


def test_a_level_kpi_keeps_its_target_in_a_window():
    c = component(PRORATE, ANYONE, csat("4.5", END, frm=MOVE))
    assert str(round_points(c.points)) == "100.00"
    assert c.assignments[0]["proration"] == {
        "days_present": 46,
        "period_days": 91,
        "window": {"from": "2026-05-16", "to": "2026-06-30"},
        "factor": None,
        "scaled": False,
    }


def test_equal_from_and_to_is_one_day():
    a = gmv(m("20000", MOVE), m("5", BEFORE), m("5", dt.date(2026, 5, 17)), frm=MOVE, to=MOVE)
    c = component(PRORATE, ANYONE, a)
    assert c.assignments[0]["actual"] == Decimal(20000)
    assert c.assignments[0]["proration"]["days_present"] == 1
    expected = banded(Fraction(20000), Fraction(1000000, 91), Fraction(1200000, 91), Fraction(1400000, 91))
    assert str(round_points(c.points)) == shown(expected)


def test_exclude_leaves_out_a_partial_window_and_keeps_whole_ones():
    dated, whole = tickets(m("500", END), frm=MOVE), gmv(m("1185000", START))
    (p, q) = exclude([dated, whole], ANYONE, START, END)
    assert p.dropped and not q.dropped
    assert p.explanation == {
        "days_present": 46,
        "period_days": 91,
        "window": {"from": "2026-05-16", "to": "2026-06-30"},
        "left_out": True,
    }
    c = component(EXCLUDE, ANYONE, dated, whole)
    assert str(round_points(c.points)) == "97.00" and c.flags == ("kpi_excluded",)
    assert [a["code"] for a in c.assignments] == ["GMV"] and [a["code"] for a in c.left_out] == ["TICKETS"]


def test_exclude_with_every_assignment_dated_leaves_no_kpi_component():
    inputs = EmployeeInputs(
        employee_id=uuid.uuid4(),
        assignments=(gmv(m("600000", START), to=BEFORE), tickets(m("300", END), frm=MOVE)),
        manager_rating=Decimal(4),
        cycle_start=START,
        cycle_end=END,
        presence=ANYONE,
    )
    r = score(inputs, EXCLUDE)
    assert r.components["kpi"] is None and r.weights["eval"] == 1
    assert {"kpi_excluded", "reweighted"} <= set(r.flags)
    assert [a["code"] for a in r.explanation["components"]["kpi"]["left_out"]] == ["GMV", "TICKETS"]
    assert str(round_points(r.final)) == "80.00"


def test_a_window_in_a_descendant_cycle_is_bounded_by_that_cycle():
    may = dataclasses.replace(
        gmv(m("400000", dt.date(2026, 5, 10)), m("1", MOVE), to=BEFORE),
        cycle_start=dt.date(2026, 5, 1),
        cycle_end=dt.date(2026, 5, 31),
    )
    assert window(may, START, END) == (dt.date(2026, 5, 1), BEFORE)
    c = component(PRORATE, ANYONE, may)
    assert c.assignments[0]["actual"] == Decimal(400000)
    assert (c.assignments[0]["proration"]["days_present"], c.assignments[0]["proration"]["period_days"]) == (15, 31)
