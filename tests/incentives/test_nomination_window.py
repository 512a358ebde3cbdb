"""The okr_breakthrough rule over a window of cycles (`history_cycles`), pure: which
earlier cycles the window holds, the number of cycles with a breakthrough, the mean OKR
grade, and the defaults giving SPEC's one-cycle rule exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from service.incentives import calc

Q4 = calc.Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31))


def quarter(name: str, start: str, end: str, cadence: str = "quarterly") -> calc.CycleInfo:
    return calc.CycleInfo(
        id=name, name=name, cadence=cadence, start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end)
    )


OWN = quarter("2026-Q4", "2026-10-01", "2026-12-31")
Q3 = quarter("2026-Q3", "2026-07-01", "2026-09-30")
Q2 = quarter("2026-Q2", "2026-04-01", "2026-06-30")
Q1 = quarter("2026-Q1", "2026-01-01", "2026-03-31")
Q0 = quarter("2025-Q4", "2025-10-01", "2025-12-31")
NEXT = quarter("2027-Q1", "2027-01-01", "2027-03-31")
YEAR = quarter("FY2026", "2026-01-01", "2026-12-31", cadence="annual")
H1 = quarter("2026-H1", "2026-01-01", "2026-06-30", cadence="half_year")


def objectives(*scores: tuple[str, str | None] | tuple[str, str | None, str]) -> tuple[calc.ObjectiveScore, ...]:
    out = []
    for i, item in enumerate(scores):
        kind, score = item[0], item[1]
        weight = Decimal(item[2]) if len(item) > 2 else calc.ONE  # type: ignore[misc]
        out.append(
            calc.ObjectiveScore(
                id=f"o{i}", title=f"O{i}", type=kind, score=None if score is None else Decimal(score), weight=weight
            )
        )
    return tuple(out)


def nominee(
    rating: str | None, own: tuple[calc.ObjectiveScore, ...], history: dict[str, tuple[calc.ObjectiveScore, ...]]
) -> calc.Candidate:
    return calc.Candidate(
        calc.Person(id=uuid.uuid4()),
        calc.ScoreFacts(rating=rating, objectives=own),
        history={k: calc.CycleOkr(cycle_id=k, objectives=v, official=k == Q2.id) for k, v in history.items()},
    )


def spec(window: tuple[calc.CycleInfo, ...], **params: Any) -> calc.PlanSpec:
    return calc.PlanSpec("okr_breakthrough", "USD", Q4, params, cycle=OWN, window=window)


def test_the_window_is_the_latest_earlier_cycles_of_the_same_cadence():
    every = [NEXT, YEAR, H1, Q0, Q1, Q2, Q3, OWN]
    assert calc.history_window(OWN, every, 4) == (Q3, Q2, Q1)  # Q0 falls out, later and other cadences never count
    assert calc.history_window(OWN, every, 1) == ()
    assert calc.history_window(OWN, every, 8) == (Q3, Q2, Q1, Q0)  # shorter than asked: what exists
    overlapping = quarter("late", "2026-08-01", "2026-10-15")  # ends after the plan's cycle starts
    assert calc.history_window(OWN, [overlapping, Q3], 3) == (Q3,)


def test_min_breakthrough_cycles_counts_exactly_n():
    window = (Q3, Q2, Q1)
    two = nominee("A", objectives(("aspirational", "0.7")), {Q2.id: objectives(("aspirational", "0.9"))})
    one = nominee("A", objectives(("aspirational", "0.7")), {Q3.id: objectives(("committed", "1.0"))})
    none = nominee("A", objectives(("committed", "0.9")), {Q3.id: objectives(("aspirational", "0.5"))})
    run = calc.compute_plan(spec(window, history_cycles=4, min_breakthrough_cycles=2), [two, one, none])
    assert [o.employee_id for o in run.outcomes] == [two.person.id]
    assert dict(run.skipped) == {
        one.person.id: calc.TOO_FEW_BREAKTHROUGH_CYCLES,
        none.person.id: calc.NOT_NOMINATED,
    }
    inputs = run.outcomes[0].inputs
    w = inputs["window"]
    assert (w["asked"], w["cycles_counted"], w["shorter_than_asked"], w["breakthrough_cycles"]) == (4, 4, False, 2)
    assert [(c["id"], c["breakthrough"], c["official"]) for c in w["cycles"]] == [
        (OWN.id, True, False),
        (Q3.id, False, False),
        (Q2.id, True, True),
        (Q1.id, False, False),
    ]
    assert w["cycles"][2]["qualifying_objectives"][0]["score_rounded"] == "0.9000"
    assert w["cycles"][1]["okr_grade"] is None  # no objectives in Q3: left out of the mean
    assert inputs["criteria"] == {
        "ratings": ["S", "A"],
        "min_objective_score": "0.7",
        "history_cycles": 4,
        "min_breakthrough_cycles": 2,
        "min_average_okr_score": None,
    }


def test_a_shorter_window_says_so():
    c = nominee("S", objectives(("aspirational", "0.8")), {Q3.id: objectives(("aspirational", "0.8"))})
    run = calc.compute_plan(spec((Q3,), history_cycles=4, min_breakthrough_cycles=2), [c])
    w = run.outcomes[0].inputs["window"]
    assert (w["asked"], w["cycles_counted"], w["shorter_than_asked"]) == (4, 2, True)
    # a window too short for min_breakthrough_cycles nominates nobody
    run = calc.compute_plan(spec((Q3,), history_cycles=4, min_breakthrough_cycles=3), [c])
    assert dict(run.skipped) == {c.person.id: calc.TOO_FEW_BREAKTHROUGH_CYCLES}


def test_average_exactly_at_the_minimum_and_cycles_without_objectives():
    # Q4 grade: (0.8 × 1 + 0.2 × 1) / 2 = 0.5; Q3: none (left out); Q2: (0.9 × 3 + 0.5 × 1) / 4 = 0.8
    # mean of 0.5 and 0.8 = 0.65
    c = nominee(
        "A",
        objectives(("aspirational", "0.8"), ("committed", "0.2")),
        {Q3.id: (), Q2.id: objectives(("aspirational", "0.9", "3"), ("committed", "0.5"))},
    )
    window = (Q3, Q2)
    at = calc.compute_plan(spec(window, history_cycles=3, min_average_okr_score="0.65"), [c])
    assert len(at.outcomes) == 1
    w = at.outcomes[0].inputs["window"]
    assert (w["okr_average_rounded"], w["okr_average_cycles"]) == ("0.6500", 2)
    assert [c["okr_grade"] for c in w["cycles"]] == ["0.5", None, "0.8"]
    above = calc.compute_plan(spec(window, history_cycles=3, min_average_okr_score="0.6501"), [c])
    assert dict(above.skipped) == {c.person.id: calc.OKR_AVERAGE_BELOW_MINIMUM}


def test_no_objectives_at_all_in_the_window_is_a_skip_reason():
    unscored = nominee("A", objectives(("aspirational", None)), {})
    run = calc.compute_plan(spec((Q3,), history_cycles=2, min_breakthrough_cycles=1), [unscored])
    assert dict(run.skipped) == {unscored.person.id: calc.NOT_NOMINATED}
    # a breakthrough needs a scored objective, so NO_OKR_SCORES guards the average alone
    assert calc.okr_grade(objectives(("aspirational", None))) is None
    assert calc.okr_grade(objectives(("aspirational", "0.5", "0"))) is None


def test_a_later_or_other_cadence_cycle_in_the_facts_is_not_counted():
    """Facts of cycles outside the window (given by mistake) change nothing."""
    c = nominee(
        "A",
        objectives(("aspirational", "0.7")),
        {NEXT.id: objectives(("aspirational", "1")), YEAR.id: objectives(("aspirational", "1"))},
    )
    window = calc.history_window(OWN, [NEXT, YEAR, Q3], 4)
    run = calc.compute_plan(spec(window, history_cycles=4, min_breakthrough_cycles=2), [c])
    assert dict(run.skipped) == {c.person.id: calc.TOO_FEW_BREAKTHROUGH_CYCLES}


def test_the_rating_is_the_plan_cycles_own():
    c = nominee("B", objectives(("aspirational", "0.9")), {Q3.id: objectives(("aspirational", "0.9"))})
    run = calc.compute_plan(spec((Q3,), history_cycles=2), [c])
    assert dict(run.skipped) == {c.person.id: calc.NOT_NOMINATED}


def test_defaults_are_the_one_cycle_rule():
    yes = nominee("A", objectives(("aspirational", "0.7")), {Q3.id: objectives(("aspirational", "0.1"))})
    no = nominee("A", objectives(("aspirational", "0.6")), {Q3.id: objectives(("aspirational", "0.9"))})
    explicit = {"history_cycles": 1, "min_breakthrough_cycles": 1, "min_average_okr_score": None}
    for params in ({}, explicit):
        with_window = calc.compute_plan(spec((Q3,), **params), [yes, no])
        plain = calc.compute_plan(calc.PlanSpec("okr_breakthrough", "USD", Q4, {}), [yes, no])
        assert with_window == plain
        assert [o.employee_id for o in plain.outcomes] == [yes.person.id]
        assert "window" not in plain.outcomes[0].inputs
        assert plain.outcomes[0].inputs["criteria"] == {"ratings": ["S", "A"], "min_objective_score": "0.7"}
