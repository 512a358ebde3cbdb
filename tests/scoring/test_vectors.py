"""The conformance vectors (tests/scoring/vectors/*.json, format in vectors/README.md)
run against the engine: every expected value, rounded as SPEC section 3 says."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from service.scoring.composite import EmployeeInputs
from service.scoring.distribution import cumulative_counts, distribution_report
from service.scoring.engine import enforced_ratings, pace, score_employee
from service.scoring.kpi import AssignmentIn, summarize
from service.scoring.okr import expected_progress
from tests.scoring import vectors as V

ALL = V.load_all()


def _of(kind: str) -> list:
    return [pytest.param(v, id=v["name"]) for v in ALL if v["kind"] == kind]


def test_vector_inventory() -> None:
    """Appendix A is there, and there are at least 40 vectors beyond it."""
    names = {v["name"] for v in ALL}
    assert {
        "appendix_a_composite",
        "appendix_a_calibrated",
        "appendix_a_reweighted",
        "appendix_a_distribution",
    } <= names
    assert len([v for v in ALL if not v["name"].startswith("appendix_a")]) >= 40


@pytest.mark.parametrize("vector", _of("employee"))
def test_employee_vector(vector: dict) -> None:
    policy = V.build_policy(vector["policy"])
    result = score_employee(V.build_inputs(vector), policy)
    V.compare_employee(vector, result).assert_none()


def summarized(inputs: EmployeeInputs) -> EmployeeInputs:
    """The inputs as a bulk loader gives them: each assignment's measurements already
    summarized within its window."""

    def one(a: AssignmentIn) -> AssignmentIn:
        summary = summarize(a.measurements, a.cycle_start or inputs.cycle_start, a.cycle_end or inputs.cycle_end)
        return dataclasses.replace(a, measurements=(), summary=summary, summarized=True)

    return dataclasses.replace(inputs, assignments=tuple(one(a) for a in inputs.assignments))


@pytest.mark.parametrize("vector", _of("employee"))
def test_bulk_scoring_gives_the_same_numbers(vector: dict) -> None:
    """The recompute's way (no explanation, measurements summarized) changes no number,
    rating or flag."""
    policy = V.build_policy(vector["policy"])
    inputs = V.build_inputs(vector)
    reference = score_employee(inputs, policy)
    bulk = score_employee(summarized(inputs), policy, explain=False)
    assert bulk.explanation == {}
    assert dataclasses.replace(bulk, explanation=reference.explanation) == reference


@pytest.mark.parametrize("vector", _of("distribution"))
def test_distribution_vector(vector: dict) -> None:
    dist = V.build_distribution(vector["distribution"])
    finals = [(emp, V.dec(final)) for emp, final in vector["finals"].items()]
    exp = vector["expected"]
    out = V.Mismatches(vector["name"])
    out.check(
        "cumulative_counts", [str(c) for c in cumulative_counts(dist.bands, len(finals))], exp["cumulative_counts"]
    )
    ratings = enforced_ratings(finals, dist.bands)
    out.check("ratings", {emp: ratings[emp] for emp, _ in finals}, exp["ratings"])
    # The advisory report, fed the enforced ratings: each band's allowed count, and the
    # actual counts equal to the ratings handed out.
    report = distribution_report(list(ratings.values()), dist.bands)
    out.check("allowed", {b.rating: str(b.allowed) for b in report}, exp["allowed"])
    want_actual = {r: str(list(exp["ratings"].values()).count(r)) for r, _ in dist.bands}
    out.check("actual", {b.rating: str(b.actual) for b in report}, want_actual)
    out.assert_none()


@pytest.mark.parametrize("vector", _of("pace"))
def test_pace_vector(vector: dict) -> None:
    start, end = V.date(vector["cycle"]["start"]), V.date(vector["cycle"]["end"])
    day = V.date(vector["date"])
    exp = vector["expected"]
    out = V.Mismatches(vector["name"])
    out.fraction("expected_progress", expected_progress(day, start, end), exp["expected_progress"])
    out.check("pace", pace(V.dec(vector["progress"]), day, start, end), exp["pace"])
    out.assert_none()


def test_loader_rejects_json_numbers(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "perf-scoring-vectors/1", "vectors": [{"kind": "pace", "progress": 0.5}]}')
    with pytest.raises(V.VectorFormatError):
        V.load_file(bad)


def test_rounding_helpers_half_up() -> None:
    assert V.points(Decimal("94.995")) == Decimal("95.00")
    assert V.points(Decimal("94.994999")) == Decimal("94.99")
    assert V.fraction(Decimal("0.66665")) == Decimal("0.6667")
    assert V.as_places_of(Decimal("0.0383333"), "0.038333") == Decimal("0.038333")
