"""The OKR loader hands the engine one deciding check-in per key result (picked by the
database); the engine must answer exactly as with the whole history: the latest check-in
with a value for a metric, with a done flag for a boolean, ties on both times going to
the newest id, check-ins without the field that matters passed over."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from service.auth.context import Ctx
from service.db import database
from service.okr import compute
from service.okr.models import CheckIn, KeyResult
from service.okr.scoring_inputs import objective_inputs
from service.principal import Principal
from service.scoring.okr import kr_score
from tests.conftest import Tenant
from tests.okr.conftest import make_cycle, make_kr, make_objective, publish

T = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)


def _ctx(session: Any, org_id: uuid.UUID) -> Ctx:
    return Ctx(session=session, principal=Principal(sub="t", org_id=org_id, kind="person", roles=frozenset({"hr"})))


async def test_the_deciding_check_in_scores_as_the_whole_history(team: Tenant):
    cycle = await make_cycle(team, name="Q1", start="2026-01-01", end="2026-03-31")
    obj = await make_objective(team, cycle, "alice")
    metric = await make_kr(team, obj, start="10", target="30")
    untouched = await make_kr(team, obj, title="No check-in yet", start="5", target="15")
    flag = await make_kr(team, obj, title="Launched", kind="boolean", start=None, target=None)
    await publish(team, obj)
    low, high = uuid.UUID(int=1 << 120), uuid.UUID(int=3 << 120)
    rows = [  # key result, value, done, checked_in_at, created_at, id
        (metric, "12", None, T - dt.timedelta(days=3), T, uuid.uuid4()),
        (metric, "25", None, T, T, low),
        (metric, "20", None, T, T, high),  # same times as the one above: the newest id decides
        (metric, "29", None, T, T - dt.timedelta(seconds=1), uuid.uuid4()),  # created earlier: loses
        (metric, None, None, T + dt.timedelta(days=1), T, uuid.uuid4()),  # a comment only
        (flag, None, True, T - dt.timedelta(days=2), T, uuid.uuid4()),
        (flag, "3", None, T + dt.timedelta(days=2), T, uuid.uuid4()),  # a value on a boolean: not its done
        (flag, None, False, T - dt.timedelta(days=1), T, uuid.uuid4()),
    ]
    async with database.sessions() as session:
        await session.execute(
            insert(CheckIn),
            [
                {
                    "org_id": team.org_id,
                    "id": cid,
                    "key_result_id": uuid.UUID(kr["id"]),
                    "value": Decimal(v) if v is not None else None,
                    "done": done,
                    "author": "test",
                    "checked_in_at": at,
                    "created_at": created,
                }
                for kr, v, done, at, created, cid in rows
            ],
        )
        await session.commit()
    alice = uuid.UUID(team.employees["alice"]["id"])
    async with database.sessions() as session:
        loaded = await objective_inputs(_ctx(session, team.org_id), [uuid.UUID(cycle["id"])], {alice})
        krs = (
            (
                await session.execute(
                    select(KeyResult).where(
                        KeyResult.org_id == team.org_id, KeyResult.objective_id == uuid.UUID(obj["id"])
                    )
                )
            )
            .scalars()
            .all()
        )
        history = (await session.execute(select(CheckIn).where(CheckIn.org_id == team.org_id))).scalars().all()
    (objective,) = loaded[alice]["objectives"]
    assert [kr.id for kr in objective.key_results] == sorted(kr.id for kr in krs)
    whole = {kr.id: kr_score(compute.key_result_in(kr, [c for c in history if c.key_result_id == kr.id])) for kr in krs}
    for kr in objective.key_results:
        assert len(kr.check_ins) <= 1
        assert kr_score(kr) == whole[kr.id], kr.title
    by_id = {kr.id: kr_score(kr) for kr in objective.key_results}
    assert by_id[uuid.UUID(metric["id"])].current == Decimal("20")
    assert by_id[uuid.UUID(untouched["id"])].current == Decimal("5")
    assert by_id[uuid.UUID(flag["id"])].progress == Decimal(0)  # the latest done flag said False
