"""KPI demo data for the demo organization of service/demo.py: a KPI library, templates
for the e-commerce operations specialist and the store manager, applied to those
employees for FY2026 Q4, and a quarter of monthly and weekly measurements; and a
template for the `lead` position level (not applied: `POST /api/v1/kpi-templates/apply`
for a team lead shows the level's template standing in for a position that has none).

Mei Chen (E008) carries exactly the KPIs of SPEC Appendix A (points 97.00, 103.33,
80.00, 103.33); her colleagues spread from a veto-triggered store manager to a
specialist at the cap. Every id is fixed (`make_id("kpi:...")`), and loading twice adds
nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.cycles.models import Cycle
from service.kpi.models import (
    KpiAssignment,
    KpiDefinition,
    KpiMeasurement,
    KpiTemplate,
    KpiTemplateItem,
)
from service.kpi.validation import check_parameters

D = Decimal
Q4_START, Q4_END = dt.date(2026, 10, 1), dt.date(2026, 12, 31)
MONTH_ENDS = (dt.date(2026, 10, 31), dt.date(2026, 11, 30), dt.date(2026, 12, 31))
WEEKS = tuple(dt.date(2026, 10, 5) + dt.timedelta(weeks=n) for n in range(13))
# Week-to-week noise that sums to zero, so a weekly average equals the intended mean.
WIGGLE = (2, -1, 1, -2, 0, 1, -1, 2, -2, 0, 1, -1, 0)

# code, name, unit, direction, aggregation, perspective
DEFINITIONS = [
    ("GMV", "Gross merchandise value", "USD", "higher_is_better", "sum", "financial"),
    ("RETURN_RATE", "Return rate", "ratio", "lower_is_better", "avg", "customer"),
    ("CSAT", "Customer satisfaction", "score 1-5", "target_range", "last", "customer"),
    ("CONVERSION", "Conversion rate", "ratio", "higher_is_better", "last", "customer"),
    ("FULFIL_TIME", "Order fulfilment time", "hours", "lower_is_better", "avg", "internal_process"),
    ("STORE_SALES", "Store sales", "USD", "higher_is_better", "sum", "financial"),
    ("SHRINKAGE", "Inventory shrinkage", "ratio", "lower_is_better", "avg", "internal_process"),
    ("SAFETY_INCIDENTS", "Safety incidents", "count", "lower_is_better", "sum", "internal_process"),
    ("TRAINING_HOURS", "Team training hours", "hours", "higher_is_better", "sum", "learning_growth"),
]

# position key → [(code, parameters)]
TEMPLATES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "ecom-spec": [
        (
            "GMV",
            {
                "method": "banded",
                "weight": D(40),
                "threshold": D(1000000),
                "target": D(1200000),
                "stretch": D(1400000),
                "rewardable": True,
            },
        ),
        (
            "RETURN_RATE",
            {"method": "banded", "weight": D(20), "threshold": D("0.05"), "target": D("0.04"), "stretch": D("0.03")},
        ),
        (
            "CSAT",
            {"method": "range", "weight": D(20), "range_low": D("4.5"), "range_high": D("4.8"), "tolerance": D("0.25")},
        ),
        ("CONVERSION", {"method": "ratio", "weight": D(20), "target": D("0.03"), "rewardable": True}),
    ],
    "store-mgr": [
        (
            "STORE_SALES",
            {
                "method": "banded",
                "weight": D(40),
                "threshold": D(2400000),
                "target": D(3000000),
                "stretch": D(3600000),
                "rewardable": True,
            },
        ),
        (
            "SHRINKAGE",
            {"method": "banded", "weight": D(20), "threshold": D("0.02"), "target": D("0.015"), "stretch": D("0.01")},
        ),
        (
            "CSAT",
            {"method": "range", "weight": D(20), "range_low": D("4.3"), "range_high": D("4.7"), "tolerance": D("0.3")},
        ),
        ("TRAINING_HOURS", {"method": "ratio", "weight": D(10), "target": D(24)}),
        ("SAFETY_INCIDENTS", {"method": "binary", "weight": D(10), "target": D(0), "veto": True}),
    ],
}
# The fulfilment specialists also own the fulfilment time, outside the template.
EXTRA = {"FULFIL_TIME": {"method": "banded", "weight": D(10), "threshold": D(48), "target": D(36), "stretch": D(24)}}

# employee → {code: monthly values | ("weekly", mean, step) | ("last", value)}
ACTUALS: dict[str, dict[str, Any]] = {
    "E008": {
        "GMV": (410000, 380000, 395000),
        "RETURN_RATE": ("0.041", "0.038", "0.036"),
        "CSAT": ("last", "4.45"),
        "CONVERSION": ("last", "0.031"),
    },
    "E009": {
        "GMV": (450000, 470000, 490000),
        "RETURN_RATE": ("weekly", "0.032", "0.001"),
        "CSAT": ("last", "4.6"),
        "CONVERSION": ("last", "0.036"),
    },
    "E010": {
        "GMV": (330000, 340000, 350000),
        "RETURN_RATE": ("weekly", "0.047", "0.002"),
        "CSAT": ("last", "4.7"),
        "CONVERSION": ("last", "0.027"),
        "FULFIL_TIME": ("weekly", "30", "1.5"),
    },
    "E011": {
        "GMV": (320000, 335000, 355000),
        "RETURN_RATE": ("weekly", "0.049", "0.002"),
        "CSAT": ("last", "4.35"),
        "CONVERSION": ("last", "0.022"),
        "FULFIL_TIME": ("weekly", "40", "2"),
    },
    "E012": {
        "STORE_SALES": (1050000, 1000000, 1100000),
        "SHRINKAGE": ("weekly", "0.013", "0.001"),
        "CSAT": ("last", "4.5"),
        "TRAINING_HOURS": (10, 8, 12),
        "SAFETY_INCIDENTS": (0, 0, 0),
    },
    "E013": {
        "STORE_SALES": (850000, 900000, 880000),
        "SHRINKAGE": ("weekly", "0.018", "0.001"),
        "CSAT": ("last", "4.2"),
        "TRAINING_HOURS": (4, 4, 4),
        "SAFETY_INCIDENTS": (0, 1, 0),
    },
}
ASSIGNEES = {"ecom-spec": ("E008", "E009", "E010", "E011"), "store-mgr": ("E012", "E013")}
FULFILMENT = ("E010", "E011")


def _series(spec: Any) -> list[tuple[dt.date, Decimal]]:
    if spec[0] == "last":  # a survey result, reported monthly; the quarter's last one counts
        final = D(spec[1])
        return [(MONTH_ENDS[0], final + D("0.1")), (MONTH_ENDS[1], final - D("0.05")), (MONTH_ENDS[2], final)]
    if spec[0] == "weekly":
        mean, step = D(spec[1]), D(spec[2])
        return [(day, mean + step * w) for day, w in zip(WEEKS, WIGGLE, strict=True)]
    return [(day, D(v)) for day, v in zip(MONTH_ENDS, spec, strict=True)]


async def _ensure_cycles(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> uuid.UUID:
    """FY2026 and its Q4 belong to the OKR demo; made here only when it has not run."""
    year_id, q4_id = make_id("cycle:FY2026"), make_id("cycle:FY2026-Q4")
    if await session.get(Cycle, (org_id, year_id)) is None:
        session.add(
            Cycle(
                org_id=org_id,
                id=year_id,
                name="FY2026",
                cadence="annual",
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2026, 12, 31),
                status="active",
            )
        )
        await session.flush()
    if await session.get(Cycle, (org_id, q4_id)) is None:
        session.add(
            Cycle(
                org_id=org_id,
                id=q4_id,
                name="FY2026 Q4",
                cadence="quarterly",
                start_date=Q4_START,
                end_date=Q4_END,
                parent_id=year_id,
                status="active",
            )
        )
        await session.flush()
    return q4_id


def _checked(code: str, direction: str, params: dict[str, Any]) -> dict[str, Any]:
    problems = check_parameters(direction, params)
    if problems:  # the demo must satisfy the same rules as the API
        raise ValueError(f"demo KPI {code}: {problems}")
    return params


# level → [(code, parameters)]: templates that target a position level
LEVEL_TEMPLATES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "lead": [
        ("TRAINING_HOURS", {"method": "ratio", "weight": D(50), "target": D(40)}),
        (
            "CSAT",
            {"method": "range", "weight": D(50), "range_low": D("4.5"), "range_high": D("4.8"), "tolerance": D("0.25")},
        ),
    ],
}


async def _add_template(
    session: AsyncSession,
    org_id: uuid.UUID,
    make_id: Callable[[str], uuid.UUID],
    key: str,
    items: list[tuple[str, dict[str, Any]]],
    **target: Any,
) -> uuid.UUID:
    """A template (`target`: its name and position or level) with its items, checked by the API's rules."""
    tpl_id = make_id(f"kpi:tpl:{key}")
    session.add(KpiTemplate(org_id=org_id, id=tpl_id, **target))
    await session.flush()
    directions = {code: direction for code, _, _, direction, _, _ in DEFINITIONS}
    for n, (code, params) in enumerate(items):
        session.add(
            KpiTemplateItem(
                org_id=org_id,
                id=make_id(f"kpi:tpl:{key}:{code}"),
                template_id=tpl_id,
                ordinal=n,
                definition_id=make_id(f"kpi:def:{code}"),
                **_checked(code, directions[code], params),
            )
        )
    return tpl_id


