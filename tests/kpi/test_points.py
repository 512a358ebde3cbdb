"""SPEC section 5 through the API: each method in both directions with its boundaries,
each aggregation, the cycle window, missing data, veto, and Appendix A to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.kpi.conftest import make_assignment, make_definition, measure, read

BANDED = {"method": "banded"}


async def _score(team, quarter, direction, aggregation, params, values, code="K"):
    d = await make_definition(team, code, direction, aggregation)
    a = await make_assignment(team, "alice", quarter, d, **params)
    for n, v in enumerate(values):
        await measure(team, a, v, f"2026-10-{n + 1:02d}")
    return await read(team, a)


@pytest.mark.parametrize(
    "actual,points",
    [
        ("99", "0.00"),  # worse than threshold
        ("100", "60.00"),  # exactly at threshold
        ("150", "80.00"),
        ("200", "100.00"),  # exactly at target
        ("250", "110.00"),
        ("300", "120.00"),  # exactly at stretch
        ("450", "120.00"),  # beyond the cap
    ],
)
async def test_banded_higher_is_better(team, quarter, actual, points):
    a = await _score(
        team, quarter, "higher_is_better", "last", {**BANDED, "threshold": 100, "target": 200, "stretch": 300}, [actual]
    )
    assert a["points"] == points
    assert Decimal(a["actual"]) == Decimal(actual)


@pytest.mark.parametrize(
    "actual,points",
    [
        ("0.051", "0.00"),
        ("0.05", "60.00"),
        ("0.045", "80.00"),
        ("0.04", "100.00"),
        ("0.035", "110.00"),
        ("0.03", "120.00"),
        ("0.01", "120.00"),
    ],
)
async def test_banded_lower_is_better(team, quarter, actual, points):
    a = await _score(
        team,
        quarter,
        "lower_is_better",
        "last",
        {**BANDED, "threshold": "0.05", "target": "0.04", "stretch": "0.03"},
        [actual],
    )
    assert a["points"] == points


@pytest.mark.parametrize(
    "direction,threshold,target,actual", [("higher_is_better", 100, 200, "999"), ("lower_is_better", 10, 5, "1")]
)
async def test_banded_without_stretch_stops_at_target_points(team, quarter, direction, threshold, target, actual):
    a = await _score(team, quarter, direction, "last", {**BANDED, "threshold": threshold, "target": target}, [actual])
    assert a["points"] == "100.00"


@pytest.mark.parametrize(
    "actual,points",
    [("100", "50.00"), ("200", "100.00"), ("240", "120.00"), ("500", "120.00"), ("0", "0.00"), ("-50", "0.00")],
)
async def test_ratio_higher_is_better(team, quarter, actual, points):
    a = await _score(team, quarter, "higher_is_better", "last", {"method": "ratio", "target": 200}, [actual])
    assert a["points"] == points


@pytest.mark.parametrize(
    "actual,points",
    [("10", "50.00"), ("5", "100.00"), ("4.5", "111.11"), ("4", "120.00"), ("0", "120.00"), ("-1", "120.00")],
)  # actual <= 0 gives the cap
async def test_ratio_lower_is_better(team, quarter, actual, points):
    a = await _score(team, quarter, "lower_is_better", "last", {"method": "ratio", "target": 5}, [actual])
    assert a["points"] == points


@pytest.mark.parametrize(
    "actual,points",
    [
        ("4.25", "0.00"),
        ("4.45", "80.00"),
        ("4.5", "100.00"),
        ("4.65", "100.00"),
        ("4.8", "100.00"),
        ("4.9", "60.00"),
        ("5.05", "0.00"),
        ("6", "0.00"),
    ],
)
async def test_range(team, quarter, actual, points):
    a = await _score(
        team,
        quarter,
        "target_range",
        "last",
        {"method": "range", "range_low": "4.5", "range_high": "4.8", "tolerance": "0.25"},
        [actual],
    )
    assert a["points"] == points


@pytest.mark.parametrize(
    "direction,target,actual,points",
    [
        ("higher_is_better", "10", "10", "100.00"),
        ("higher_is_better", "10", "9.99", "0.00"),
        ("higher_is_better", "10", "12", "100.00"),
        ("lower_is_better", "3", "3", "100.00"),
        ("lower_is_better", "3", "3.01", "0.00"),
        ("lower_is_better", "3", "0", "100.00"),
    ],
)
async def test_binary(team, quarter, direction, target, actual, points):
    a = await _score(team, quarter, direction, "last", {"method": "binary", "target": target}, [actual])
    assert a["points"] == points


@pytest.mark.parametrize(
    "aggregation,expected", [("sum", "6"), ("avg", "2"), ("last", "2"), ("min", "1"), ("max", "3")]
)
async def test_aggregations(team, quarter, aggregation, expected):
    a = await _score(team, quarter, "higher_is_better", aggregation, {"method": "binary", "target": 0}, ["3", "1", "2"])
    assert Decimal(a["actual"]) == Decimal(expected)
    assert a["measurement_count"] == 3


async def test_last_takes_latest_date_then_latest_recorded(team, quarter):
    d = await make_definition(team, "LAST", "higher_is_better", "last")
    a = await make_assignment(team, "alice", quarter, d, method="binary", target=0)
    await measure(team, a, "9", "2026-11-30")
    await measure(team, a, "5", "2026-11-01")
    assert Decimal((await read(team, a))["actual"]) == 9
    await measure(team, a, "7", "2026-11-30")  # same day, recorded later
    assert Decimal((await read(team, a))["actual"]) == 7


async def test_measurements_outside_the_cycle_are_ignored(team, quarter):
    d = await make_definition(team, "WIN", "higher_is_better", "sum")
    a = await make_assignment(team, "alice", quarter, d, method="binary", target=0)
    for value, day in (("1000", "2026-09-30"), ("1", "2026-10-01"), ("2", "2026-12-31"), ("1000", "2027-01-01")):
        await measure(team, a, value, day)
    got = await read(team, a)
    assert Decimal(got["actual"]) == 3
    assert got["measurement_count"] == 4  # recorded, though only two count


async def test_only_outside_measurements_is_missing_data(team, quarter):
    d = await make_definition(team, "OUT", "higher_is_better", "sum")
    a = await make_assignment(team, "alice", quarter, d, method="ratio", target=10)
    await measure(team, a, "50", "2027-01-15")
    got = await read(team, a)
    assert got["actual"] is None and got["missing_data"] is True and got["points"] == "0.00"


async def test_missing_data(team, quarter):
    d = await make_definition(team, "NONE", "higher_is_better", "sum")
    a = await make_assignment(team, "alice", quarter, d, method="banded", threshold=1, target=2)
    assert a["actual"] is None
    assert a["points"] == "0.00" and a["points_exact"] == "0"
    assert a["missing_data"] is True and a["flags"] == ["missing_data"]
    assert a["measurement_count"] == 0 and a["veto_triggered"] is False


async def test_veto_flag(team, quarter):
    d = await make_definition(team, "SAFETY", "lower_is_better", "sum")
    a = await make_assignment(team, "alice", quarter, d, method="binary", target=0, veto=True)
    assert a["veto"] is True and a["veto_triggered"] is True  # no data: 0 points
    await measure(team, a, "0", "2026-10-05")
    ok = await read(team, a)
    assert ok["points"] == "100.00" and ok["veto_triggered"] is False and ok["flags"] == []
    await measure(team, a, "1", "2026-10-06")
    bad = await read(team, a)
    assert bad["points"] == "0.00" and bad["veto_triggered"] is True and bad["flags"] == ["veto_triggered"]


async def test_no_veto_flag_without_veto(team, quarter):
    a = await _score(team, quarter, "higher_is_better", "sum", {"method": "binary", "target": 10}, ["1"])
    assert a["points"] == "0.00" and a["veto_triggered"] is False and a["flags"] == []


async def test_points_exact_keeps_every_digit(team, quarter):
    a = await _score(team, quarter, "higher_is_better", "last", {"method": "ratio", "target": 3}, ["1"])
    assert a["points"] == "33.33"
    assert a["points_exact"].startswith("33.33333333333")


async def test_appendix_a_kpis_to_the_cent(team, quarter):
    gmv = await make_definition(team, "GMV", "higher_is_better", "sum", unit="USD", perspective="financial")
    ret = await make_definition(team, "RETURN_RATE", "lower_is_better", "avg", perspective="customer")
    csat = await make_definition(team, "CSAT", "target_range", "last", perspective="customer")
    conv = await make_definition(team, "CONVERSION", "higher_is_better", "last", perspective="financial")
    plans = [
        (
            gmv,
            {"method": "banded", "weight": 40, "threshold": 1000000, "target": 1200000, "stretch": 1400000},
            [410000, 380000, 395000],
        ),
        (
            ret,
            {"method": "banded", "weight": 20, "threshold": "0.05", "target": "0.04", "stretch": "0.03"},
            ["0.041", "0.038", "0.036"],
        ),
        (
            csat,
            {"method": "range", "weight": 20, "range_low": "4.5", "range_high": "4.8", "tolerance": "0.25"},
            ["4.45"],
        ),
        (conv, {"method": "ratio", "weight": 20, "target": "0.03"}, ["0.031"]),
    ]
    got = []
    for definition, params, values in plans:
        a = await make_assignment(team, "alice", quarter, definition, **params)
        for month, value in zip((10, 11, 12), values, strict=False):
            await measure(team, a, value, f"2026-{month}-15")
        got.append(await read(team, a))
    assert [g["points"] for g in got] == ["97.00", "103.33", "80.00", "103.33"]
    assert Decimal(got[0]["actual"]) == 1185000
    assert Decimal(got[1]["actual"]).quantize(Decimal("0.000001")) == Decimal("0.038333")
    assert Decimal(got[2]["actual"]) == Decimal("4.45") and Decimal(got[3]["actual"]) == Decimal("0.031")
    # The component (computed here from the exact points the API shows) is 96.13.
    weights = [Decimal(g["weight"]) for g in got]
    component = sum(w * Decimal(g["points_exact"]) for w, g in zip(weights, got, strict=True)) / sum(weights)
    assert component.quantize(Decimal("0.01")) == Decimal("96.13")


async def test_decimals_accepted_as_numbers_or_strings_and_answered_as_strings(team, quarter):
    d = await make_definition(team, "DEC", "higher_is_better", "sum")
    a = await make_assignment(
        team, "alice", quarter, d, method="banded", threshold=0.1, target="0.20", stretch=1, weight="2.5"
    )
    assert (a["threshold"], a["target"], a["stretch"], a["weight"]) == ("0.1", "0.20", "1", "2.5")
    m = await measure(team, a, 0.15, "2026-10-02")
    assert m["value"] == "0.15"
    assert (await read(team, a))["points"] == "80.00"
