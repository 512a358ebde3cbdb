"""GraphQL adapter of development plans: thin queries and mutations over the same
services as REST, and the nomination's `developmentPlan` (loaded for a whole page at
once by a request dataloader over the plans the caller may read)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader

from service.development import schemas as rest
from service.development import service
from service.development.models import DevelopmentPlan
from service.development.schemas import ItemKind, ItemStatus, PlanStatus
from service.graphql.common import (
    VERSION,
    Connection,
    Context,
    described,
    enum_field,
    enum_type,
    fill,
    input_dict,
    nodes_connection,
    page_params,
    plain,
    validate_input,
)
from service.graphql.nodes import Entity, NodeKey, by_service, ref, ref_field
from service.kit.etag import IfMatch

DevelopmentPlanStatus = enum_type("DevelopmentPlanStatus", PlanStatus, "Where a development plan is")
DevelopmentItemKind = enum_type("DevelopmentItemKind", ItemKind, "What a development plan item is")
DevelopmentItemStatus = enum_type("DevelopmentItemStatus", ItemStatus, "Where a development plan item is")


@described(rest.ItemSourceRead)
@strawberry.type(name="DevelopmentItemSource")
class ItemSourceType:
    review_meeting_id: uuid.UUID
    action_index: int


@described(rest.DevelopmentItemRead)
@strawberry.type(name="DevelopmentPlanItem")
class DevelopmentPlanItemType(Entity):
    plan_id: uuid.UUID
    kind: str = enum_field(DevelopmentItemKind)
    title: str
    details: str | None
    due_date: dt.date | None
    status: str = enum_field(DevelopmentItemStatus)
    completed_at: dt.datetime | None
    source: ItemSourceType | None
    version: int = strawberry.field(description=VERSION)
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def of(read: rest.DevelopmentItemRead) -> DevelopmentPlanItemType:
        source = None if read.source is None else fill(ItemSourceType, read.source)
        return fill(DevelopmentPlanItemType, read, source=source)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[DevelopmentPlanItemType | None]:
        async def fetch(key: NodeKey) -> DevelopmentPlanItemType:
            return DevelopmentPlanItemType.of(service.item_read(await service.find_item(info.context.ctx, key.id)))

        return await by_service(keys, fetch)


@described(rest.DevelopmentPlanRead)
@strawberry.type(name="DevelopmentPlan")
class DevelopmentPlanType(Entity):
    employee_id: uuid.UUID
    owner_id: uuid.UUID
    cycle_id: uuid.UUID | None
    nomination_id: uuid.UUID | None
    review_meeting_id: uuid.UUID | None
    title: str
    goals: list[str]
    status: str = enum_field(DevelopmentPlanStatus)
    due_date: dt.date | None
    items: list[DevelopmentPlanItemType]
    created_by: str
    version: int = strawberry.field(description=VERSION)
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def of(read: rest.DevelopmentPlanRead) -> DevelopmentPlanType:
        return fill(DevelopmentPlanType, read, items=[DevelopmentPlanItemType.of(i) for i in read.items])

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[DevelopmentPlanType | None]:
        async def fetch(key: NodeKey) -> DevelopmentPlanType:
            plan, _, _ = await service.get_plan(info.context.ctx, key.id)
            return (await _types(info, [plan]))[0]

        return await by_service(keys, fetch)


async def _types(info: Context, plans: Sequence[DevelopmentPlan]) -> list[DevelopmentPlanType]:
    return [DevelopmentPlanType.of(r) for r in await service.reads(info.context.ctx, plans)]


async def plan_of(info: Context, plan_id: uuid.UUID | None) -> DevelopmentPlanType | None:
    """A plan by id through the request's loader (null when none or not visible): a page
    of nominations loads their plans, and the plans' items, in one query each."""
    if plan_id is None:
        return None

    def make(ctx: Any) -> DataLoader[uuid.UUID, DevelopmentPlanType | None]:
        async def load(ids: list[uuid.UUID]) -> list[DevelopmentPlanType | None]:
            found = await service.visible_by_id(ctx, ids)
            reads = {r.id: DevelopmentPlanType.of(r) for r in await service.reads(ctx, list(found.values()))}
            return [reads.get(i) for i in ids]

        return DataLoader(load_fn=load)

    loader: DataLoader[uuid.UUID, DevelopmentPlanType | None] = info.context.loaders.custom("development:plans", make)
    return await loader.load(plan_id)


# --- inputs ----------------------------------------------------------------------------------------


@described(rest.DevelopmentItemCreate, rest.DevelopmentItemRead)
@strawberry.input(
    description="The fields of a development plan item to add, or to change (a field left out keeps its value)"
)
class DevelopmentItemInput:
    kind: str | None = enum_field(DevelopmentItemKind | None, default=strawberry.UNSET)
    title: str | None = strawberry.UNSET
    details: str | None = strawberry.UNSET
    due_date: dt.date | None = strawberry.UNSET
    status: str | None = enum_field(DevelopmentItemStatus | None, default=strawberry.UNSET)


