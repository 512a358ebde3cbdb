"""GraphQL adapter of the OKR module: thin, calls the same services as REST. Every
nested field goes through the request's dataloaders, so a page of objectives with their
key results, check-ins, owners, cycles and alignment links costs a constant number of
SQL queries whatever its size."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Select, false, select
from strawberry.dataloader import DataLoader

from service.auth.context import Ctx
from service.authz import policy
from service.cycles.gql import CycleType
from service.cycles.models import Cycle
from service.errors import ValidationFailed, validation_errors
from service.graphql.common import (
    CHILD_CYCLES,
    SUBTREE,
    VERSION,
    Connection,
    Context,
    DecimalString,
    camel,
    connection,
    described,
    enum_field,
    enum_type,
    input_dict,
    list_arguments,
    literal_of,
    order_argument,
    order_input,
    page_params,
    plain,
    refs,
    search_argument,
    sort_of,
    validate_input,
)
from service.graphql.context import once_per_node
from service.graphql.nodes import Entity, NodeKey, by_loader, by_service, ref, ref_field
from service.graphql.visibility import visible_rows
from service.kit.chunks import chunks
from service.kit.etag import IfMatch
from service.kpi.gql import PerspectiveEnum
from service.okr import compute, schemas, strategy_map, workflow
from service.okr import key_results as kr_svc
from service.okr import repository as repo
from service.okr import schemas as rest
from service.okr import service as svc
from service.okr.models import CheckIn, KeyResult, Objective, ObjectiveSupport
from service.okr.schemas import (
    MAX_BULK_CHECK_INS,
    CheckInCreate,
    CheckInItem,
    CheckInStatus,
    FindingRead,
    KeyResultCreate,
    KeyResultRead,
    KeyResultUpdate,
    KrKind,
    Level,
    LintRequest,
    ObjectiveCreate,
    ObjectiveStatus,
    ObjectiveUpdate,
    Pace,
    ProgressSource,
    Visibility,
    WorkflowAction,
)
from service.org.gql import DepartmentType, EmployeeType
from service.org.models import Employee

ObjectiveLevel = enum_type("ObjectiveLevel", Level, "Where an objective sits in the organization")
ObjectiveTypeEnum = enum_type("ObjectiveType", schemas.ObjectiveType, "Committed (expected in full) or aspirational")
ObjectiveVisibility = enum_type("ObjectiveVisibility", Visibility, "Who may read an objective")
ObjectiveStatusEnum = enum_type("ObjectiveStatus", ObjectiveStatus, "Where an objective is in its approval workflow")
PaceEnum = enum_type("Pace", Pace, "Progress against the elapsed part of the cycle")
KeyResultKind = enum_type("KeyResultKind", KrKind, "How a key result is measured")
KeyResultDirection = enum_type(
    "KeyResultDirection", literal_of(KeyResultRead, "direction"), "A metric's direction: the sign of target - start"
)
CheckInStatusEnum = enum_type("CheckInStatus", CheckInStatus, "The status chosen in a check-in")
ProgressSourceEnum = enum_type(
    "ProgressSource",
    ProgressSource,
    "Where an objective's rolled-up progress comes from: its key results, its child objectives, or both",
)
StrategyPerspective = enum_type(
    "StrategyPerspective",
    literal_of(rest.PerspectiveGroup, "perspective"),
    "A balanced-scorecard perspective of the strategy map, or unassigned",
)
LintSeverity = enum_type("LintSeverity", literal_of(FindingRead, "severity"), "How serious a lint finding is")

# What the dataloaders may read: `policy.read_objective` in SQL (`repo.visible_objectives`:
# public objectives for every person, private ones for their owner, the owner's managers,
# hr, admin and auditors; nothing for integration clients, which no OKR scope covers),
# and a key result or a check-in when its objective is visible (a key result's owner does
# not see a private objective of someone else, nor its key results).


@visible_rows(Objective)
def visible_objectives(ctx: Ctx) -> Select[Any]:
    stmt = repo.visible_objectives(ctx.org_id, ctx.principal)
    return stmt if policy.is_person(ctx.principal) else stmt.where(false())


@visible_rows(KeyResult)
def visible_key_results(ctx: Ctx) -> Select[Any]:
    return repo.key_results(ctx.org_id).where(
        KeyResult.objective_id.in_(visible_objectives(ctx).with_only_columns(Objective.id))
    )


@visible_rows(CheckIn)
def visible_check_ins(ctx: Ctx) -> Select[Any]:
    return select(CheckIn).where(
        CheckIn.org_id == ctx.org_id,
        CheckIn.key_result_id.in_(visible_key_results(ctx).with_only_columns(KeyResult.id)),
    )


def _by_id(row: Any) -> Any:
    return row.id


def _dec(value: Decimal | None) -> DecimalString | None:
    return None if value is None else DecimalString(str(value))


def _key_results(info: Context) -> Any:
    return info.context.loaders.many_by(KeyResult, "objective_id", order=_by_id)


def _check_ins(info: Context) -> Any:
    return info.context.loaders.many_by(CheckIn, "key_result_id", order=_by_id)


def _links(info: Context, name: str, key: str, value: str) -> Any:
    """objective id → linked objective ids through objective_supports, one query per batch."""

    def factory(ctx: Any) -> DataLoader[uuid.UUID, list[uuid.UUID]]:
        async def load(ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
            src, dst = getattr(ObjectiveSupport, key), getattr(ObjectiveSupport, value)
            grouped: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
            for chunk in chunks(ids):
                rows = await ctx.session.execute(
                    select(src, dst).where(ObjectiveSupport.org_id == ctx.org_id, src.in_(chunk)).order_by(dst)
                )
                for a, b in rows:
                    grouped[a].append(b)
            return [grouped[i] for i in ids]

        return DataLoader(load_fn=load)

    return info.context.loaders.custom(name, factory)


async def _once(info: Context, name: str, make: Any) -> Any:
    """A per-request value computed once even when hundreds of resolvers ask for it at
    the same moment (a DataLoader batches the concurrent first calls into one)."""

    def factory(ctx: Any) -> DataLoader[int, Any]:
        async def load(keys: list[int]) -> list[Any]:
            value = await make(ctx)
            return [value] * len(keys)

        return DataLoader(load_fn=load)

    return await info.context.loaders.custom(name, factory).load(0)


async def _today(info: Context) -> dt.date:
    return await _once(info, "okr:today", svc.today)


async def _visible(info: Context, rows: list[Objective | None]) -> list[ObjectiveType]:
    can_read = await _once(info, "okr:reader", svc.reader)
    return [ObjectiveType.of(r) for r in rows if r is not None and can_read(r)]


async def _inputs(info: Context, objective_id: uuid.UUID) -> tuple[list[KeyResult], dict[uuid.UUID, list[CheckIn]]]:
    krs = await _key_results(info).load(objective_id)
    check_ins = await _check_ins(info).load_many([k.id for k in krs]) if krs else []
    return krs, {k.id: c for k, c in zip(krs, check_ins, strict=True)}


@described(rest.MilestoneRead, rest.MilestoneIn)
@strawberry.type(name="Milestone")
class MilestoneType:
    title: str
    weight: DecimalString
    done: bool


@described(rest.CheckInRead, rest.CheckInCreate)
@strawberry.type(name="CheckIn")
class CheckInType(Entity):
    key_result_id: uuid.UUID
    value: DecimalString | None
    done: bool | None
    milestone: int | None
    confidence: int | None
    status: str | None = enum_field(CheckInStatusEnum | None)
    note: str | None
    author: str
    author_employee_id: uuid.UUID | None
    checked_in_at: dt.datetime
    created_at: dt.datetime

    @staticmethod
    def of(c: CheckIn) -> CheckInType:
        return CheckInType(
            id=c.id,
            key_result_id=c.key_result_id,
            value=_dec(c.value),
            done=c.done,
            milestone=c.milestone,
            confidence=c.confidence,
            status=c.status,
            note=c.note,
            author=c.author,
            author_employee_id=c.author_employee_id,
            checked_in_at=c.checked_in_at,
            created_at=c.created_at,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[CheckInType | None]:
        """Check-ins are read with their key result: visible when `keyResult(id:)` is."""
        rows = await by_loader(info.context.loaders.by_id(CheckIn), keys, lambda row: row)
        shown = await by_service(
            [NodeKey(r.key_result_id) for r in rows if r is not None],
            lambda key: kr_svc.get_key_result(info.context.ctx, key.id),
        )
        visible = {kr.id for kr in shown if kr is not None}
        return [CheckInType.of(r) if r is not None and r.key_result_id in visible else None for r in rows]


@described(rest.KeyResultRead, rest.KeyResultCreate)
@strawberry.type(name="KeyResult")
class KeyResultType(Entity):
    objective_id: uuid.UUID
    title: str
    description: str | None
    kind: str = enum_field(KeyResultKind)
    start: DecimalString | None
    target: DecimalString | None
    unit: str | None
    direction: str | None = enum_field(KeyResultDirection | None)
    weight: DecimalString
    milestones: list[MilestoneType] | None
    owner_id: uuid.UUID | None
    due_date: dt.date | None
    measured_by_objective_id: uuid.UUID | None
    grade: DecimalString | None
    grade_reason: str | None
    graded_by: str | None
    graded_at: dt.datetime | None
    version: int = strawberry.field(description=VERSION)
    _row: strawberry.Private[KeyResult]
    # (its check-ins, its cycle, today) when the parent loaded them (Objective.key_results):
    # the computed fields and check_ins then resolve without awaiting anything
    _inputs: strawberry.Private[tuple[list[CheckIn], Cycle | None, dt.date] | None] = None

    def _computed(self, info: Context, name: str) -> Any:
        """A field of the key result's view: the value itself when the inputs are at hand
        (a plain value costs GraphQL far less than an awaitable: one page of objectives
        asks for thousands), else an awaitable that loads them."""
        if self._inputs is not None:
            view = self.__dict__.get("_computed_view")
            if view is None:
                view = self.__dict__["_computed_view"] = compute.key_result_view(self._row, *self._inputs)
            return getattr(view, name)
        return self._loaded(info, name)

    async def _loaded(self, info: Context, name: str) -> Any:
        async def make() -> compute.KeyResultView:
            loaders = info.context.loaders
            check_ins = await _check_ins(info).load(self.id)
            obj = await loaders.by_id(Objective).load(self.objective_id)
            cycle = await loaders.by_id(Cycle).load(obj.cycle_id) if obj else None
            return compute.key_result_view(self._row, check_ins, cycle, await _today(info))

        return getattr(await once_per_node(self, make), name)

    @strawberry.field(description="metric: the latest check-in's value, else start")
    def current(self, info: Context) -> DecimalString | None:
        return self._computed(info, "current")

    @strawberry.field
    def done(self, info: Context) -> bool | None:
        return self._computed(info, "done")

    @strawberry.field(description="computed score 0..1, 4 places")
    def progress(self, info: Context) -> DecimalString:
        return self._computed(info, "progress")

    @strawberry.field(description="the grade when graded, else progress")
    def score(self, info: Context) -> DecimalString:
        return self._computed(info, "score")

    @strawberry.field(graphql_type=PaceEnum)
    def pace(self, info: Context) -> str:
        return self._computed(info, "pace")

    @strawberry.field(description="the status chosen in the latest check-in", graphql_type=CheckInStatusEnum | None)
    def status(self, info: Context) -> str | None:
        return self._computed(info, "status")

    @strawberry.field
    def confidence(self, info: Context) -> int | None:
        return self._computed(info, "confidence")

    @strawberry.field
    def last_checked_in_at(self, info: Context) -> dt.datetime | None:
        return self._computed(info, "last_checked_in_at")

    @strawberry.field(description="The key result's check-ins")
    def check_ins(self, info: Context) -> list[CheckInType]:
        if self._inputs is not None:
            return [CheckInType.of(c) for c in self._inputs[0]]
        return self._load_check_ins(info)  # type: ignore[return-value]  # an awaitable GraphQL awaits

    async def _load_check_ins(self, info: Context) -> list[CheckInType]:
        return [CheckInType.of(c) for c in await _check_ins(info).load(self.id)]

    @strawberry.field
    async def owner(self, info: Context) -> EmployeeType | None:
        if self.owner_id is None:
            return None
        emp = await info.context.loaders.by_id(Employee).load(self.owner_id)
        return EmployeeType.of(emp) if emp else None

    @strawberry.field
    async def objective(self, info: Context) -> ObjectiveType | None:
        row = await info.context.loaders.by_id(Objective).load(self.objective_id)
        return ObjectiveType.of(row) if row else None

    @staticmethod
    def of(kr: KeyResult, inputs: tuple[list[CheckIn], Cycle | None, dt.date] | None = None) -> KeyResultType:
        milestones = compute.milestones_out(kr)
        return KeyResultType(
            id=kr.id,
            objective_id=kr.objective_id,
            title=kr.title,
            description=kr.description,
            kind=kr.kind,
            start=_dec(kr.start),
            target=_dec(kr.target),
            unit=kr.unit,
            direction=compute.direction(kr),
            weight=DecimalString(str(kr.weight)),
            milestones=[MilestoneType(**m) for m in milestones] if milestones is not None else None,
            owner_id=kr.owner_id,
            due_date=kr.due_date,
            measured_by_objective_id=kr.measured_by_objective_id,
            grade=_dec(kr.grade),
            grade_reason=kr.grade_reason,
            graded_by=kr.graded_by,
            graded_at=kr.graded_at,
            version=kr.version,
            _row=kr,
            _inputs=inputs,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[KeyResultType | None]:
        async def fetch(key: NodeKey) -> KeyResultType:
            return KeyResultType.of(await kr_svc.get_key_result(info.context.ctx, key.id))

        return await by_service(keys, fetch)


@described(rest.ObjectiveRead, rest.ObjectiveCreate)
@strawberry.type(name="Objective")
class ObjectiveType(Entity):
    title: str
    description: str | None
    level: str = enum_field(ObjectiveLevel)
    owner_id: uuid.UUID
    department_id: uuid.UUID | None
    cycle_id: uuid.UUID
    type: str = enum_field(ObjectiveTypeEnum)
    parent_id: uuid.UUID | None
    weight: DecimalString
    perspective: str | None = enum_field(PerspectiveEnum | None)
    visibility: str = enum_field(ObjectiveVisibility)
    progress_source: str = enum_field(ProgressSourceEnum)
    status: str = enum_field(ObjectiveStatusEnum)
    rejection_comment: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = strawberry.field(description=VERSION)
    _row: strawberry.Private[Objective]

    async def _view(self, info: Context) -> compute.ObjectiveView:
        async def make() -> compute.ObjectiveView:
            krs, check_ins = await _inputs(info, self.id)
            cycle = await info.context.loaders.by_id(Cycle).load(self.cycle_id)
            return compute.objective_view(self._row, krs, check_ins, cycle, await _today(info))

        return await once_per_node(self, make)

    @strawberry.field(description="Σ(w × KR score) / Σ w, 4 places; null when not scored")
    async def score(self, info: Context) -> DecimalString | None:
        return _dec((await self._view(info)).score)

    @strawberry.field
    async def progress(self, info: Context) -> DecimalString | None:
        return _dec((await self._view(info)).progress)

    @strawberry.field(graphql_type=PaceEnum | None)
    async def pace(self, info: Context) -> str | None:
        return (await self._view(info)).pace

    @strawberry.field
    async def flags(self, info: Context) -> list[str]:
        return list((await self._view(info)).flags)

    @strawberry.field(description="The objective's key results")
    async def key_results(self, info: Context) -> list[KeyResultType]:
        """With each key result's inputs (check-ins, cycle, today) loaded here, batched
        across the page's objectives, so none of its fields has to wait for anything."""
        krs, check_ins = await _inputs(info, self.id)
        cycle = await info.context.loaders.by_id(Cycle).load(self.cycle_id)
        today = await _today(info)
        return [KeyResultType.of(k, (check_ins[k.id], cycle, today)) for k in krs]

    @strawberry.field
    async def parent(self, info: Context) -> ObjectiveType | None:
        if self.parent_id is None:
            return None
        found = await _visible(info, [await info.context.loaders.by_id(Objective).load(self.parent_id)])
        return found[0] if found else None

    @strawberry.field(description="objectives aligned to this one through parent_id")
    async def children(self, info: Context) -> list[ObjectiveType]:
        rows = await info.context.loaders.many_by(Objective, "parent_id", order=_by_id).load(self.id)
        return await _visible(info, rows)

    @strawberry.field(description="the ids of the objectives this one supports")
    async def supports_ids(self, info: Context) -> list[uuid.UUID]:
        return await _links(info, "okr:supports", "objective_id", "supported_id").load(self.id)

    @strawberry.field(description="objectives this one contributes to, bottom-up")
    async def supports(self, info: Context) -> list[ObjectiveType]:
        ids = await _links(info, "okr:supports", "objective_id", "supported_id").load(self.id)
        return await _visible(info, await info.context.loaders.by_id(Objective).load_many(ids))

    @strawberry.field(description="objectives that contribute to this one, bottom-up")
    async def supporters(self, info: Context) -> list[ObjectiveType]:
        ids = await _links(info, "okr:supporters", "supported_id", "objective_id").load(self.id)
        return await _visible(info, await info.context.loaders.by_id(Objective).load_many(ids))

    @strawberry.field
    async def owner(self, info: Context) -> EmployeeType | None:
        emp = await info.context.loaders.by_id(Employee).load(self.owner_id)
        return EmployeeType.of(emp) if emp else None

    @strawberry.field
    async def cycle(self, info: Context) -> CycleType | None:
        row = await info.context.loaders.by_id(Cycle).load(self.cycle_id)
        return CycleType.of(row) if row else None

    @staticmethod
    def of(o: Objective) -> ObjectiveType:
        return ObjectiveType(
            id=o.id,
            title=o.title,
            description=o.description,
            level=o.level,
            owner_id=o.owner_id,
            department_id=o.department_id,
            cycle_id=o.cycle_id,
            type=o.type,
            parent_id=o.parent_id,
            weight=DecimalString(str(o.weight)),
            perspective=o.perspective,
            visibility=o.visibility,
            progress_source=o.progress_source,
            status=o.status,
            rejection_comment=o.rejection_comment,
            created_at=o.created_at,
            updated_at=o.updated_at,
            version=o.version,
            _row=o,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[ObjectiveType | None]:
        rows = await by_loader(info.context.loaders.by_id(Objective), keys, lambda row: row)
        can_read = await _once(info, "okr:reader", svc.reader)
        return [ObjectiveType.of(r) if r is not None and can_read(r) else None for r in rows]


@described(rest.FindingRead)
@strawberry.type(name="LintFinding")
class FindingType:
    code: str
    severity: str = enum_field(LintSeverity)
    message: str
    path: list[str] = strawberry.field(description="where the finding is, in GraphQL's field names")


@described(rest.ObjectiveCreate, rest.ObjectiveRead)
@strawberry.input(description="The fields of an objective to create, or to change (a field left out keeps its value)")
class ObjectiveInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    level: str | None = enum_field(ObjectiveLevel | None, default=strawberry.UNSET)
    owner_id: strawberry.ID | None = ref_field(EmployeeType)
    department_id: strawberry.ID | None = ref_field(DepartmentType)
    cycle_id: strawberry.ID | None = ref_field(CycleType)
    type: str | None = enum_field(ObjectiveTypeEnum | None, default=strawberry.UNSET)
    parent_id: strawberry.ID | None = ref_field(ObjectiveType)
    supports: list[strawberry.ID] | None = ref_field(ObjectiveType, description="the ids of the objectives it supports")
    weight: DecimalString | None = strawberry.UNSET
    perspective: str | None = enum_field(PerspectiveEnum | None, default=strawberry.UNSET)
    visibility: str | None = enum_field(ObjectiveVisibility | None, default=strawberry.UNSET)
    progress_source: str | None = enum_field(ProgressSourceEnum | None, default=strawberry.UNSET)
    reason: str | None = strawberry.UNSET
    key_results: list[ObjectiveKeyResultInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="createObjective only: key results created with the objective, all or nothing "
        "(at most the organization's okrMaxKrs); the answer's keyResults shows them",
    )


@described(rest.MilestoneIn, rest.MilestoneRead)
@strawberry.input(description="A step of a milestone key result")
class MilestoneInput:
    title: str
    weight: DecimalString | None = strawberry.UNSET
    done: bool | None = strawberry.UNSET


@described(rest.KeyResultCreate, rest.KeyResultRead)
@strawberry.input(description="A key result created with its objective (ObjectiveInput.keyResults)")
class ObjectiveKeyResultInput:
    title: str
    description: str | None = strawberry.UNSET
    kind: str = enum_field(KeyResultKind)
    start: DecimalString | None = strawberry.UNSET
    target: DecimalString | None = strawberry.UNSET
    unit: str | None = strawberry.UNSET
    weight: DecimalString | None = strawberry.UNSET
    milestones: list[MilestoneInput] | None = strawberry.UNSET
    owner_id: strawberry.ID | None = ref_field(EmployeeType)
    due_date: dt.date | None = strawberry.UNSET
    measured_by_objective_id: strawberry.ID | None = ref_field(ObjectiveType)


@described(rest.KeyResultCreate, rest.KeyResultRead)
@strawberry.input(description="The fields of a key result to create, or to change (a field left out keeps its value)")
class KeyResultInput:
    objective_id: strawberry.ID | None = ref_field(ObjectiveType)
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    kind: str | None = enum_field(KeyResultKind | None, default=strawberry.UNSET)
    start: DecimalString | None = strawberry.UNSET
    target: DecimalString | None = strawberry.UNSET
    unit: str | None = strawberry.UNSET
    weight: DecimalString | None = strawberry.UNSET
    milestones: list[MilestoneInput] | None = strawberry.UNSET
    owner_id: strawberry.ID | None = ref_field(EmployeeType)
    due_date: dt.date | None = strawberry.UNSET
    measured_by_objective_id: strawberry.ID | None = ref_field(ObjectiveType)
    grade: DecimalString | None = strawberry.UNSET
    grade_reason: str | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET


@described(rest.CheckInCreate, rest.CheckInRead)
@strawberry.input(description="A check-in to record on a key result")
class CheckInInput:
    value: DecimalString | None = strawberry.UNSET
    done: bool | None = strawberry.UNSET
    milestone: int | None = strawberry.UNSET
    confidence: int | None = strawberry.UNSET
    status: str | None = enum_field(CheckInStatusEnum | None, default=strawberry.UNSET)
    note: str | None = strawberry.UNSET
    checked_in_at: dt.datetime | None = strawberry.UNSET


@described(rest.CheckInCreate, rest.CheckInRead)
@strawberry.input(description="One check-in of createCheckIns: its key result and the fields of a single check-in")
class CheckInItemInput(CheckInInput):
    key_result_id: strawberry.ID = ref_field(KeyResultType)


@described(rest.StrategyNode)
@strawberry.type(name="StrategyNode")
class StrategyNodeType:
    objective: ObjectiveType = strawberry.field(description="The objective (the caller may read it)")
    own_progress: DecimalString | None
    rolled_up_progress: DecimalString | None
    children: list[StrategyNodeType]

    @staticmethod
    def of(n: rest.StrategyNode, rows: dict[uuid.UUID, Objective]) -> StrategyNodeType:
        return StrategyNodeType(
            objective=ObjectiveType.of(rows[n.id]),
            own_progress=_dec(n.own_progress),
            rolled_up_progress=_dec(n.rolled_up_progress),
            children=[StrategyNodeType.of(c, rows) for c in n.children],
        )


@described(rest.PerspectiveGroup)
@strawberry.type(name="PerspectiveGroup")
class PerspectiveGroupType:
    perspective: str = enum_field(StrategyPerspective)
    progress: DecimalString | None
    objectives: list[StrategyNodeType]


@described(rest.StrategyMapRead)
@strawberry.type(name="StrategyMap")
class StrategyMapType:
    cycle_id: uuid.UUID
    node_count: int
    groups: list[PerspectiveGroupType]

    @staticmethod
    def of(m: rest.StrategyMapRead, rows: dict[uuid.UUID, Objective]) -> StrategyMapType:
        return StrategyMapType(
            cycle_id=m.cycle_id,
            node_count=m.node_count,
            groups=[
                PerspectiveGroupType(
                    perspective=g.perspective,
                    progress=_dec(g.progress),
                    objectives=[StrategyNodeType.of(o, rows) for o in g.objectives],
                )
                for g in m.groups
            ],
        )


ObjectiveOrder = order_input("Objective", svc.OBJECTIVE_SORT, "objectives")


@described(filters=True)
@strawberry.type
class OkrQuery:
    @strawberry.field(description="The objectives the caller may see, a page at a time")
    async def objectives(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        cycle_id: strawberry.ID | None = None,
        include_child_cycles: Annotated[bool, strawberry.argument(description=CHILD_CYCLES)] = False,
        owner_id: Annotated[
            strawberry.ID | None, strawberry.argument(deprecation_reason="use ownerIds (one or several owners)")
        ] = None,
        owner_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description=f"one or more owners (at most {svc.MAX_OWNERS}): any of them"),
        ] = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=ObjectiveStatusEnum | None)] = None,
        level: Annotated[str | None, strawberry.argument(graphql_type=ObjectiveLevel | None)] = None,
        department_id: strawberry.ID | None = None,
        parent_id: strawberry.ID | None = None,
        perspective: Annotated[str | None, strawberry.argument(graphql_type=PerspectiveEnum | None)] = None,
        manager_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="objectives owned by this manager's direct reports")
        ] = None,
        subtree: Annotated[bool, strawberry.argument(description=SUBTREE)] = False,
        q: Annotated[str | None, search_argument("the title")] = None,
        order_by: Annotated[list[Any] | None, order_argument(ObjectiveOrder)] = None,
    ) -> Connection[ObjectiveType]:
        params = page_params(first, after, last, before)
        owners = refs(owner_ids, EmployeeType, name="ownerIds", most=svc.MAX_OWNERS)
        if owner_id is not None:
            owners = [ref(owner_id, EmployeeType, loc=["ownerId"]), *(owners or [])]
        with list_arguments(params):
            page = await svc.list_objectives(
                info.context.ctx,
                params,
                cycle_id=ref(cycle_id, CycleType, loc=["cycleId"]),
                include_child_cycles=include_child_cycles,
                owner_id=owners,
                status=plain(status),
                level=plain(level),
                department_id=ref(department_id, DepartmentType, loc=["departmentId"]),
                parent_id=ref(parent_id, ObjectiveType, loc=["parentId"]),
                perspective=plain(perspective),
                manager_id=ref(manager_id, EmployeeType, loc=["managerId"]),
                subtree=subtree,
                q=q,
                sort=sort_of(order_by),
            )
        return connection(page, ObjectiveType.of, params)

    @strawberry.field
    async def objective(self, info: Context, id: strawberry.ID) -> ObjectiveType:
        return ObjectiveType.of(await svc.get_objective(info.context.ctx, ref(id, ObjectiveType)))

    @strawberry.field(
        description="The cycle's strategy map, as GET /cycles/{cycle_id}/strategy-map: every top-level objective "
        "with its tree, grouped by perspective, progress rolled up"
    )
    async def strategy_map(self, info: Context, cycle_id: strawberry.ID) -> StrategyMapType:
        cycle = ref(cycle_id, CycleType, loc=["cycleId"])
        found, rows = await strategy_map.strategy_map_with_rows(info.context.ctx, cycle)
        return StrategyMapType.of(found, rows)

    @strawberry.field(description="One key result")
    async def key_result(self, info: Context, id: strawberry.ID) -> KeyResultType:
        return KeyResultType.of(await kr_svc.get_key_result(info.context.ctx, ref(id, KeyResultType)))

    @strawberry.field(description="quality findings of a saved objective (SPEC section 9)")
    async def okr_lint(self, info: Context, objective_id: strawberry.ID) -> list[FindingType]:
        objective = ref(objective_id, ObjectiveType, loc=["objectiveId"])
        findings = await workflow.lint_request(info.context.ctx, LintRequest(objective_id=objective))
        return [
            FindingType(code=f.code, severity=f.severity, message=f.message, path=[camel(str(p)) for p in f.path])
            for f in findings
        ]


