"""GraphQL adapter of cycles."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select, select

from service.auth.context import Ctx
from service.authz import policy
from service.cycles import schemas as rest
from service.cycles import service as svc
from service.cycles.models import Cycle
from service.cycles.schemas import (
    Cadence,
    ChildCadence,
    CycleChildren,
    CycleCreate,
    CycleStatus,
    CycleTransition,
    CycleUpdate,
)
from service.graphql.common import (
    VERSION,
    Connection,
    Context,
    connection,
    described,
    enum_field,
    enum_type,
    input_dict,
    page_params,
    plain,
    validate_input,
)
from service.graphql.nodes import Entity, NodeKey, by_loader, ref, ref_field
from service.graphql.visibility import only_if, visible_rows
from service.kit.etag import IfMatch

WEEKS = {"8_weeks": "EIGHT_WEEKS", "6_weeks": "SIX_WEEKS"}  # values that are no GraphQL names
CycleCadence = enum_type("CycleCadence", Cadence, "How long a cycle is", WEEKS)
CycleChildCadence = enum_type(
    "CycleChildCadence", ChildCadence, "The length of the children a cycle is split into", WEEKS
)
CycleStatusEnum = enum_type("CycleStatus", CycleStatus, "Where a cycle is in its status machine")


@visible_rows(Cycle)
def visible_cycles(ctx: Ctx) -> Select[Any]:
    """Cycles, for the dataloaders: `policy.read_cycles` (every person, `kpi:write` and
    `payroll:read` clients), as `svc.list_cycles`."""
    return only_if(select(Cycle).where(Cycle.org_id == ctx.org_id), policy.read_cycles(ctx.principal))


@described(rest.CycleRead, rest.CycleCreate)
@strawberry.type(name="Cycle")
class CycleType(Entity):
    name: str
    cadence: str = enum_field(CycleCadence)
    start_date: dt.date
    end_date: dt.date
    parent_id: uuid.UUID | None
    status: str = enum_field(CycleStatusEnum)
    version: int = strawberry.field(description=VERSION)

    @strawberry.field
    async def parent(self, info: Context) -> CycleType | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.by_id(Cycle).load(self.parent_id)
        return CycleType.of(row) if row else None

    @strawberry.field(description="The cycles this one is split into")
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

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[CycleType | None]:
        return await by_loader(info.context.loaders.by_id(Cycle), keys, CycleType.of)


@described(rest.CycleCreate, rest.CycleRead)
@strawberry.input(description="The fields of a cycle to create, or to change (a field left out keeps its value)")
class CycleInput:
    name: str | None = strawberry.UNSET
    cadence: str | None = enum_field(CycleCadence | None, default=strawberry.UNSET)
    start_date: dt.date | None = strawberry.UNSET
    end_date: dt.date | None = strawberry.UNSET
    parent_id: strawberry.ID | None = ref_field(CycleType)


@described(filters=True)
@strawberry.type
class CycleQuery:
    @strawberry.field(description="The organization's cycles, a page at a time")
    async def cycles(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        parent_id: strawberry.ID | None = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=CycleStatusEnum | None)] = None,
    ) -> Connection[CycleType]:
        params = page_params(first, after, last, before)
        page = await svc.list_cycles(
            info.context.ctx, params, ref(parent_id, CycleType, loc=["parentId"]), plain(status)
        )
        return connection(page, CycleType.of, params)

    @strawberry.field
    async def cycle(self, info: Context, id: strawberry.ID) -> CycleType:
        return CycleType.of(await svc.get_cycle(info.context.ctx, ref(id, CycleType)))


@described()
@strawberry.type
class CycleMutation:
    @strawberry.mutation(description="Creates a cycle")
    async def create_cycle(self, info: Context, input: CycleInput) -> CycleType:
        return CycleType.of(await svc.create_cycle(info.context.ctx, validate_input(CycleCreate, input_dict(input))))

    @strawberry.mutation(description="Changes a cycle")
    async def update_cycle(
        self, info: Context, id: strawberry.ID, input: CycleInput, expected_version: int | None = None
    ) -> CycleType:
        data = validate_input(CycleUpdate, input_dict(input))
        return CycleType.of(
            await svc.update_cycle(info.context.ctx, ref(id, CycleType), data, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation(description="Moves a cycle to another status (planning, active, review, calibration, closed)")
    async def transition_cycle(
        self,
        info: Context,
        id: strawberry.ID,
        to: Annotated[str, strawberry.argument(graphql_type=CycleStatusEnum)],
        expected_version: int | None = None,
    ) -> CycleType:
        data = validate_input(CycleTransition, {"to": plain(to)})
        return CycleType.of(
            await svc.transition(info.context.ctx, ref(id, CycleType), data.to, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation(description="Splits a cycle into children of a cadence (a year into quarters)")
    async def create_cycle_children(
        self,
        info: Context,
        id: strawberry.ID,
        cadence: Annotated[str, strawberry.argument(graphql_type=CycleChildCadence)],
    ) -> list[CycleType]:
        data = validate_input(CycleChildren, {"cadence": plain(cadence)})
        return [CycleType.of(c) for c in await svc.create_children(info.context.ctx, ref(id, CycleType), data)]
