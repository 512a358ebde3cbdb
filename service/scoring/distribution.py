"""Forced distribution, SPEC section 7: the advisory report and the enforced assignment,
in two modes chosen per calibration session: `enforce` re-rates everyone by rank (which
can raise a rating), `cap` only lowers (each band's cumulative share is a ceiling on
"this band or better")."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from service.scoring.numbers import ZERO, round_half_up_int, round_points

K = TypeVar("K", bound=Hashable)  # whatever identifies an employee


def cumulative_counts(bands: Sequence[tuple[str, Decimal]], n: int) -> list[int]:
    """round_half_up(cumulative_pct × n) per band, best band first."""
    counts, cumulative = [], ZERO
    for _, pct in bands:
        cumulative += pct
        counts.append(round_half_up_int(cumulative * n))
    return counts


def enforced_ratings(finals: Sequence[tuple[K, Decimal]], bands: Sequence[tuple[str, Decimal]]) -> dict[K, str]:
    """Rank by final, descending; rank r (1-based) gets the first band whose cumulative
    count ≥ r; employees with equal finals (as shown, to 2 places) all get the best band
    any of them got."""
    n = len(finals)
    if n == 0:
        return {}
    counts = cumulative_counts(bands, n)
    ranked = sorted(finals, key=lambda f: f[1], reverse=True)
    by_rank: list[str] = []
    for r in range(1, n + 1):
        band = next((bands[i][0] for i, c in enumerate(counts) if c >= r), bands[-1][0])
        by_rank.append(band)
    order = {b[0]: i for i, b in enumerate(bands)}
    best_for_final: dict[Decimal, str] = {}
    for (_, final), band in zip(ranked, by_rank, strict=True):
        key = round_points(final)
        if key not in best_for_final or order[band] < order[best_for_final[key]]:
            best_for_final[key] = band
    return {emp: best_for_final[round_points(final)] for emp, final in ranked}


def capped_ratings(
    finals: Sequence[tuple[K, Decimal, str | None]], bands: Sequence[tuple[str, Decimal]]
) -> dict[K, str]:
    """The `cap` mode: each employee keeps the worse of their computed rating and the
    rating the enforced assignment gives their rank (ties as there), so nobody is raised
    and a band is only over its share when ties put it there. `finals` are (employee,
    final, computed rating); a computed rating the guideline does not name is kept."""
    enforced = enforced_ratings([(k, final) for k, final, _ in finals], bands)
    order = {b[0]: i for i, b in enumerate(bands)}
    out: dict[K, str] = {}
    for k, _, computed in finals:
        rank = enforced[k]
        if computed is None or computed not in order:
            out[k] = computed if computed is not None else rank
        else:
            out[k] = computed if order[computed] >= order[rank] else rank
    return out


@dataclass(frozen=True)
class BandCount:
    rating: str
    pct: Decimal
    allowed: int
    actual: int


def distribution_report(ratings: Sequence[str | None], bands: Sequence[tuple[str, Decimal]]) -> list[BandCount]:
    """Each band's allowed count (from the cumulative rule) against the actual count."""
    n = len([r for r in ratings if r is not None])
    counts = cumulative_counts(bands, n)
    report, previous = [], 0
    for (rating, pct), cumulative in zip(bands, counts, strict=True):
        report.append(
            BandCount(
                rating=rating, pct=pct, allowed=cumulative - previous, actual=sum(1 for r in ratings if r == rating)
            )
        )
        previous = cumulative
    return report