async def _level_templates(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    """The level templates, each added once (also to a demo loaded before they existed)."""
    for level, items in LEVEL_TEMPLATES.items():
        if await session.get(KpiTemplate, (org_id, make_id(f"kpi:tpl:level:{level}"))) is None:
            await _add_template(
                session, org_id, make_id, f"level:{level}", items, name=f"{level.title()} KPIs", level=level
            )
    await session.flush()


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    if await session.get(KpiDefinition, (org_id, make_id("kpi:def:GMV"))) is not None:
        await _level_templates(session, org_id, make_id)
        return
    q4_id = await _ensure_cycles(session, org_id, make_id)
    directions: dict[str, str] = {}
    for code, name, unit, direction, aggregation, perspective in DEFINITIONS:
        directions[code] = direction
        session.add(
            KpiDefinition(
                org_id=org_id,
                id=make_id(f"kpi:def:{code}"),
                code=code,
                name=name,
                unit=unit,
                direction=direction,
                aggregation=aggregation,
                perspective=perspective,
            )
        )
    await session.flush()

    plan: dict[str, list[tuple[str, dict[str, Any], uuid.UUID | None]]] = {}
    for pos_key, items in TEMPLATES.items():
        tpl_id = await _add_template(
            session, org_id, make_id, pos_key, items, name=f"{pos_key} KPIs", position_id=make_id(f"pos:{pos_key}")
        )
        for ext in ASSIGNEES[pos_key]:
            plan.setdefault(ext, []).extend((code, params, tpl_id) for code, params in items)
    for ext in FULFILMENT:
        plan[ext].extend((code, params, None) for code, params in EXTRA.items())
    await session.flush()

    for ext, assigned in plan.items():
        for code, params, template_id in assigned:
            asg_id = make_id(f"kpi:asg:{ext}:{code}")
            session.add(
                KpiAssignment(
                    org_id=org_id,
                    id=asg_id,
                    employee_id=make_id(f"emp:{ext}"),
                    cycle_id=q4_id,
                    definition_id=make_id(f"kpi:def:{code}"),
                    template_id=template_id,
                    **_checked(code, directions[code], {"veto": False, "rewardable": False, **params}),
                )
            )
    await session.flush()
    for ext, codes in ACTUALS.items():
        for code, spec in codes.items():
            asg_id = make_id(f"kpi:asg:{ext}:{code}")
            session.add_all(_measurements(org_id, make_id, ext, code, asg_id, _series(spec)))
    await session.flush()
    await _level_templates(session, org_id, make_id)


def _measurements(
    org_id: uuid.UUID,
    make_id: Callable[[str], uuid.UUID],
    ext: str,
    code: str,
    asg_id: uuid.UUID,
    series: Sequence[tuple[dt.date, Decimal]],
) -> list[KpiMeasurement]:
    source = "bi-warehouse" if code not in ("CSAT",) else "survey"
    return [
        KpiMeasurement(
            org_id=org_id,
            id=make_id(f"kpi:m:{ext}:{code}:{day.isoformat()}"),
            assignment_id=asg_id,
            value=value,
            measured_at=day,
            source=source,
            source_key=f"{ext}/{code}/{day.isoformat()}",
            recorded_by="demo",
        )
        for day, value in series
    ]
