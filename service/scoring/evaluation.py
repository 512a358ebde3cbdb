"""The evaluation component, SPEC section 6."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from service.scoring.numbers import HUNDRED, ONE, ZERO, div
from service.scoring.policy import PolicyParams


def evaluation_points(
    manager_rating: Decimal | None, peer_ratings: Sequence[Decimal], policy: PolicyParams
) -> Decimal | None:
    """100 × r / N; with peer_weight p > 0 and at least one peer rating,
    (1 - p) × manager points + p × 100 × mean(peers) / N. Absent without a submitted
    manager rating."""
    if manager_rating is None:
        return None
    scale = Decimal(policy.rating_scale)
    manager_points = div(HUNDRED * manager_rating, scale)
    p = policy.peer_weight
    if p > 0 and peer_ratings:
        peer_mean = div(sum(peer_ratings, ZERO), Decimal(len(peer_ratings)))
        return (ONE - p) * manager_points + p * div(HUNDRED * peer_mean, scale)
    return manager_points
