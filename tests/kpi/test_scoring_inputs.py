"""The KPI loader's measurement summaries (computed by PostgreSQL, by the engine's
`summarize` on SQLite) equal the engine's rule over the same measurements: the window
of the assignment's own cycle, exact sums of many-digit decimals (within the 28 digits of Python's
default context, which the engine's additions use), and the tie rule of
`last` (latest measured_at, then latest created, then the first id)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import insert, select

from service.auth.context import Ctx
from service.db import database
from service.kpi.models import KpiMeasurement
from service.kpi.scoring_inputs import assignment_inputs
from service.principal import Principal
from service.scoring.kpi import Measurement, actual_of, summarize
from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition

AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def _ctx(session, org_id) -> Ctx:
    return Ctx(session=session, principal=Principal(sub="t", org_id=org_id, kind="person", roles=frozenset({"hr"})))


async def _insert(t: Tenant, assignment_id: str, rows: list[tuple[str, dt.date, dt.datetime, uuid.UUID]]) -> None:
    async with database.sessions() as session:
        await session.execute(
            insert(KpiMeasurement),
            [
                {
                    "org_id": t.org_id,
                    "id": mid,
                    "assignment_id": uuid.UUID(assignment_id),
                    "value": Decimal(v),
                    "measured_at": day,
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                }
                for v, day, created, mid in rows
            ],
        )
        await session.commit()


async def test_summaries_follow_the_engine_rule(team: Tenant):
    cycle = await make_cycle(team)  # Q4 2026
    definitions = {
        agg: await make_definition(team, f"k_{agg}", aggregation=agg) for agg in ("sum", "avg", "min", "max", "last")
    }
    assignments = {
        agg: await make_assignment(team, "alice", cycle, d, method="ratio", target=10) for agg, d in definitions.items()
    }
    empty = await make_assignment(team, "bob", cycle, definitions["sum"], method="ratio", target=10)
    last_day = dt.date(2026, 12, 31)
    rows = [  # value, measured_at, created_at, tie rank (the id's order among equals)
        ("0.000001", dt.date(2026, 10, 1), AT, None),
        ("123456789012.123456789", dt.date(2026, 11, 15), AT, None),
        ("-3.5", dt.date(2026, 12, 1), AT, None),
        # the latest day twice, created at the same instant: the first id is the last
        ("7.25", last_day, AT, 2),
        ("8.75", last_day, AT, 1),
        # an earlier creation on the same day does not win
        ("99", last_day, AT - dt.timedelta(hours=1), None),
        # outside the cycle: never counted
        ("1000000", dt.date(2026, 9, 30), AT, None),
        ("1000000", dt.date(2027, 1, 1), AT + dt.timedelta(days=1), None),
    ]
    for n, a in enumerate(assignments.values()):
        await _insert(
            team,
            a["id"],
            [(v, d, c, uuid.uuid4() if rank is None else uuid.UUID(int=(rank << 120) + n)) for v, d, c, rank in rows],
        )
    async with database.sessions() as session:
        loaded = await assignment_inputs(
            _ctx(session, team.org_id),
            [uuid.UUID(cycle["id"])],
            {uuid.UUID(team.employees["alice"]["id"]), uuid.UUID(team.employees["bob"]["id"])},
        )
        stored = (
            (
                await session.execute(
                    select(KpiMeasurement)
                    .where(KpiMeasurement.org_id == team.org_id)
                    .order_by(KpiMeasurement.measured_at, KpiMeasurement.created_at, KpiMeasurement.id)
                )
            )
            .scalars()
            .all()
        )
    start, end = dt.date(2026, 10, 1), dt.date(2026, 12, 31)
    by_id = {a.id: a for part in loaded.values() for a in part["assignments"]}
    for agg, a in assignments.items():
        own = [
            Measurement(value=m.value, measured_at=m.measured_at, created_at=m.created_at)
            for m in stored
            if str(m.assignment_id) == a["id"]
        ]
        got = by_id[uuid.UUID(a["id"])]
        assert got.summarized and got.summary == summarize(own, start, end), agg
        assert got.summary.count == 6
    last = by_id[uuid.UUID(assignments["last"]["id"])]
    assert actual_of(last.summary, "last") == Decimal("8.75")
    assert actual_of(last.summary, "sum") == Decimal("123456789123.623457789")
    bob = by_id[uuid.UUID(empty["id"])]
    assert bob.summarized and bob.summary is None  # no measurement: missing data, not zero