async def _act(
    info: Context, id: strawberry.ID, action: str, comment: str | None, expected_version: int | None = None
) -> ObjectiveType:
    data = validate_input(WorkflowAction, {"comment": comment})
    return ObjectiveType.of(
        await workflow.act(
            info.context.ctx, ref(id, ObjectiveType), action, data.comment, expected=IfMatch.of(expected_version)
        )
    )


@described()
@strawberry.type
class OkrMutation:
    @strawberry.mutation(description="Creates an objective (a draft)")
    async def create_objective(self, info: Context, input: ObjectiveInput) -> ObjectiveType:
        data = validate_input(ObjectiveCreate, input_dict(input))
        obj, _ = await kr_svc.create_objective_with_key_results(info.context.ctx, data)
        return ObjectiveType.of(obj)

    @strawberry.mutation(description="Changes an objective")
    async def update_objective(
        self, info: Context, id: strawberry.ID, input: ObjectiveInput, expected_version: int | None = None
    ) -> ObjectiveType:
        data = validate_input(ObjectiveUpdate, input_dict(input))
        return ObjectiveType.of(
            await svc.update_objective(
                info.context.ctx, ref(id, ObjectiveType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation(description="Submits a draft objective for approval")
    async def submit_objective(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> ObjectiveType:
        return await _act(info, id, "submit", comment, expected_version=expected_version)

    @strawberry.mutation(description="Approves a submitted objective")
    async def approve_objective(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> ObjectiveType:
        return await _act(info, id, "approve", comment, expected_version=expected_version)

    @strawberry.mutation(description="Rejects a submitted objective (back to draft, with a comment)")
    async def reject_objective(
        self, info: Context, id: strawberry.ID, comment: str, expected_version: int | None = None
    ) -> ObjectiveType:
        return await _act(info, id, "reject", comment, expected_version=expected_version)

    @strawberry.mutation(description="Publishes an approved objective")
    async def publish_objective(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> ObjectiveType:
        return await _act(info, id, "publish", comment, expected_version=expected_version)

    @strawberry.mutation(description="Closes an objective")
    async def close_objective(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> ObjectiveType:
        return await _act(info, id, "close", comment, expected_version=expected_version)

    @strawberry.mutation(description="Adds a key result to an objective")
    async def create_key_result(self, info: Context, input: KeyResultInput) -> KeyResultType:
        data = validate_input(KeyResultCreate, input_dict(input))
        return KeyResultType.of(await kr_svc.create_key_result(info.context.ctx, data))

    @strawberry.mutation(description="Changes a key result, or grades it")
    async def update_key_result(
        self, info: Context, id: strawberry.ID, input: KeyResultInput, expected_version: int | None = None
    ) -> KeyResultType:
        data = validate_input(KeyResultUpdate, input_dict(input))
        return KeyResultType.of(
            await kr_svc.update_key_result(
                info.context.ctx, ref(id, KeyResultType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation(description="Records a check-in on a key result")
    async def create_check_in(self, info: Context, key_result_id: strawberry.ID, input: CheckInInput) -> CheckInType:
        data = validate_input(CheckInCreate, input_dict(input))
        kr = ref(key_result_id, KeyResultType, loc=["keyResultId"])
        return CheckInType.of(await kr_svc.create_check_in(info.context.ctx, kr, data))

    @strawberry.mutation(
        description="Check in several key results at once (at most 100), as POST /check-ins/bulk: each as "
        "createCheckIn allows it, all or nothing"
    )
    async def create_check_ins(self, info: Context, input: list[CheckInItemInput]) -> list[CheckInType]:
        if len(input) > MAX_BULK_CHECK_INS or not input:
            msg = f"give 1 to {MAX_BULK_CHECK_INS} items"
            raise ValidationFailed(msg, errors=[{"loc": ["input"], "msg": msg}])
        items = []
        for i, item in enumerate(input):
            try:
                items.append(CheckInItem.model_validate(input_dict(item, ("input", i))))
            except PydanticValidationError as exc:
                errors = [{**e, "loc": ["input", i, *e["loc"]]} for e in validation_errors(list(exc.errors()))]
                raise ValidationFailed("the input is not valid", errors=errors) from exc
        made = await kr_svc.create_check_ins(info.context.ctx, items)
        return [CheckInType.of(c) for c in made]


# --- an employee's OKRs (Employee.objectives, Employee.keyResults) ------------------------------

EMPLOYEE_LIST_BOUND = 100


def _in_cycle(cycle_id: uuid.UUID | None, column: Any) -> tuple[tuple[Any, ...], str]:
    return ((column == cycle_id,), f"cycle={cycle_id}") if cycle_id is not None else ((), "")


async def objectives_of(info: Context, employee_id: uuid.UUID, cycle_id: uuid.UUID | None) -> list[ObjectiveType]:
    """The objectives `employee_id` owns that the caller may read: what
    GET /objectives?owner_id=...&cycle_id=... lists them (the Objective visibility rule
    is `repo.visible_objectives`, the REST list's statement)."""
    where, name = _in_cycle(cycle_id, Objective.__table__.c.cycle_id)
    loader = info.context.loaders.owned_by(
        Objective, "owner_id", where=where, where_name=name, bound=EMPLOYEE_LIST_BOUND
    )
    return [ObjectiveType.of(r) for r in await loader.load(employee_id)]


async def owned_key_results_of(
    info: Context, employee_id: uuid.UUID, cycle_id: uuid.UUID | None
) -> list[KeyResultType]:
    """The key results `employee_id` owns (`owner_id`) whose objective the caller may
    read: GET /key-results?owner_id=... (and, with a cycle, those whose objective is in it)."""
    where: tuple[Any, ...] = ()
    name = ""
    if cycle_id is not None:
        in_cycle = select(Objective.id).where(
            Objective.org_id == info.context.ctx.org_id, Objective.cycle_id == cycle_id
        )
        where, name = (KeyResult.__table__.c.objective_id.in_(in_cycle),), f"cycle={cycle_id}"
    loader = info.context.loaders.owned_by(
        KeyResult, "owner_id", where=where, where_name=name, bound=EMPLOYEE_LIST_BOUND
    )
    return [KeyResultType.of(r) for r in await loader.load(employee_id)]
