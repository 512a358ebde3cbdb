"""The scoring parameters of a policy (SPEC sections 4 to 7), with the SPEC defaults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

DEFAULT_BANDS: tuple[tuple[str, Decimal], ...] = (
    ("S", Decimal(110)),
    ("A", Decimal(95)),
    ("B", Decimal(80)),
    ("C", Decimal(60)),
    ("D", Decimal(0)),
)


@dataclass(frozen=True)
class Distribution:
    mode: str  # "advisory" or "enforced"
    bands: tuple[tuple[str, Decimal], ...]  # (rating, pct as a fraction 0..1), best first


@dataclass(frozen=True)
class PolicyParams:
    w_kpi: Decimal = Decimal("0.5")
    w_okr: Decimal = Decimal("0.3")
    w_eval: Decimal = Decimal("0.2")
    okr_par_committed: Decimal = Decimal("1.0")
    okr_par_aspirational: Decimal = Decimal("0.7")
    okr_cap: Decimal = Decimal("1.2")
    kpi_threshold_points: Decimal = Decimal(60)
    kpi_target_points: Decimal = Decimal(100)
    kpi_cap: Decimal = Decimal(120)
    rating_scale: int = 5
    peer_weight: Decimal = Decimal(0)
    bands: tuple[tuple[str, Decimal], ...] = DEFAULT_BANDS
    distribution: Distribution | None = None
    # SPEC is silent: how KPI targets treat a person present for part of the period
    # ("none", "prorate_target" or "exclude"; service/scoring/proration.py).
    kpi_proration: str = "none"
    id: uuid.UUID | None = field(default=None, compare=False)
    version: int = 1