@described(rest.DevelopmentPlanCreate, rest.DevelopmentPlanRead)
@strawberry.input(
    description="The fields of a development plan to create, or to change (a field left out keeps its value)"
)
class DevelopmentPlanInput:
    employee_id: strawberry.ID | None = ref_field("Employee")
    owner_id: strawberry.ID | None = ref_field("Employee")
    cycle_id: strawberry.ID | None = ref_field("Cycle")
    review_meeting_id: strawberry.ID | None = ref_field("ReviewMeeting")
    copy_improvement_actions: bool | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    goals: list[str] | None = strawberry.UNSET
    status: str | None = enum_field(DevelopmentPlanStatus | None, default=strawberry.UNSET)
    due_date: dt.date | None = strawberry.UNSET
    items: list[DevelopmentItemInput] | None = strawberry.UNSET


@described(rest.NominationPlanCreate)
@strawberry.input(description="Optional choices when making a nomination's development plan")
class NominationDevelopmentPlanInput:
    review_meeting_id: strawberry.ID | None = ref_field("ReviewMeeting")
    owner_id: strawberry.ID | None = ref_field("Employee")
    due_date: dt.date | None = strawberry.UNSET
    goals: list[str] | None = strawberry.UNSET


# --- queries and mutations ---------------------------------------------------------------------------


@described(filters=True)
@strawberry.type
class DevelopmentQuery:
    @strawberry.field(description="The development plans the caller may read, a page at a time")
    async def development_plans(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        employee_id: strawberry.ID | None = None,
        owner_id: strawberry.ID | None = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=DevelopmentPlanStatus | None)] = None,
        cycle_id: strawberry.ID | None = None,
        nomination_id: strawberry.ID | None = None,
    ) -> Connection[DevelopmentPlanType]:
        params = page_params(first, after, last, before)
        page = await service.list_plans(
            info.context.ctx,
            params,
            employee_id=ref(employee_id, "Employee", loc=["employeeId"]),
            owner_id=ref(owner_id, "Employee", loc=["ownerId"]),
            status=plain(status),
            cycle_id=ref(cycle_id, "Cycle", loc=["cycleId"]),
            nomination_id=ref(nomination_id, "Nomination", loc=["nominationId"]),
        )
        return nodes_connection(page, await _types(info, page.items), params)


@described()
@strawberry.type
class DevelopmentMutation:
    @strawberry.mutation(description="Makes a development plan for an employee")
    async def create_development_plan(self, info: Context, input: DevelopmentPlanInput) -> DevelopmentPlanType:
        data = validate_input(rest.DevelopmentPlanCreate, input_dict(input))
        return (await _types(info, [await service.create_plan(info.context.ctx, data)]))[0]

    @strawberry.mutation(description="Changes a development plan")
    async def update_development_plan(
        self, info: Context, id: strawberry.ID, input: DevelopmentPlanInput, expected_version: int | None = None
    ) -> DevelopmentPlanType:
        data = validate_input(rest.DevelopmentPlanUpdate, input_dict(input))
        plan = await service.update_plan(
            info.context.ctx, ref(id, DevelopmentPlanType), data, expected=IfMatch.of(expected_version)
        )
        return (await _types(info, [plan]))[0]

    @strawberry.mutation(description="Adds an item to a development plan")
    async def add_development_plan_item(
        self,
        info: Context,
        plan_id: Annotated[strawberry.ID, strawberry.argument(description="The development plan's id")],
        input: DevelopmentItemInput,
    ) -> DevelopmentPlanItemType:
        data = validate_input(rest.DevelopmentItemCreate, input_dict(input))
        item = await service.add_item(info.context.ctx, ref(plan_id, DevelopmentPlanType, loc=["planId"]), data)
        return DevelopmentPlanItemType.of(service.item_read(item))

    @strawberry.mutation(description="Changes a development plan item; the employee may change its status alone")
    async def update_development_plan_item(
        self, info: Context, id: strawberry.ID, input: DevelopmentItemInput, expected_version: int | None = None
    ) -> DevelopmentPlanItemType:
        data = validate_input(rest.DevelopmentItemUpdate, input_dict(input))
        ctx = info.context.ctx
        found = await service.find_item(ctx, ref(id, DevelopmentPlanItemType))
        item = await service.update_item(ctx, found.plan_id, found.id, data, expected=IfMatch.of(expected_version))
        return DevelopmentPlanItemType.of(service.item_read(item))

    @strawberry.mutation(description="Makes the development plan of a nomination")
    async def create_nomination_development_plan(
        self,
        info: Context,
        nomination_id: Annotated[strawberry.ID, strawberry.argument(description="The nomination's id")],
        input: NominationDevelopmentPlanInput | None = None,
    ) -> DevelopmentPlanType:
        data = validate_input(rest.NominationPlanCreate, input_dict(input) if input is not None else {})
        nomination = ref(nomination_id, "Nomination", loc=["nominationId"])
        return (await _types(info, [await service.create_for_nomination(info.context.ctx, nomination, data)]))[0]
