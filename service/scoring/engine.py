"""The pure scoring engine: frozen inputs in, results out, Decimal throughout, no I/O.

Where each SPEC rule lives:
- section 3, numbers and rounding: `numbers.py`
- section 4, OKR scoring and pace: `okr.py`
- section 5, KPI actuals, points and veto: `kpi.py`
- section 6, the evaluation component: `evaluation.py`
- section 7, composite, calibration, rating: `composite.py`; forced distribution:
  `distribution.py`; policy parameters and defaults: `policy.py`
"""

from service.scoring.composite import (
    Adjustment,
    EmployeeInputs,
    ScoreResult,
    rating_for,
    score_employee,
)
from service.scoring.distribution import BandCount, capped_ratings, distribution_report, enforced_ratings
from service.scoring.evaluation import evaluation_points
from service.scoring.kpi import (
    AssignmentIn,
    Measurement,
    actual,
    kpi_component,
    kpi_points,
    score_assignment,
)
from service.scoring.numbers import round_fraction, round_points
from service.scoring.okr import (
    CheckIn,
    KeyResultIn,
    Milestone,
    ObjectiveIn,
    kr_score,
    objective_score,
    okr_component,
    okr_points,
    pace,
)
from service.scoring.policy import DEFAULT_BANDS, Distribution, PolicyParams

__all__ = [
    "Adjustment",
    "AssignmentIn",
    "BandCount",
    "CheckIn",
    "DEFAULT_BANDS",
    "Distribution",
    "EmployeeInputs",
    "KeyResultIn",
    "Measurement",
    "Milestone",
    "ObjectiveIn",
    "PolicyParams",
    "ScoreResult",
    "actual",
    "capped_ratings",
    "distribution_report",
    "enforced_ratings",
    "evaluation_points",
    "kpi_component",
    "kpi_points",
    "kr_score",
    "objective_score",
    "okr_component",
    "okr_points",
    "pace",
    "rating_for",
    "round_fraction",
    "round_points",
    "score_assignment",
    "score_employee",
]
