"""One named test per rule of SPEC sections 3 to 7, against the pure engine."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal as Dec

import pytest

from service.scoring.distribution import cumulative_counts
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
    actual,
    distribution_report,
    enforced_ratings,
    evaluation_points,
    kpi_component,
    kpi_points,
    kr_score,
    objective_score,
    okr_component,
    okr_points,
    pace,
    rating_for,
    round_fraction,
    round_points,
    score_assignment,
    score_employee,
)
from service.scoring.numbers import D
from service.scoring.okr import current_value, expected_progress

START, END = dt.date(2024, 4, 1), dt.date(2024, 6, 30)  # 90 days
POLICY = PolicyParams(w_kpi=Dec("0.6"), w_okr=Dec("0.3"), w_eval=Dec("0.1"))
T0 = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


def p2(x: Dec | None) -> str | None:
    return None if x is None else str(round_points(x))


def p4(x: Dec | None) -> str | None:
    return None if x is None else str(round_fraction(x))


def ci(
    value: str | None = None, done: bool | None = None, at: dt.datetime = T0, created: dt.datetime | None = None
) -> CheckIn:
    return CheckIn(checked_in_at=at, created_at=created or at, value=None if value is None else Dec(value), done=done)


def metric(start: str, target: str, *values: str, weight: str = "1", grade: str | None = None) -> KeyResultIn:
    check_ins = tuple(ci(v, at=T0 + dt.timedelta(days=i)) for i, v in enumerate(values))
    return KeyResultIn(
        id=uuid.uuid4(),
        kind="metric",
        start=Dec(start),
        target=Dec(target),
        check_ins=check_ins,
        weight=Dec(weight),
        grade=None if grade is None else Dec(grade),
    )


def boolean(done: bool | None, weight: str = "1") -> KeyResultIn:
    return KeyResultIn(
        id=uuid.uuid4(), kind="boolean", weight=Dec(weight), check_ins=() if done is None else (ci(done=done),)
    )


def objective(type_: str, *krs: KeyResultIn, weight: str = "1", status: str = "published") -> ObjectiveIn:
    return ObjectiveIn(id=uuid.uuid4(), type=type_, weight=Dec(weight), status=status, key_results=krs)


def m(value: str, day: dt.date = dt.date(2024, 5, 15), created: dt.datetime | None = None) -> Measurement:
    return Measurement(value=Dec(value), measured_at=day, created_at=created)


def assignment(
    method: str,
    direction: str = "higher_is_better",
    values: tuple[str, ...] = (),
    aggregation: str = "last",
    weight: str = "1",
    veto: bool = False,
    **params: str,
) -> AssignmentIn:
    return AssignmentIn(
        id=uuid.uuid4(),
        method=method,
        direction=direction,
        aggregation=aggregation,
        weight=Dec(weight),
        veto=veto,
        measurements=tuple(m(v) for v in values),
        **{k: Dec(v) for k, v in params.items()},
    )


def points_for(a: AssignmentIn, value: str, policy: PolicyParams = POLICY) -> str:
    return p2(kpi_points(a, Dec(value), policy))


# ======================================================================== SPEC 3 numbers


def test_round_points_two_places_half_up() -> None:
    assert round_points(Dec("94.995")) == Dec("95.00")
    assert round_points(Dec("94.994999")) == Dec("94.99")
    assert round_points(Dec("-0.005")) == Dec("-0.01")


def test_round_fraction_four_places_half_up() -> None:
    assert round_fraction(Dec("0.61005")) == Dec("0.6101")
    assert round_fraction(Dec(2) / Dec(3)) == Dec("0.6667")


def test_decimal_never_through_binary_float() -> None:
    assert D(0.1) == Dec("0.1")
    assert D("0.038") == Dec("0.038")
    assert D(3) == Dec(3)


def test_intermediate_values_are_not_rounded() -> None:
    # KPI points 66.666..: composite 0.5*66.666.. + 0.5*100 = 83.333.. -> 83.33; rounding
    # the component first (66.67) would give 83.335 -> 83.34.
    policy = PolicyParams(w_kpi=Dec("0.5"), w_okr=Dec(0), w_eval=Dec("0.5"))
    inputs = EmployeeInputs(
        None,
        assignments=(assignment("ratio", values=("2",), target="3"),),
        manager_rating=Dec(5),
        cycle_start=START,
        cycle_end=END,
    )
    result = score_employee(inputs, policy)
    assert p2(result.composite) == "83.33"


def test_results_are_decimals() -> None:
    inputs = EmployeeInputs(
        None,
        assignments=(assignment("ratio", values=("2",), target="3"),),
        manager_rating=Dec(4),
        cycle_start=START,
        cycle_end=END,
    )
    result = score_employee(inputs, POLICY)
    values = [
        result.composite,
        result.final,
        *result.weights.values(),
        *(v for v in result.components.values() if v is not None),
    ]
    assert result.components["okr"] is None
    assert all(isinstance(v, Dec) for v in values)


# ======================================================================== SPEC 4 OKR


def test_current_value_is_latest_check_in_by_checked_in_at() -> None:
    kr = KeyResultIn(
        id=None,
        kind="metric",
        start=Dec(0),
        target=Dec(100),
        check_ins=(
            ci("40", at=T0 + dt.timedelta(days=5)),
            ci("80", at=T0, created=T0 + dt.timedelta(days=10)),  # created later, checked in earlier
        ),
    )
    assert current_value(kr) == Dec(40)


def test_current_value_tie_on_checked_in_at_latest_created_wins() -> None:
    kr = KeyResultIn(
        id=None,
        kind="metric",
        start=Dec(0),
        target=Dec(100),
        check_ins=(
            ci("60", at=T0, created=T0 + dt.timedelta(hours=1)),
            ci("30", at=T0, created=T0),
        ),
    )
    assert current_value(kr) == Dec(60)
    reordered = KeyResultIn(id=None, kind="metric", start=Dec(0), target=Dec(100), check_ins=kr.check_ins[::-1])
    assert current_value(reordered) == Dec(60)


def test_current_value_without_check_in_is_start() -> None:
    kr = metric("20", "100")
    assert current_value(kr) == Dec(20)
    assert kr_score(kr).score == 0


def test_kr_metric_progress_formula() -> None:
    assert p4(kr_score(metric("20", "100", "90")).score) == "0.8750"
    assert p4(kr_score(metric("0", "50000", "36000")).score) == "0.7200"


def test_kr_metric_decreasing_direction_from_sign() -> None:
    # "reduce returns from 8% to 5%": no direction flag needed.
    assert p4(kr_score(metric("8", "5", "6.5")).score) == "0.5000"
    assert p4(kr_score(metric("8", "5", "6")).score) == "0.6667"


def test_kr_metric_past_target_clamped_to_one() -> None:
    assert kr_score(metric("0", "100", "150")).score == 1
    assert kr_score(metric("10", "5", "3")).score == 1


def test_kr_metric_wrong_direction_clamped_to_zero() -> None:
    assert kr_score(metric("0", "100", "-20")).score == 0
    assert kr_score(metric("10", "5", "12")).score == 0


def test_kr_metric_target_equal_to_start_is_rejected() -> None:
    with pytest.raises(ValueError):
        kr_score(metric("5", "5", "5"))


def test_kr_boolean_done_is_one_else_zero() -> None:
    assert kr_score(boolean(True)).score == 1
    assert kr_score(boolean(False)).score == 0
    assert kr_score(boolean(None)).score == 0


def test_kr_boolean_latest_check_in_decides() -> None:
    kr = KeyResultIn(
        id=None, kind="boolean", check_ins=(ci(done=False, at=T0 + dt.timedelta(days=3)), ci(done=True, at=T0))
    )
    assert kr_score(kr).score == 0


def test_kr_milestone_weighted_fraction() -> None:
    kr = KeyResultIn(
        id=None,
        kind="milestone",
        milestones=(Milestone(Dec(1), True), Milestone(Dec(1), True), Milestone(Dec(2), False)),
    )
    assert p4(kr_score(kr).score) == "0.5000"
    kr = KeyResultIn(
        id=None,
        kind="milestone",
        milestones=(Milestone(Dec(3), False), Milestone(Dec(1), True), Milestone(Dec(1), True)),
    )
    assert p4(kr_score(kr).score) == "0.4000"


def test_kr_manual_grade_replaces_score_and_keeps_computed() -> None:
    s = kr_score(metric("0", "100", "90", grade="0.5"))
    assert s.score == Dec("0.5") and s.graded
    assert p4(s.progress) == "0.9000"


def test_kr_manual_grade_zero_is_a_grade() -> None:
    s = kr_score(KeyResultIn(id=None, kind="boolean", check_ins=(ci(done=True),), grade=Dec(0)))
    assert s.score == 0 and s.graded and s.progress == 1


def test_objective_score_weighted_mean_of_krs() -> None:
    o = objective(
        "aspirational",
        metric("0", "50000", "36000", weight="2"),
        metric("8", "5", "6.5"),
        KeyResultIn(
            id=None,
            kind="milestone",
            milestones=(Milestone(Dec(1), True), Milestone(Dec(1), True), Milestone(Dec(2), False)),
        ),
    )
    assert p4(objective_score(o).score) == "0.6100"


def test_objective_without_krs_is_not_scored() -> None:
    assert objective_score(objective("committed")).score is None


def test_okr_points_committed_par_is_one() -> None:
    assert p2(okr_points(Dec("0.9375"), "committed", POLICY)) == "93.75"
    assert p2(okr_points(Dec("0.7"), "committed", POLICY)) == "70.00"


def test_okr_points_aspirational_sweet_spot() -> None:
    assert p2(okr_points(Dec("0.7"), "aspirational", POLICY)) == "100.00"
    assert p2(okr_points(Dec("0.61"), "aspirational", POLICY)) == "87.14"


def test_okr_points_capped_at_okr_cap() -> None:
    assert p2(okr_points(Dec(1), "aspirational", POLICY)) == "120.00"
    assert p2(okr_points(Dec("0.84"), "aspirational", POLICY)) == "120.00"
    custom = PolicyParams(okr_cap=Dec("1.5"), okr_par_aspirational=Dec("0.5"))
    assert p2(okr_points(Dec(1), "aspirational", custom)) == "150.00"


def test_okr_points_custom_committed_par() -> None:
    custom = PolicyParams(okr_par_committed=Dec("0.8"))
    assert p2(okr_points(Dec("0.6"), "committed", custom)) == "75.00"


def test_okr_component_weighted_mean_of_objectives() -> None:
    c = okr_component(
        [objective("committed", boolean(True), weight="3"), objective("committed", metric("0", "10", "2"))], POLICY
    )
    assert p2(c.points) == "80.00" and c.flags == ()


@pytest.mark.parametrize(
    "status,counts",
    [
        ("draft", False),
        ("submitted", False),
        ("approved", False),
        ("rejected", False),
        ("published", True),
        ("closed", True),
    ],
)
def test_okr_component_counts_only_published_and_closed(status: str, counts: bool) -> None:
    c = okr_component(
        [objective("committed", metric("0", "10", "8")), objective("committed", metric("0", "10", "2"), status=status)],
        POLICY,
    )
    assert p2(c.points) == ("50.00" if counts else "80.00")


def test_okr_component_flags_objective_not_scored() -> None:
    c = okr_component([objective("committed"), objective("committed", metric("0", "10", "9"))], POLICY)
    assert p2(c.points) == "90.00"
    assert "objective_not_scored" in c.flags


def test_okr_component_unscored_draft_is_not_flagged() -> None:
    c = okr_component([objective("committed", status="draft")], POLICY)
    assert c.points is None and c.flags == ()


def test_okr_component_absent_without_objectives() -> None:
    assert okr_component([], POLICY).points is None


def test_pace_expected_progress_is_elapsed_fraction() -> None:
    assert expected_progress(dt.date(2024, 5, 16), START, END) == Dec("0.5")
    assert p4(expected_progress(dt.date(2024, 4, 11), START, END)) == "0.1111"


def test_pace_expected_progress_clamped() -> None:
    assert expected_progress(dt.date(2024, 1, 1), START, END) == 0
    assert expected_progress(dt.date(2024, 12, 31), START, END) == 1


def test_pace_before_cycle_start_is_on_track() -> None:
    assert pace(Dec(0), dt.date(2024, 3, 31), START, END) == "on_track"


def test_pace_on_start_day_is_on_track() -> None:
    assert pace(Dec(0), START, START, END) == "on_track"


def test_pace_on_track_boundary() -> None:
    mid = dt.date(2024, 5, 16)  # expected 0.5
    assert pace(Dec("0.35"), mid, START, END) == "on_track"
    assert pace(Dec("0.3499"), mid, START, END) == "at_risk"


def test_pace_at_risk_boundary() -> None:
    mid = dt.date(2024, 5, 16)
    assert pace(Dec("0.25"), mid, START, END) == "at_risk"
    assert pace(Dec("0.2499"), mid, START, END) == "off_track"


def test_pace_uses_unrounded_expected_progress() -> None:
    day = dt.date(2024, 4, 11)  # expected 1/9: on_track from 0.0777.., at_risk from 0.0555..
    assert pace(Dec("0.0778"), day, START, END) == "on_track"
    assert pace(Dec("0.0777"), day, START, END) == "at_risk"
    assert pace(Dec("0.0556"), day, START, END) == "at_risk"
    assert pace(Dec("0.0555"), day, START, END) == "off_track"


def test_pace_after_cycle_end_expects_full_progress() -> None:
    after = dt.date(2024, 9, 1)
    assert pace(Dec("0.7"), after, START, END) == "on_track"
    assert pace(Dec("0.69"), after, START, END) == "at_risk"
    assert pace(Dec("0.4999"), after, START, END) == "off_track"


# ======================================================================== SPEC 5 KPI


@pytest.mark.parametrize(
    "aggregation,expected", [("sum", "60"), ("avg", "20"), ("last", "30"), ("min", "10"), ("max", "30")]
)
def test_actual_aggregations(aggregation: str, expected: str) -> None:
    ms = [m("20", dt.date(2024, 5, 1)), m("30", dt.date(2024, 6, 1)), m("10", dt.date(2024, 4, 15))]
    assert actual(ms, aggregation, START, END) == Dec(expected)


def test_actual_avg_is_not_rounded() -> None:
    ms = [m("0.041"), m("0.038"), m("0.036")]
    assert actual(ms, "avg", START, END) * 3 == Dec("0.115")


def test_actual_window_is_inclusive_of_cycle_dates() -> None:
    ms = [m("1000", dt.date(2024, 3, 31)), m("10", START), m("20", END), m("1000", dt.date(2024, 7, 1))]
    assert actual(ms, "sum", START, END) == Dec(30)


def test_actual_uses_the_assignments_own_cycle() -> None:
    # An assignment in a descendant cycle (a month of the quarter) counts only its month.
    a = AssignmentIn(
        id=None,
        method="ratio",
        direction="higher_is_better",
        aggregation="sum",
        target=Dec(100),
        measurements=(
            m("10", dt.date(2024, 4, 30)),
            m("20", dt.date(2024, 5, 1)),
            m("30", dt.date(2024, 5, 31)),
            m("40", dt.date(2024, 6, 1)),
        ),
        cycle_start=dt.date(2024, 5, 1),
        cycle_end=dt.date(2024, 5, 31),
    )
    assert score_assignment(a, POLICY, START, END).actual == Dec(50)


def test_actual_none_without_measurement_in_cycle() -> None:
    assert actual([], "sum", START, END) is None
    assert actual([m("5", dt.date(2024, 7, 1))], "sum", START, END) is None


def test_actual_last_tie_on_measured_at_latest_created_wins() -> None:
    day = dt.date(2024, 6, 15)
    ms = [
        m("80", day, T0 + dt.timedelta(hours=3)),
        m("40", day, T0),
        m("100", dt.date(2024, 5, 1), T0 + dt.timedelta(days=30)),
    ]
    assert actual(ms, "last", START, END) == Dec(80)


def test_missing_data_scores_zero_and_is_flagged() -> None:
    a = assignment("banded", threshold="100", target="200")
    s = score_assignment(a, POLICY, START, END)
    assert s.points == 0 and s.missing_data and s.actual is None
    c = kpi_component([a, assignment("ratio", values=("90",), target="100")], POLICY, START, END)
    assert p2(c.points) == "45.00" and c.flags == ("missing_data",)


BANDED_HIB = assignment("banded", threshold="100", target="200", stretch="300")
BANDED_LIB = assignment("banded", "lower_is_better", threshold="10", target="5", stretch="2")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("99", "0.00"),
        ("100", "60.00"),
        ("150", "80.00"),
        ("200", "100.00"),
        ("250", "110.00"),
        ("300", "120.00"),
        ("450", "120.00"),
    ],
)
def test_banded_higher_is_better(value: str, expected: str) -> None:
    assert points_for(BANDED_HIB, value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("10.5", "0.00"),
        ("10", "60.00"),
        ("7", "84.00"),
        ("5", "100.00"),
        ("3", "113.33"),
        ("2", "120.00"),
        ("0.5", "120.00"),
    ],
)
def test_banded_lower_is_better(value: str, expected: str) -> None:
    assert points_for(BANDED_LIB, value) == expected


def test_banded_below_threshold_is_zero() -> None:
    assert points_for(BANDED_HIB, "99.99") == "0.00"
    assert points_for(BANDED_LIB, "10.01") == "0.00"


def test_banded_at_threshold_is_threshold_points() -> None:
    assert points_for(BANDED_HIB, "100") == "60.00"


def test_banded_at_target_is_target_points() -> None:
    assert points_for(BANDED_HIB, "200") == "100.00"
    assert points_for(BANDED_LIB, "5") == "100.00"


def test_banded_without_stretch_stays_at_target_points() -> None:
    a = assignment("banded", threshold="100", target="200")
    assert points_for(a, "175") == "90.00"
    assert points_for(a, "200") == "100.00"
    assert points_for(a, "100000") == "100.00"


def test_banded_uses_policy_points() -> None:
    custom = PolicyParams(kpi_threshold_points=Dec(50), kpi_target_points=Dec(90), kpi_cap=Dec(150))
    assert points_for(BANDED_HIB, "100", custom) == "50.00"
    assert points_for(BANDED_HIB, "150", custom) == "70.00"
    assert points_for(BANDED_HIB, "250", custom) == "120.00"
    assert points_for(BANDED_HIB, "999", custom) == "150.00"


def test_banded_appendix_return_rate() -> None:
    a = assignment("banded", "lower_is_better", threshold="0.05", target="0.04", stretch="0.03")
    assert p2(kpi_points(a, Dec("0.115") / 3, POLICY)) == "103.33"


@pytest.mark.parametrize(
    "value,expected",
    [("150", "75.00"), ("200", "100.00"), ("230", "115.00"), ("300", "120.00"), ("0", "0.00"), ("-50", "0.00")],
)
def test_ratio_higher_is_better(value: str, expected: str) -> None:
    assert points_for(assignment("ratio", target="200"), value) == expected


@pytest.mark.parametrize(
    "value,expected", [("5", "80.00"), ("4", "100.00"), ("3.5", "114.29"), ("2", "120.00"), ("400", "1.00")]
)
def test_ratio_lower_is_better(value: str, expected: str) -> None:
    assert points_for(assignment("ratio", "lower_is_better", target="4"), value) == expected


@pytest.mark.parametrize("value", ["0", "-1", "-0.0001"])
def test_ratio_lower_is_better_nonpositive_actual_gives_cap(value: str) -> None:
    assert points_for(assignment("ratio", "lower_is_better", target="4"), value) == "120.00"


def test_ratio_clamped_to_policy_cap() -> None:
    custom = PolicyParams(kpi_cap=Dec(150))
    assert points_for(assignment("ratio", target="100"), "1000", custom) == "150.00"


RANGE = assignment("range", "target_range", range_low="4.5", range_high="4.8", tolerance="0.25")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("4.5", "100.00"),
        ("4.65", "100.00"),
        ("4.8", "100.00"),
        ("4.45", "80.00"),
        ("4.4", "60.00"),
        ("4.95", "40.00"),
        ("5.05", "0.00"),
        ("3", "0.00"),
    ],
)
def test_range_points(value: str, expected: str) -> None:
    assert points_for(RANGE, value) == expected


@pytest.mark.parametrize(
    "direction,value,expected",
    [
        ("higher_is_better", "1", "100.00"),
        ("higher_is_better", "5", "100.00"),
        ("higher_is_better", "0.999", "0.00"),
        ("lower_is_better", "1", "100.00"),
        ("lower_is_better", "0", "100.00"),
        ("lower_is_better", "1.001", "0.00"),
    ],
)
def test_binary_target_met(direction: str, value: str, expected: str) -> None:
    assert points_for(assignment("binary", direction, target="1"), value) == expected


def test_kpi_component_weighted_mean() -> None:
    c = kpi_component(
        [
            assignment("ratio", values=("90",), target="100", weight="3"),
            assignment("binary", values=("1",), target="1"),
        ],
        POLICY,
        START,
        END,
    )
    assert p2(c.points) == "92.50" and c.flags == ()


def test_kpi_component_appendix_a() -> None:
    c = kpi_component(
        [
            assignment(
                "banded",
                values=("410000", "380000", "395000"),
                aggregation="sum",
                weight="40",
                threshold="1000000",
                target="1200000",
                stretch="1400000",
            ),
            assignment(
                "banded",
                "lower_is_better",
                values=("0.041", "0.038", "0.036"),
                aggregation="avg",
                weight="20",
                threshold="0.05",
                target="0.04",
                stretch="0.03",
            ),
            assignment(
                "range",
                "target_range",
                values=("4.45",),
                weight="20",
                range_low="4.5",
                range_high="4.8",
                tolerance="0.25",
            ),
            assignment("ratio", values=("0.031",), weight="20", target="0.03"),
        ],
        POLICY,
        START,
        END,
    )
    assert p2(c.points) == "96.13"


def test_veto_zeroes_component_and_flags() -> None:
    c = kpi_component(
        [
            assignment("binary", values=("0",), target="1", veto=True),
            assignment("ratio", values=("150",), target="100", weight="3"),
        ],
        POLICY,
        START,
        END,
    )
    assert c.points == 0 and c.flags == ("veto_triggered",)


def test_veto_not_triggered_when_veto_kpi_scores() -> None:
    c = kpi_component(
        [
            assignment("banded", values=("100",), threshold="100", target="200", veto=True),
            assignment("ratio", values=("100",), target="100"),
        ],
        POLICY,
        START,
        END,
    )
    assert p2(c.points) == "80.00" and c.flags == ()


def test_veto_triggered_by_missing_data() -> None:
    c = kpi_component(
        [assignment("binary", target="1", veto=True), assignment("ratio", values=("100",), target="100")],
        POLICY,
        START,
        END,
    )
    assert c.points == 0 and set(c.flags) == {"missing_data", "veto_triggered"}


def test_zero_points_without_veto_does_not_veto() -> None:
    c = kpi_component(
        [
            assignment("binary", values=("0",), target="1"),
            assignment("ratio", values=("100",), target="100", veto=True),
        ],
        POLICY,
        START,
        END,
    )
    assert p2(c.points) == "50.00" and c.flags == ()


def test_kpi_component_absent_without_assignments() -> None:
    assert kpi_component([], POLICY, START, END).points is None


# ======================================================================== SPEC 6 evaluation


def test_eval_manager_points() -> None:
    assert p2(evaluation_points(Dec(4), (), POLICY)) == "80.00"
    assert p2(evaluation_points(Dec(3), (), POLICY)) == "60.00"


def test_eval_rating_scale() -> None:
    assert p2(evaluation_points(Dec(7), (), PolicyParams(rating_scale=10))) == "70.00"


def test_eval_peer_blend() -> None:
    policy = PolicyParams(peer_weight=Dec("0.25"))
    assert p2(evaluation_points(Dec(4), (Dec(3), Dec(5), Dec(5)), policy)) == "81.67"


def test_eval_peer_weight_zero_ignores_peers() -> None:
    assert p2(evaluation_points(Dec(4), (Dec(1), Dec(1)), PolicyParams())) == "80.00"


def test_eval_peer_weight_without_peers_uses_manager() -> None:
    assert p2(evaluation_points(Dec(4), (), PolicyParams(peer_weight=Dec("0.3")))) == "80.00"


def test_eval_absent_without_submitted_manager_rating() -> None:
    assert evaluation_points(None, (Dec(5), Dec(5)), PolicyParams(peer_weight=Dec("0.5"))) is None


# ======================================================================== SPEC 7 composite


def inputs(kpi: str | None = None, okr: str | None = None, manager: str | None = None, *deltas: str) -> EmployeeInputs:
    """Components with the given points: KPI through a ratio KPI (target 100), OKR through
    one committed objective (score okr/100), eval through the manager rating (N 5)."""
    return EmployeeInputs(
        None,
        assignments=() if kpi is None else (assignment("ratio", values=(kpi,), target="100"),),
        objectives=() if okr is None else (objective("committed", metric("0", "100", okr)),),
        manager_rating=None if manager is None else Dec(manager),
        adjustments=tuple(Adjustment(Dec(d), "reason", "author") for d in deltas),
        cycle_start=START,
        cycle_end=END,
    )


def test_composite_is_weighted_sum() -> None:
    r = score_employee(inputs("80", "90", "3"), PolicyParams(w_kpi=Dec("0.5"), w_okr=Dec("0.3"), w_eval=Dec("0.2")))
    assert r.status == "scored" and p2(r.composite) == "79.00" and r.flags == ()


@pytest.mark.parametrize(
    "absent,present,expected",
    [
        ("kpi", {"okr": "90", "manager": "4"}, {"okr": "0.7500", "eval": "0.2500", "composite": "87.50"}),
        ("okr", {"kpi": "90", "manager": "3"}, {"kpi": "0.8571", "eval": "0.1429", "composite": "85.71"}),
        ("eval", {"kpi": "90", "okr": "60"}, {"kpi": "0.6667", "okr": "0.3333", "composite": "80.00"}),
    ],
)
def test_reweighting_scales_present_components(absent: str, present: dict, expected: dict) -> None:
    r = score_employee(inputs(**present), POLICY)
    assert r.components[absent] is None
    assert r.weights[absent] == 0
    assert p4(sum(r.weights.values())) == "1.0000"
    for c, w in expected.items():
        if c != "composite":
            assert p4(r.weights[c]) == w
    assert p2(r.composite) == expected["composite"]
    assert "reweighted" in r.flags


def test_no_reweighted_flag_when_all_present() -> None:
    assert "reweighted" not in score_employee(inputs("80", "90", "3"), POLICY).flags


def test_absent_component_with_zero_weight_is_not_reweighting() -> None:
    policy = PolicyParams(w_kpi=Dec("0.5"), w_okr=Dec("0.5"), w_eval=Dec(0))
    r = score_employee(inputs("80", "60"), policy)
    assert p2(r.composite) == "70.00" and "reweighted" not in r.flags


def test_insufficient_data_without_components() -> None:
    r = score_employee(inputs(None, None, None, "5"), POLICY)
    assert r.status == "insufficient_data"
    assert r.composite is None and r.final is None and r.rating is None


def test_final_adds_calibration_deltas() -> None:
    r = score_employee(inputs(None, None, "4", "1.5", "-0.25", "0.75"), POLICY)
    assert p2(r.composite) == "80.00" and p2(r.final) == "82.00" and r.calibration_delta == Dec("2.00")


def test_final_never_below_zero() -> None:
    r = score_employee(inputs(None, None, "1", "-30"), POLICY)
    assert r.final == 0 and r.rating == "D"


@pytest.mark.parametrize(
    "final,rating",
    [
        ("120", "S"),
        ("110", "S"),
        ("109.995", "S"),
        ("109.994", "A"),
        ("95", "A"),
        ("94.995", "A"),
        ("94.994", "B"),
        ("80", "B"),
        ("79.995", "B"),
        ("79.994", "C"),
        ("60", "C"),
        ("59.99", "D"),
        ("0", "D"),
    ],
)
def test_rating_first_band_from_top_after_rounding(final: str, rating: str) -> None:
    assert rating_for(Dec(final), POLICY.bands) == rating


def test_rating_custom_bands_in_any_order() -> None:
    bands = (("meets", Dec(70)), ("below", Dec(0)), ("exceeds", Dec(100)))
    assert rating_for(Dec("99.995"), bands) == "exceeds"
    assert rating_for(Dec("80"), bands) == "meets"
    assert rating_for(Dec("69.99"), bands) == "below"


def test_appendix_a_composite_calibrated_and_reweighted() -> None:
    def build(manager: Dec | None, *deltas: str) -> EmployeeInputs:
        return EmployeeInputs(
            None,
            assignments=(
                assignment(
                    "banded",
                    values=("410000", "380000", "395000"),
                    aggregation="sum",
                    weight="40",
                    threshold="1000000",
                    target="1200000",
                    stretch="1400000",
                ),
                assignment(
                    "banded",
                    "lower_is_better",
                    values=("0.041", "0.038", "0.036"),
                    aggregation="avg",
                    weight="20",
                    threshold="0.05",
                    target="0.04",
                    stretch="0.03",
                ),
                assignment(
                    "range",
                    "target_range",
                    values=("4.45",),
                    weight="20",
                    range_low="4.5",
                    range_high="4.8",
                    tolerance="0.25",
                ),
                assignment("ratio", values=("0.031",), weight="20", target="0.03"),
            ),
            objectives=(
                objective(
                    "aspirational",
                    metric("0", "50000", "36000", weight="2"),
                    metric("8", "5", "6.5"),
                    KeyResultIn(
                        id=None,
                        kind="milestone",
                        milestones=(Milestone(Dec(1), True), Milestone(Dec(1), True), Milestone(Dec(2), False)),
                    ),
                ),
                objective("committed", boolean(True), metric("20", "100", "90")),
            ),
            manager_rating=manager,
            adjustments=tuple(Adjustment(Dec(d), "r", "a") for d in deltas),
            cycle_start=START,
            cycle_end=END,
        )

    r = score_employee(build(Dec(4)), POLICY)
    assert [p2(r.components[c]) for c in ("kpi", "okr", "eval")] == ["96.13", "90.45", "80.00"]
    assert (p2(r.composite), r.rating) == ("92.81", "B")
    r = score_employee(build(Dec(4), "-2.5"), POLICY)
    assert (p2(r.final), r.rating) == ("90.31", "B")
    r = score_employee(build(None), POLICY)
    assert (p2(r.composite), r.flags) == ("94.24", ("reweighted",))


def test_explanation_carries_every_input() -> None:
    policy = PolicyParams(w_kpi=Dec("0.6"), w_okr=Dec("0.3"), w_eval=Dec("0.1"), id=uuid.uuid4(), version=3)
    kpi = assignment("ratio", values=("90",), target="100")
    kr = metric("0", "10", "9")
    obj = objective("aspirational", kr)
    adj = Adjustment(Dec("-1"), "outlier", "hr-lead")
    r = score_employee(
        EmployeeInputs(
            None,
            objectives=(obj,),
            assignments=(kpi,),
            manager_rating=Dec(4),
            adjustments=(adj,),
            cycle_start=START,
            cycle_end=END,
        ),
        policy,
    )
    e = r.explanation
    assert e["policy"]["id"] == str(policy.id) and e["policy"]["version"] == 3
    for c in ("kpi", "okr", "eval"):
        comp = e["components"][c]
        assert comp["points"] == r.components[c]
        assert comp["weight"] == r.weights[c]
        assert comp["contribution"] == r.weights[c] * r.components[c]
    k = e["components"]["kpi"]["assignments"][0]
    assert (k["id"], k["method"], k["actual"], p2(k["points"])) == (str(kpi.id), "ratio", Dec(90), "90.00")
    o = e["components"]["okr"]["objectives"][0]
    assert o["id"] == str(obj.id) and o["par"] == Dec("0.7") and p2(o["points"]) == "120.00"
    assert [k["id"] for k in o["key_results"]] == [str(kr.id)] and p4(o["key_results"][0]["score"]) == "0.9000"
    assert e["calibration"] == [{"delta": Dec(-1), "reason": "outlier", "author": "hr-lead", "id": None}]


# ======================================================================== SPEC 7 forced distribution

APPENDIX_BANDS = (("S", Dec("0.10")), ("A", Dec("0.20")), ("B", Dec("0.50")), ("C", Dec("0.15")), ("D", Dec("0.05")))


def test_distribution_cumulative_counts_round_half_up() -> None:
    assert cumulative_counts(APPENDIX_BANDS, 10) == [1, 3, 8, 10, 10]  # 9.5 rounds up
    assert cumulative_counts(APPENDIX_BANDS, 5) == [1, 2, 4, 5, 5]  # 0.5 and 1.5 round up


def test_distribution_enforced_appendix_a() -> None:
    finals = ["112", "101", "101", "96", "90", "88", "85", "79", "70", "55"]
    ratings = enforced_ratings([(i, Dec(f)) for i, f in enumerate(finals)], APPENDIX_BANDS)
    assert [ratings[i] for i in range(10)] == ["S", "A", "A", "B", "B", "B", "B", "B", "C", "C"]


def test_distribution_ranks_by_final_descending_whatever_the_input_order() -> None:
    finals = [("e3", Dec(80)), ("e1", Dec(100)), ("e2", Dec(90)), ("e4", Dec(70))]
    bands = (("S", Dec("0.25")), ("A", Dec("0.25")), ("B", Dec("0.25")), ("C", Dec("0.25")))
    assert enforced_ratings(finals, bands) == {"e1": "S", "e2": "A", "e3": "B", "e4": "C"}


def test_distribution_equal_finals_get_best_band_any_of_them_got() -> None:
    bands = (("S", Dec("0.25")), ("A", Dec("0.25")), ("B", Dec("0.5")))
    finals = [("e1", Dec(100)), ("e2", Dec(90)), ("e3", Dec(90)), ("e4", Dec(80))]
    assert enforced_ratings(finals, bands) == {"e1": "S", "e2": "A", "e3": "A", "e4": "B"}
    finals = [("e1", Dec(100)), ("e2", Dec(100)), ("e3", Dec(100)), ("e4", Dec(50))]
    assert enforced_ratings(finals, bands) == {"e1": "S", "e2": "S", "e3": "S", "e4": "B"}


def test_distribution_equal_shown_finals_tie() -> None:
    # The engine compares finals as shown (2 places): 90.314 and 90.306 both show 90.31.
    bands = (("S", Dec("0.5")), ("A", Dec("0.5")))
    ratings = enforced_ratings([("e1", Dec("90.314")), ("e2", Dec("90.306"))], bands)
    assert ratings == {"e1": "S", "e2": "S"}


def test_distribution_empty_group() -> None:
    assert enforced_ratings([], APPENDIX_BANDS) == {}


def test_distribution_advisory_report_allowed_vs_actual() -> None:
    report = distribution_report(["S", "S", "A", "B", "B", "B", "B", "B", "C", None], APPENDIX_BANDS)
    assert [(b.rating, b.allowed, b.actual) for b in report] == [
        ("S", 1, 2),
        ("A", 2, 1),
        ("B", 4, 5),
        ("C", 2, 1),
        ("D", 0, 0),
    ]
