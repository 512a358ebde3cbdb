"""Decimal helpers (SPEC section 3): all arithmetic in Decimal, rounding only for display,
ROUND_HALF_UP, fractions to 4 places and points to 2."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
_FRACTION = Decimal("0.0001")
_POINTS = Decimal("0.01")


def D(value: object) -> Decimal:
    """An exact Decimal from a str, int or Decimal (never through a binary float)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def round_fraction(value: Decimal) -> Decimal:
    return value.quantize(_FRACTION, rounding=ROUND_HALF_UP)


def round_points(value: Decimal) -> Decimal:
    return value.quantize(_POINTS, rounding=ROUND_HALF_UP)


def round_half_up_int(value: Decimal) -> int:
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def floor_int(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


# Quotients carry 40 significant digits (the default context otherwise: half-even, the
# default traps), so every later rounding to 2 or 4 places sees an exact enough value.
# One context for every call: entering a local context per division costs more than it.
_DIVISION = Context(prec=40, rounding=ROUND_HALF_EVEN)


def div(a: Decimal, b: Decimal) -> Decimal:
    return _DIVISION.divide(a, b)
