"""GraphQL adapter of cycles."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from sqlalchemy import Select, select

from service.auth.context import Ctx
from service.authz import policy
from service.cycles import service as svc
from service.cycles.models import Cycle
from service.cycles.schemas import CycleChildren, CycleCreate, CycleTransition, CycleUpdate
from service.graphql.common import (
    VERSION,
    Connection,
    Context,
    connection,
    input_dict,
    page_params,
    validate_input,
)
from service.graphql.visibility import only_if, visible_rows
from service.kit.etag import IfMatch


@visible_rows(Cycle)
def visible_cycles(ctx: Ctx) -> Select[Any]:
    """Cycles, for the dataloaders: `policy.read_cycles` (every person, `kpi:write` and
    `payroll:read` clients), as `svc.list_cycles`."""
    return only_if(select(Cycle).where(Cycle.org_id == ctx.org_id), policy.read_cycles(ctx.principal))


@strawberry.type(name="Cycle")
class CycleType:
    id: uuid.UUID
    name: str
    cadence: str
    start_date: dt.date
    end_date: dt.date
    parent_id: uuid.UUID | None
    status: str
    version: int = strawberry.field(description=VERSION)

    @strawberry.field
    async def parent(self, info: Context) -> CycleType | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.by_id(Cycle).load(self.parent_id)
        return CycleType.of(row) if row else None

    @strawberry.field
    async def children(self, info: Context) -> list[CycleType]:
        rows = await info.context.loaders.many_by(Cycle, "parent_id", order=lambda c: c.start_date).load(self.id)
        return [CycleType.of(r) for r in rows]

    @staticmethod
    def of(c: Cycle) -> CycleType:
        return CycleType(
            id=c.id,
            name=c.name,
            cadence=c.cadence,
            start_date=c.start_date,
            end_date=c.end_date,
            parent_id=c.parent_id,
            status=c.status,
            version=c.version,
        )


@strawberry.input
class CycleInput:
    name: str | None = strawberry.UNSET
    cadence: str | None = strawberry.UNSET
    start_date: dt.date | None = strawberry.UNSET
    end_date: dt.date | None = strawberry.UNSET
    parent_id: uuid.UUID | None = strawberry.UNSET


@strawberry.type
class CycleQuery:
    @strawberry.field
    async def cycles(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        parent_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Connection[CycleType]:
        page = await svc.list_cycles(info.context.ctx, page_params(first, after), parent_id, status)
        return connection(page, CycleType.of)

    @strawberry.field
    async def cycle(self, info: Context, id: uuid.UUID) -> CycleType:
        return CycleType.of(await svc.get_cycle(info.context.ctx, id))


@strawberry.type
class CycleMutation:
    @strawberry.mutation
    async def create_cycle(self, info: Context, input: CycleInput) -> CycleType:
        return CycleType.of(await svc.create_cycle(info.context.ctx, validate_input(CycleCreate, input_dict(input))))

    @strawberry.mutation
    async def update_cycle(
        self, info: Context, id: uuid.UUID, input: CycleInput, expected_version: int | None = None
    ) -> CycleType:
        data = validate_input(CycleUpdate, input_dict(input))
        return CycleType.of(await svc.update_cycle(info.context.ctx, id, data, expected=IfMatch.of(expected_version)))

    @strawberry.mutation
    async def transition_cycle(
        self, info: Context, id: uuid.UUID, to: str, expected_version: int | None = None
    ) -> CycleType:
        data = validate_input(CycleTransition, {"to": to})
        return CycleType.of(await svc.transition(info.context.ctx, id, data.to, expected=IfMatch.of(expected_version)))

    @strawberry.mutation
    async def create_cycle_children(self, info: Context, id: uuid.UUID, cadence: str) -> list[CycleType]:
        data = validate_input(CycleChildren, {"cadence": cadence})
        return [CycleType.of(c) for c in await svc.create_children(info.context.ctx, id, data)]
