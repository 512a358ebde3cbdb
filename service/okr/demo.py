"""Demo OKRs of the demo organization (service/demo.py): a fiscal year with quarters,
a company objective, department objectives aligned to it, and team and individual
objectives aligned through parents and bottom-up supports, all published, with weekly
check-ins through Q4, and every key result due by a date in its cycle. Besides them, a
draft in Chinese the quality lint flags (docs/okr-quality.md): a key result worded as an
activity ("协助市场部推进品牌活动", assist marketing in pushing brand events) with no due
date. The company and department objectives carry balanced-scorecard perspectives and
roll progress up from their children (`progress_source`), and one company key result is
measured by a department objective, so the year's strategy map shows rolled-up progress.
Fixed ids, so loading twice changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cycles.models import Cycle
from service.okr.models import CheckIn, KeyResult, Objective, ObjectiveRevision, ObjectiveSupport

WEEKS = [dt.date(2026, 10, 5) + dt.timedelta(weeks=i) for i in range(7)]  # Mondays, Oct 5 to Nov 16
# When the key results are due, by their objective's cycle: the year's by its end, Q4's
# the Friday before the holidays.
DUE = {"year": dt.date(2026, 12, 31), "q4": dt.date(2026, 12, 18)}

# key, owner, department, level, cycle, type, parent, supports, title
OBJECTIVES: list[tuple[str, str, str | None, str, str, str, str | None, list[str], str]] = [
    (
        "company",
        "E001",
        "exec",
        "company",
        "year",
        "committed",
        None,
        [],
        "Become the region's favourite online retailer",
    ),
    ("ecom", "E002", "ecom", "department", "q4", "committed", "company", [], "Make online shopping effortless"),
    ("ops", "E003", "ops", "department", "q4", "committed", "company", [], "Deliver every order fast and right"),
    ("live", "E006", "ecom-growth", "team", "q4", "aspirational", "ecom", [], "Turn live streams into a sales channel"),
    (
        "show",
        "E008",
        "ecom-growth",
        "individual",
        "q4",
        "committed",
        "live",
        [],
        "Run a weekly live-stream show people come back to",
    ),
    ("cart", "E009", "ecom-growth", "individual", "q4", "committed", "ecom", ["live"], "Fewer abandoned carts"),
    (
        "pick",
        "E010",
        "ecom-fulfil",
        "individual",
        "q4",
        "committed",
        None,
        ["ops", "ecom"],
        "Ship online orders the same day",
    ),
]

# objective key, kr key, kind, title, start, target, unit, weight, progress per week (metric)
# or week index when done (boolean), or milestones [(title, weight, week done or None)]
KEY_RESULTS: list[tuple[str, str, str, str, Any, Any, str | None, int, Any]] = [
    (
        "company",
        "revenue",
        "metric",
        "Online revenue reaches $12M",
        4_000_000,
        12_000_000,
        "USD",
        2,
        [0.55, 0.57, 0.6, 0.62, 0.64, 0.67, 0.7],
    ),
    (
        "company",
        "repeat",
        "metric",
        "Repeat-purchase rate from 18% to 30%",
        "0.18",
        "0.30",
        "ratio",
        1,
        [0.3, 0.35, 0.35, 0.4, 0.45, 0.5, 0.55],
    ),
    (
        "company",
        "nps",
        "metric",
        "Net promoter score from 32 to 50",
        32,
        50,
        "points",
        1,
        [0.4, 0.4, 0.45, 0.5, 0.5, 0.55, 0.6],
    ),
    (
        "ecom",
        "conversion",
        "metric",
        "Checkout conversion from 2.1% to 3.0%",
        "0.021",
        "0.030",
        "ratio",
        1,
        [0.1, 0.2, 0.25, 0.35, 0.4, 0.5, 0.55],
    ),
    (
        "ecom",
        "gmv",
        "metric",
        "Q4 online GMV of $3.5M",
        0,
        3_500_000,
        "USD",
        2,
        [0.07, 0.15, 0.22, 0.3, 0.38, 0.47, 0.56],
    ),
    (
        "ecom",
        "app",
        "milestone",
        "Launch the mobile app",
        None,
        None,
        None,
        1,
        [("Beta with 500 customers", 1, 1), ("App store approval", 1, 4), ("Public launch", 2, None)],
    ),
    (
        "ops",
        "complaints",
        "metric",
        "Delivery complaints per 1,000 orders from 8 to 5",
        8,
        5,
        "per 1000",
        1,
        [0.05, 0.1, 0.2, 0.3, 0.3, 0.4, 0.5],
    ),
    (
        "ops",
        "sameday",
        "metric",
        "Orders shipped same day from 60% to 85%",
        "0.60",
        "0.85",
        "ratio",
        1,
        [0.1, 0.2, 0.2, 0.3, 0.45, 0.5, 0.6],
    ),
    ("ops", "collect", "boolean", "Click-and-collect live in all stores", None, None, None, 1, 5),
    (
        "live",
        "sales",
        "metric",
        "Live-stream sales reach $50,000",
        0,
        50_000,
        "USD",
        2,
        [0.05, 0.12, 0.2, 0.3, 0.4, 0.52, 0.62],
    ),
    (
        "live",
        "viewers",
        "metric",
        "Average live viewers from 200 to 1,000",
        200,
        1000,
        "viewers",
        1,
        [0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.45],
    ),
    (
        "show",
        "conv",
        "metric",
        "Live-stream conversion from 1% to 4%",
        "0.01",
        "0.04",
        "ratio",
        1,
        [0.1, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6],
    ),
    (
        "show",
        "studio",
        "milestone",
        "A studio that runs a show every week",
        None,
        None,
        None,
        1,
        [("Studio kit bought", 1, 0), ("Two hosts trained", 1, 2), ("Eight shows aired", 2, None)],
    ),
    ("show", "replays", "boolean", "Replays shoppable on the product pages", None, None, None, 1, None),
    (
        "cart",
        "abandon",
        "metric",
        "Cart abandonment from 72% to 60%",
        "0.72",
        "0.60",
        "ratio",
        2,
        [0.05, 0.1, 0.15, 0.25, 0.3, 0.35, 0.45],
    ),
    ("cart", "oneclick", "boolean", "One-click payment for returning customers", None, None, None, 1, 3),
    (
        "pick",
        "pickpack",
        "metric",
        "Average pick-pack time from 40 to 25 minutes",
        40,
        25,
        "minutes",
        1,
        [0.1, 0.15, 0.3, 0.4, 0.5, 0.55, 0.65],
    ),
    (
        "pick",
        "shipped",
        "metric",
        "Online orders shipped same day from 55% to 80%",
        "0.55",
        "0.80",
        "ratio",
        1,
        [0.1, 0.2, 0.3, 0.35, 0.45, 0.55, 0.6],
    ),
]


def _status(progress: float, week: int) -> tuple[str, int]:
    expected = (week + 1) / 13
    if progress >= 0.7 * expected:
        return "on_track", 8
    if progress >= 0.5 * expected:
        return "at_risk", 6
    return "off_track", 4


async def _cycles(
    session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]
) -> tuple[uuid.UUID, uuid.UUID]:
    """The FY2026 year and its Q4; an existing FY2026 (another module's demo) is reused."""
    year = (
        (
            await session.execute(
                select(Cycle).where(Cycle.org_id == org_id, Cycle.name == "FY2026", Cycle.cadence == "annual")
            )
        )
        .scalars()
        .first()
    )
    if year is None:
        year = Cycle(
            org_id=org_id,
            id=make_id("cycle:FY2026"),
            name="FY2026",
            cadence="annual",
            start_date=dt.date(2026, 1, 1),
            end_date=dt.date(2026, 12, 31),
            status="active",
        )
        session.add(year)
        await session.flush()
    quarters = {
        c.start_date: c
        for c in (
            await session.execute(
                select(Cycle).where(Cycle.org_id == org_id, Cycle.parent_id == year.id, Cycle.cadence == "quarterly")
            )
        ).scalars()
    }
    for n, (start, end) in enumerate(
        [
            (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
            (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
            (dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
            (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ],
        1,
    ):
        if start not in quarters:
            quarters[start] = Cycle(
                org_id=org_id,
                id=make_id(f"cycle:FY2026-Q{n}"),
                name=f"FY2026 Q{n}",
                cadence="quarterly",
                start_date=start,
                end_date=end,
                parent_id=year.id,
                status="active" if n == 4 else "closed",
            )
            session.add(quarters[start])
    await session.flush()
    return year.id, quarters[dt.date(2026, 10, 1)].id


# The strategy map (docs/cycles-and-okrs.md "Progress rollup"): balanced-scorecard
# perspectives, where each objective's rolled-up progress comes from, and the company key
# result that the operations objective measures.
ROLLUP: dict[str, tuple[str | None, str]] = {
    "company": ("customer", "both"),
    "ecom": ("customer", "both"),
    "ops": ("internal_process", "key_results"),
}
MEASURED_BY = {("company", "repeat"): "ecom"}


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    if await session.get(Objective, (org_id, make_id("okr:obj:company"))) is None:
        await _aligned_set(session, org_id, make_id)
    await _rollup_settings(session, org_id, make_id)
    await _chinese_draft(session, org_id, make_id)


async def _rollup_settings(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    """Sets the same values on every load (an unchanged attribute writes nothing), so a
    demo loaded before these settings existed gains them too."""
    for key, (perspective, source) in ROLLUP.items():
        obj = await session.get(Objective, (org_id, make_id("okr:obj:" + key)))
        if obj is not None:
            obj.perspective, obj.progress_source = perspective, source
    for (obj_key, kr_key), child in MEASURED_BY.items():
        kr = await session.get(KeyResult, (org_id, make_id(f"okr:kr:{obj_key}:{kr_key}")))
        if kr is not None:
            kr.measured_by_objective_id = make_id("okr:obj:" + child)
    await session.flush()


async def _chinese_draft(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    """Mei Chen's Q4 draft, written in Chinese, aligned under her team's live-stream
    objective: one measurable key result with a due date, and one the lint warns about
    twice (`activity_not_outcome`, `due_date_missing`). A draft: it counts in no score."""
    obj_id = make_id("okr:obj:brand-zh")
    if await session.get(Objective, (org_id, obj_id)) is not None:
        return
    _year_id, q4_id = await _cycles(session, org_id, make_id)
    owner = make_id("emp:E008")
    session.add(
        Objective(
            org_id=org_id,
            id=obj_id,
            title="让直播成为品牌增长的引擎",  # make live streams the engine of brand growth
            level="individual",
            owner_id=owner,
            department_id=make_id("dep:ecom-growth"),
            cycle_id=q4_id,
            type="committed",
            parent_id=make_id("okr:obj:live"),
            weight=Decimal(1),
            visibility="public",
            status="draft",
        )
    )
    await session.flush()
    session.add_all(
        [
            KeyResult(
                org_id=org_id,
                id=make_id("okr:kr:brand-zh:search"),
                objective_id=obj_id,
                title="直播间品牌搜索量从 2 万提升到 5 万",  # brand searches from 20,000 to 50,000
                kind="metric",
                start=Decimal(20000),
                target=Decimal(50000),
                unit="次",
                weight=Decimal(2),
                owner_id=owner,
                due_date=DUE["q4"],
            ),
            KeyResult(
                org_id=org_id,
                id=make_id("okr:kr:brand-zh:assist"),
                objective_id=obj_id,
                title="协助市场部推进品牌活动",  # assist marketing in pushing brand events
                kind="boolean",
                weight=Decimal(1),
                owner_id=owner,
            ),
        ]
    )
    await session.flush()


async def _aligned_set(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    year_id, q4_id = await _cycles(session, org_id, make_id)
    cycles = {"year": year_id, "q4": q4_id}
    owners: dict[str, uuid.UUID] = {}
    for key, owner, dep, level, cyc, typ, parent, _supports, title in OBJECTIVES:
        owners[key] = make_id("emp:" + owner)
        session.add(
            Objective(
                org_id=org_id,
                id=make_id("okr:obj:" + key),
                title=title,
                level=level,
                owner_id=owners[key],
                department_id=make_id("dep:" + dep) if dep else None,
                cycle_id=cycles[cyc],
                type=typ,
                parent_id=make_id("okr:obj:" + parent) if parent else None,
                weight=Decimal(1),
                perspective=ROLLUP.get(key, (None, ""))[0],
                progress_source=ROLLUP.get(key, (None, "key_results"))[1],
                visibility="public",
                status="published",
            )
        )
        await session.flush()  # parents first: the composite foreign key checks each row
    for key, *_rest, supports, _title in OBJECTIVES:
        for target in supports:
            session.add(
                ObjectiveSupport(
                    org_id=org_id, objective_id=make_id("okr:obj:" + key), supported_id=make_id("okr:obj:" + target)
                )
            )
        session.add(
            ObjectiveRevision(
                org_id=org_id,
                id=make_id(f"okr:rev:{key}:published"),
                objective_id=make_id("okr:obj:" + key),
                action="published",
                changes={"status": {"before": "approved", "after": "published"}},
                reason="Q4 planning",
                actor="demo",
                at=dt.datetime(2026, 10, 2, 9, tzinfo=dt.UTC),
            )
        )
    await session.flush()

    for obj_key, kr_key, kind, title, start, target, unit, weight, plan in KEY_RESULTS:
        kr_id = make_id(f"okr:kr:{obj_key}:{kr_key}")
        milestones = None
        if kind == "milestone":
            milestones = [{"title": t, "weight": str(w), "done": done is not None} for t, w, done in plan]
        session.add(
            KeyResult(
                org_id=org_id,
                id=kr_id,
                objective_id=make_id("okr:obj:" + obj_key),
                title=title,
                kind=kind,
                start=Decimal(str(start)) if start is not None else None,
                target=Decimal(str(target)) if target is not None else None,
                unit=unit,
                weight=Decimal(weight),
                milestones=milestones,
                owner_id=owners[obj_key],
                due_date=DUE[next(o[4] for o in OBJECTIVES if o[0] == obj_key)],
                measured_by_objective_id=(
                    make_id("okr:obj:" + MEASURED_BY[(obj_key, kr_key)]) if (obj_key, kr_key) in MEASURED_BY else None
                ),
            )
        )
        await session.flush()
        for week, day in enumerate(WEEKS):
            at = dt.datetime.combine(day, dt.time(16, 0), tzinfo=dt.UTC)
            fields: dict[str, Any] = {}
            if kind == "metric":
                s, t = Decimal(str(start)), Decimal(str(target))
                step = Decimal("0.0001") if abs(t - s) < 1 else Decimal("0.1") if abs(t - s) < 100 else Decimal(1)
                fields["value"] = (s + (t - s) * Decimal(str(plan[week]))).quantize(step)
                status, confidence = _status(plan[week], week)
            elif kind == "boolean":
                fields["done"] = plan is not None and week >= plan
                status, confidence = ("on_track", 9) if fields["done"] else ("at_risk", 6)
            else:
                done_now = [i for i, (_t, _w, w) in enumerate(plan) if w == week]
                if not done_now:
                    continue
                fields.update(milestone=done_now[0], done=True)
                status, confidence = "on_track", 8
            session.add(
                CheckIn(
                    org_id=org_id,
                    id=make_id(f"okr:ci:{obj_key}:{kr_key}:{week}"),
                    key_result_id=kr_id,
                    status=status,
                    confidence=confidence,
                    note=f"Week {week + 1}",
                    author=f"demo:{obj_key}",
                    author_employee_id=owners[obj_key],
                    checked_in_at=at,
                    created_at=at,
                    **fields,
                )
            )
    await session.flush()
