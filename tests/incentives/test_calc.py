"""The pure incentive rules (service/incentives/calc.py), SPEC section 8, without a
database: Appendix A's figures, pools with remainders and ties, currencies with 0 and 3
decimals, proration, eligibility, multipliers, nominations, and the conformance vectors
in tests/incentives/vectors/. Expected values are checked against exact rational
arithmetic (fractions.Fraction) computed here, independently of the module."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.incentives import calc
from service.kit.money import format_minor

Q4 = calc.Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31))
VECTORS = json.loads((Path(__file__).parent / "vectors" / "incentives.json").read_text(encoding="utf-8"))


def ids(n: int) -> list[uuid.UUID]:
    """n employee ids in increasing order."""
    return [uuid.UUID(int=i + 1) for i in range(n)]


def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def person(**kw: Any) -> calc.Person:
    kw.setdefault("id", uuid.uuid4())
    kw.setdefault("comp_currency", "USD")
    return calc.Person(**kw)


def candidate(rating: str | None = "A", final: str | None = None, **kw: Any) -> calc.Candidate:
    return calc.Candidate(
        person=person(**kw),
        score=calc.ScoreFacts(rating=rating, final=Decimal(final) if final is not None else None, policy_version=3),
    )


def stb(params: dict[str, Any] | None = None, currency: str = "USD", period: calc.Period = Q4) -> calc.PlanSpec:
    return calc.PlanSpec(kind="short_term_bonus", currency=currency, period=period, params=params or {})


def only(run: calc.PlanRun) -> calc.Outcome:
    assert len(run.outcomes) == 1, run
    return run.outcomes[0]


# --- Appendix A -------------------------------------------------------------------------------


def test_appendix_a_short_term_bonus_190957():
    c = candidate("A", target_bonus_minor=240000, hire_date=dt.date(2026, 11, 1))
    out = only(calc.compute_plan(stb(), [c]))
    assert out.amount_minor == 190957 == half_up(Fraction(240000) * Fraction(12, 10) * Fraction(61, 92))
    inputs = out.inputs
    assert inputs["proration"]["days_employed"] == 61 and inputs["proration"]["period_days"] == 92
    assert inputs["multiplier"] == {
        "basis": "rating",
        "rating": "A",
        "value": "1.2",
        "table": {"S": "1.5", "A": "1.2", "B": "1.0", "C": "0.6", "D": "0"},
    }
    assert inputs["money"]["target_bonus"]["value"] == "240000"
    assert inputs["money"]["raw_exact"].startswith("190956.5217391304")
    assert inputs["policy"]["version"] == 3 and inputs["score"]["rating"] == "A"
    # The snapshot alone recomputes the amount.
    again = (
        Decimal(inputs["money"]["target_bonus"]["value"])
        * Decimal(inputs["multiplier"]["value"])
        * inputs["proration"]["days_employed"]
        / inputs["proration"]["period_days"]
    )
    assert calc.half_up(again) == out.amount_minor


def test_appendix_a_pool_140624_93750_65626():
    e1, e2, e3 = ids(3)
    shares, scaled = calc.split_pool([(e1, 150000), (e2, 100000), (e3, 70001)], 300000)
    assert scaled
    assert [shares[e].amount_minor for e in (e1, e2, e3)] == [140624, 93750, 65626]
    assert sum(s.amount_minor for s in shares.values()) == 300000
    assert [shares[e].floor_minor for e in (e1, e2, e3)] == [140624, 93749, 65625]
    assert [shares[e].extra_unit for e in (e1, e2, e3)] == [False, True, True]
    assert str(shares[e1].share_exact).startswith("140624.56")
    assert str(shares[e2].share_exact).startswith("93749.70")
    assert str(shares[e3].share_exact).startswith("65625.73")


def test_appendix_a_pool_through_the_plan():
    e1, e2, e3 = ids(3)
    cands = [candidate("B", id=e, target_bonus_minor=t) for e, t in ((e1, 150000), (e2, 100000), (e3, 70001))]
    run = calc.compute_plan(stb({"pool_minor": 300000}), cands)
    assert {o.employee_id: o.amount_minor for o in run.outcomes} == {e1: 140624, e2: 93750, e3: 65626}
    assert run.pool == {
        "pool_minor": 300000,
        "kept_minor": 0,
        "available_minor": 300000,
        "total_raw_minor": 320001,
        "scaled": True,
    }
    pool = {o.employee_id: o.inputs["money"]["pool"] for o in run.outcomes}
    assert pool[e3]["extra_unit"] and pool[e2]["extra_unit"] and not pool[e1]["extra_unit"]
    assert {o.employee_id: o.inputs["money"]["raw_minor"] for o in run.outcomes} == {e1: 150000, e2: 100000, e3: 70001}


def test_appendix_a_kpi_excess_reward_23750():
    third = Decimal(310) / Decimal(3)  # 103.33…, as the return-rate KPI scores
    kpis = [
        calc.KpiPoints("k1", "RETURN_RATE", third, True),
        calc.KpiPoints("k2", "GMV", Decimal(97), True),
        calc.KpiPoints("k3", "NEW", Decimal("112.5"), True),
    ]
    amount, uncapped, capped, lines = calc.kpi_excess(kpis, Decimal(1500), None)
    assert amount == 23750 == half_up((Fraction(310, 3) - 100 + Fraction(25, 2)) * 1500)
    assert uncapped == capped and [line["id"] for line in lines] == ["k1", "k3"]
    spec = calc.PlanSpec("kpi_excess_reward", "USD", Q4, {"amount_per_point_minor": 1500})
    c = calc.Candidate(person(), calc.ScoreFacts(kpis=tuple(kpis)))
    out = only(calc.compute_plan(spec, [c]))
    assert out.amount_minor == 23750
    assert out.inputs["money"]["lines"][1] == {
        "id": "k3",
        "code": "NEW",
        "points": "112.5",
        "excess_points": "12.5",
        "amount_exact": "18750.0",
    }


# --- pools --------------------------------------------------------------------------------------


def test_pool_ties_go_to_the_smaller_employee_id_whatever_the_order():
    a, b, c = ids(3)
    for order in ([a, b, c], [c, b, a], [b, c, a]):
        shares, _ = calc.split_pool([(e, 100) for e in order], 200)
        assert {e: s.amount_minor for e, s in shares.items()} == {a: 67, b: 67, c: 66}


def test_pool_not_reached_pays_raw_and_zero_pool_pays_nothing():
    a, b = ids(2)
    shares, scaled = calc.split_pool([(a, 150000), (b, 100000)], 250000)
    assert not scaled and {e: s.amount_minor for e, s in shares.items()} == {a: 150000, b: 100000}
    shares, scaled = calc.split_pool([(a, 5), (b, 7)], 0)
    assert scaled and {e: s.amount_minor for e, s in shares.items()} == {a: 0, b: 0}
    run = calc.compute_plan(stb({"pool_minor": 0}), [candidate(id=a, target_bonus_minor=100)])
    assert run.outcomes == () and run.skipped == ((a, calc.ZERO_AMOUNT),)


def test_pool_shares_what_kept_results_leave():
    a, b = ids(2)
    cands = [candidate("B", id=a, target_bonus_minor=600), candidate("B", id=b, target_bonus_minor=400)]
    run = calc.compute_plan(stb({"pool_minor": 1000}), cands, kept_total_minor=500)
    assert {o.employee_id: o.amount_minor for o in run.outcomes} == {a: 300, b: 200}
    assert run.pool is not None and run.pool["available_minor"] == 500


@settings(max_examples=200, deadline=None)
@given(
    raws=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40),
    pool=st.integers(min_value=0, max_value=10**9),
)
def test_pool_always_sums_exactly_and_stays_within_a_unit_of_the_proportional_share(raws, pool):
    people = ids(len(raws))
    shares, scaled = calc.split_pool(list(zip(people, raws, strict=True)), pool)
    total = sum(raws)
    if total > pool:
        assert scaled and sum(s.amount_minor for s in shares.values()) == pool
        for e, raw in zip(people, raws, strict=True):
            exact = Fraction(raw * pool, total)
            assert math.floor(exact) <= shares[e].amount_minor <= math.floor(exact) + 1
            assert shares[e].amount_minor <= raw
    else:
        assert [shares[e].amount_minor for e in people] == raws


# --- currencies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (190957, "USD", "1909.57"),
        (190957, "JPY", "190957"),
        (190957, "KWD", "190.957"),
        (190957, "BHD", "190.957"),
        (5, "KWD", "0.005"),
        (-1250, "EUR", "-12.50"),
        (0, "JPY", "0"),
        (7, "CLF", "0.0007"),
    ],
)
def test_minor_units_shown_with_the_currencys_decimals(amount, currency, shown):
    assert format_minor(amount, currency) == shown
    assert Decimal(shown) * 10 ** len(shown.partition(".")[2]) == amount


@pytest.mark.parametrize(
    ("currency", "base", "pct", "rating"),
    [
        ("JPY", 6000000, "15", "A"),
        ("KWD", 24000000, "10", "S"),
        ("BHD", 18000000, "12.5", "C"),
        ("USD", 9000000, "7.25", "B"),
    ],
)
def test_percent_of_base_salary_for_the_period_in_any_currency(currency, base, pct, rating):
    c = candidate(rating, comp_currency=currency, base_salary_minor=base, target_bonus_pct=Decimal(pct))
    out = only(calc.compute_plan(stb(currency=currency), [c]))
    mult = {"S": Fraction(15, 10), "A": Fraction(12, 10), "B": Fraction(1), "C": Fraction(6, 10)}[rating]
    expected = half_up(Fraction(base) * Fraction(pct) / 100 * Fraction(92, 365) * mult)
    assert out.amount_minor == expected
    target = out.inputs["money"]["target_bonus"]
    assert (target["source"], target["period_days"], target["year_days"]) == ("percent", 92, 365)


def test_a_calendar_year_gets_exactly_one_years_salary_also_in_a_leap_year():
    for year in (2026, 2028):
        period = calc.Period(dt.date(year, 1, 1), dt.date(year, 12, 31))
        assert period.days == period.year_days
        c = candidate("B", base_salary_minor=1000001, target_bonus_pct=Decimal(10))
        assert only(calc.compute_plan(stb(period=period), [c])).amount_minor == 100000  # 100000.1 → 100000
    assert calc.Period(dt.date(2028, 2, 29), dt.date(2028, 3, 31)).year_days == 366


def test_an_amount_wins_over_a_percent_and_other_currencies_are_reported():
    c = candidate("B", target_bonus_minor=5000, base_salary_minor=10**8, target_bonus_pct=Decimal(50))
    assert only(calc.compute_plan(stb(), [c])).amount_minor == 5000
    eur = candidate("B", target_bonus_minor=5000, comp_currency="EUR")
    run = calc.compute_plan(stb(), [eur])
    assert run.outcomes == () and run.skipped == ((eur.person.id, calc.CURRENCY_MISMATCH),)
    unknown = candidate("B", target_bonus_minor=5000, comp_currency=None)
    assert only(calc.compute_plan(stb(), [unknown])).amount_minor == 5000


def test_zero_and_missing_compensation():
    zero = candidate("S", target_bonus_minor=0)
    zero_pct = candidate("S", base_salary_minor=9000000, target_bonus_pct=Decimal(0))
    salary_only = candidate("S", base_salary_minor=9000000)
    nothing = candidate("S")
    run = calc.compute_plan(stb(), [zero, zero_pct, salary_only, nothing])
    assert run.outcomes == ()
    assert dict(run.skipped) == {
        zero.person.id: calc.ZERO_AMOUNT,
        zero_pct.person.id: calc.ZERO_AMOUNT,
        salary_only.person.id: calc.MISSING_COMPENSATION,
        nothing.person.id: calc.MISSING_COMPENSATION,
    }


# --- proration and eligibility ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hire", "term", "days"),
    [
        (None, None, 92),
        ("2026-11-01", None, 61),
        (None, "2026-10-31", 31),
        ("2026-10-10", "2026-10-20", 11),
        ("2025-01-01", "2027-01-01", 92),
        ("2026-12-31", None, 1),
        ("2027-01-01", None, 0),
        (None, "2026-09-30", 0),
    ],
)
def test_days_employed_count_both_ends(hire, term, days):
    p = person(
        hire_date=dt.date.fromisoformat(hire) if hire else None,
        termination_date=dt.date.fromisoformat(term) if term else None,
    )
    assert calc.days_employed(p, Q4) == days


def test_proration_and_not_employed():
    c = candidate("B", target_bonus_minor=92000, hire_date=dt.date(2026, 12, 1))
    out = only(calc.compute_plan(stb(), [c]))
    assert out.amount_minor == 31000 and out.inputs["proration"]["days_employed"] == 31
    gone = candidate("B", target_bonus_minor=92000, termination_date=dt.date(2026, 9, 1), status="terminated")
    run = calc.compute_plan(stb({"eligibility": {"statuses": ["terminated"]}}), [gone])
    assert run.skipped == ((gone.person.id, calc.NOT_EMPLOYED),)


def test_eligibility_rules():
    sales, emea, ops = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pos, other_pos = uuid.uuid4(), uuid.uuid4()
    people = {
        "active": person(status="active", departments=(emea, sales), position_id=pos),
        "on_leave": person(status="on_leave", departments=(sales,), position_id=pos),
        "terminated": person(status="terminated", departments=(sales,), position_id=pos),
        "new": person(hire_date=dt.date(2026, 12, 20), departments=(sales,), position_id=pos),
        "ops": person(departments=(ops,), position_id=pos),
        "nodep": person(position_id=pos),
        "other_pos": person(departments=(sales,), position_id=other_pos),
    }
    rules = calc.Eligibility.of(
        {"min_tenure_days": 30, "include_departments": [str(sales)], "exclude_positions": [str(other_pos)]}
    )
    got = {k: calc.ineligibility(p, rules, Q4) for k, p in people.items()}
    assert got == {
        "active": None,
        "on_leave": None,
        "terminated": calc.INELIGIBLE_STATUS,
        "new": calc.INELIGIBLE_TENURE,
        "ops": calc.INELIGIBLE_DEPARTMENT,
        "nodep": calc.INELIGIBLE_DEPARTMENT,
        "other_pos": calc.INELIGIBLE_POSITION,
    }
    assert calc.tenure_days(people["new"], Q4) == 12
    exclude_emea = calc.Eligibility.of({"exclude_departments": [str(emea)], "include_positions": [str(pos)]})
    assert calc.ineligibility(people["active"], exclude_emea, Q4) == calc.INELIGIBLE_DEPARTMENT
    assert calc.ineligibility(people["on_leave"], exclude_emea, Q4) is None
    assert calc.ineligibility(people["other_pos"], exclude_emea, Q4) == calc.INELIGIBLE_POSITION
    # min tenure exactly met: hired Dec 2 → 30 days to Dec 31, both included
    assert calc.ineligibility(person(hire_date=dt.date(2026, 12, 2)), rules, Q4) == calc.INELIGIBLE_DEPARTMENT
    assert (
        calc.ineligibility(person(hire_date=dt.date(2026, 12, 2)), calc.Eligibility.of({"min_tenure_days": 30}), Q4)
        is None
    )
    assert (
        calc.ineligibility(person(hire_date=dt.date(2026, 12, 3)), calc.Eligibility.of({"min_tenure_days": 30}), Q4)
        == calc.INELIGIBLE_TENURE
    )


# --- multipliers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "params", "expected"),
    [
        ("90", {}, "0.9"),
        ("180", {}, "1.5"),
        ("180", {"multiplier_cap": "2"}, "1.8"),
        ("59.994", {"min_score": "60"}, "0"),
        ("59.995", {"min_score": "60"}, "0.59995"),
        (None, {}, None),
    ],
)
def test_score_basis(final, params, expected):
    c = candidate(None if final is None else "B", final=final)
    got = calc.multiplier({"basis": "score", **params}, c.score)
    if expected is None:
        assert got == calc.NO_SCORE
    else:
        assert not isinstance(got, str) and got[0] == Decimal(expected)


def test_rating_basis_custom_table_and_missing_rating():
    table = {"basis": "rating", "multipliers": {"A": "2", "B": "1"}}
    assert calc.multiplier(table, candidate("A").score)[0] == 2  # type: ignore[index]
    assert calc.multiplier(table, candidate("C").score) == calc.NO_MULTIPLIER
    assert calc.multiplier(table, candidate(None).score) == calc.NO_SCORE
    d = candidate("D", target_bonus_minor=1000)
    assert calc.compute_plan(stb(), [d]).skipped == ((d.person.id, calc.ZERO_AMOUNT),)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        calc.D(1.2)


# --- nominations ---------------------------------------------------------------------------------------


def nominee(rating: str | None, *objectives: tuple[str, str | None]) -> calc.Candidate:
    objs = tuple(
        calc.ObjectiveScore(id=f"o{i}", title=f"O{i}", type=t, score=Decimal(s) if s else None)
        for i, (t, s) in enumerate(objectives)
    )
    return calc.Candidate(person(), calc.ScoreFacts(rating=rating, objectives=objs))


def test_okr_breakthrough_nominations():
    spec = calc.PlanSpec("okr_breakthrough", "USD", Q4, {"nomination_kind": "training"})
    yes = nominee("A", ("aspirational", "0.7"), ("committed", "0.2"))
    rounds_up = nominee("S", ("aspirational", "0.69995"))
    just_below = nominee("S", ("aspirational", "0.69994"))
    committed_only = nominee("S", ("committed", "1.0"))
    wrong_rating = nominee("B", ("aspirational", "0.9"))
    unscored = nominee("A", ("aspirational", None))
    no_rating = nominee(None, ("aspirational", "0.9"))
    run = calc.compute_plan(spec, [yes, rounds_up, just_below, committed_only, wrong_rating, unscored, no_rating])
    assert {o.employee_id for o in run.outcomes} == {yes.person.id, rounds_up.person.id}
    assert all(o.nomination == "training" and o.amount_minor is None for o in run.outcomes)
    assert dict(run.skipped) == {
        just_below.person.id: calc.NOT_NOMINATED,
        committed_only.person.id: calc.NOT_NOMINATED,
        wrong_rating.person.id: calc.NOT_NOMINATED,
        unscored.person.id: calc.NOT_NOMINATED,
        no_rating.person.id: calc.NO_SCORE,
    }
    got = {o.employee_id: o.inputs for o in run.outcomes}[yes.person.id]
    assert [o["qualifies"] for o in got["objectives"]] == [True, False]
    assert got["criteria"] == {"ratings": ["S", "A"], "min_objective_score": "0.7"}
    custom = calc.PlanSpec("okr_breakthrough", "USD", Q4, {"ratings": ["B"], "min_objective_score": "0.9"})
    assert [o.employee_id for o in calc.compute_plan(custom, [yes, wrong_rating]).outcomes] == [wrong_rating.person.id]


# --- conformance vectors ---------------------------------------------------------------------------------


def _number(text: str) -> Decimal:
    if "/" in text:
        num, den = text.split("/")
        return calc.div(Decimal(num), Decimal(den))
    return Decimal(text)


def _vector(v: dict[str, Any]) -> None:
    inp, exp = v["input"], v["expected"]
    if v["kind"] == "pool":
        names = sorted(inp["raw_minor"])
        people = dict(zip(names, ids(len(names)), strict=True))
        shares, _ = calc.split_pool(
            [(people[n], int(inp["raw_minor"][n])) for n in inp["raw_minor"]], int(inp["pool_minor"])
        )
        assert {n: str(shares[people[n]].amount_minor) for n in names} == exp["amounts_minor"]
        extra = sorted(
            (n for n in names if shares[people[n]].extra_unit), key=lambda n: -(shares[people[n]].share_exact % 1)
        )
        assert extra == exp["extra_units"]
    elif v["kind"] == "kpi_excess_reward":
        kpis = [calc.KpiPoints(None, "", _number(k["points"]), k["rewardable"]) for k in inp["kpis"]]
        cap = inp.get("cap_per_employee_minor")
        amount, *_ = calc.kpi_excess(kpis, Decimal(inp["amount_per_point_minor"]), int(cap) if cap else None)
        assert str(amount) == exp["amount_minor"]
    else:
        start, end = (dt.date.fromisoformat(d) for d in inp["period"])
        c = calc.Candidate(
            calc.Person(
                id=uuid.uuid4(),
                status=inp.get("status", "active"),
                hire_date=dt.date.fromisoformat(inp["hire_date"]) if "hire_date" in inp else None,
                termination_date=dt.date.fromisoformat(inp["termination_date"]) if "termination_date" in inp else None,
                base_salary_minor=int(inp["base_salary_minor"]) if "base_salary_minor" in inp else None,
                comp_currency=inp["currency"],
                target_bonus_pct=Decimal(inp["target_bonus_pct"]) if "target_bonus_pct" in inp else None,
                target_bonus_minor=int(inp["target_bonus_minor"]) if "target_bonus_minor" in inp else None,
            ),
            calc.ScoreFacts(rating=inp["rating"]),
        )
        params = {"eligibility": {"statuses": inp["eligible_statuses"]}} if "eligible_statuses" in inp else {}
        out = only(calc.compute_plan(stb(params, inp["currency"], calc.Period(start, end)), [c]))
        assert str(out.amount_minor) == exp["amount_minor"]
        assert out.inputs["multiplier"]["value"] == exp["multiplier"]
        assert str(out.inputs["proration"]["days_employed"]) == exp["days_employed"]
        assert str(out.inputs["proration"]["period_days"]) == exp["period_days"]
        if "year_days" in exp:
            assert str(out.inputs["money"]["target_bonus"]["year_days"]) == exp["year_days"]
        if "amount" in exp:
            assert format_minor(out.amount_minor, inp["currency"]) == exp["amount"]


def test_vectors_file_holds_appendix_a_and_only_strings():
    assert VECTORS["format"] == "perf-incentive-vectors/1"
    names = {v["name"] for v in VECTORS["vectors"]}
    assert {"appendix_a_short_term_bonus", "appendix_a_pool", "appendix_a_kpi_excess_reward"} <= names

    def numbers(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [x for v in node.values() for x in numbers(v)]
        if isinstance(node, list):
            return [x for v in node for x in numbers(v)]
        return [node] if isinstance(node, (int, float)) and not isinstance(node, bool) else []

    assert numbers(VECTORS) == []


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vector(vector):
    _vector(vector)
