"""Shared GraphQL pieces: the scalars (written as REST writes the same values), enums
made from the domain's value sets, Relay cursor connections over the keyset paginator,
and validation of inputs through the same Pydantic models REST uses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, DecimalException
from typing import Any, Generic, Literal, NewType, TypeVar, get_args, get_origin

import strawberry
from pydantic import BaseModel, TypeAdapter, ValidationError
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types.scalar import ScalarDefinition

from service.errors import ValidationFailed, validation_errors
from service.graphql.nodes import REF, Context, key_of, ref
from service.graphql.values import value_description
from service.kit import search
from service.kit.glossary import FIELDS
from service.kit.pagination import (
    DEFAULT_LIMIT,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
    MAX_SORT_KEYS,
    Page,
    PageParams,
    Sorting,
)
from service.kit.schemas import Timestamp

__all__ = ["Context"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
C = TypeVar("C", bound=type)

# --- descriptions ---------------------------------------------------------------------------------

# Fields only GraphQL has: the objects a reference names, read through the dataloaders.
RELATIONS: dict[str, str] = {
    "cycle": "The cycle (null when the caller may not see it)",
    "department": "The department (null when there is none, or the caller may not see it)",
    "position": "The position (null when there is none, or the caller may not see it)",
    "manager": "The manager (null when there is none, or the caller may not see them)",
    "parent": "The parent (null at the top, or when the caller may not see it)",
    "head": "The department's head (null when there is none, or the caller may not see them)",
    "owner": "The owner (null when the caller may not see them)",
    "objective": "The objective (null when the caller may not see it)",
    "definition": "The KPI definition (null when the caller may not see it)",
    "employee": "The employee (null when the caller may not see them)",
}

# Arguments, by name; a name not here that names a field (`cycle_id`, `status`) filters
# on that field (`FILTER`).
ARGUMENTS: dict[str, str] = {
    "first": f"How many to return, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
    "after": "Return what follows this cursor (a previous page's `pageInfo.endCursor`)",
    "last": f"How many to return from the end, 1 to {MAX_LIMIT}",
    "before": "Return what precedes this cursor (a later page's `pageInfo.startCursor`)",
    "q": "Search: only those whose text matches these words",
    "sort": "The order: field names, comma-separated, each descending when prefixed with `-`",
    "id": "The object's global `id`, or its UUID (`databaseId`)",
    "ids": f"Global ids (`id`), at most {MAX_LIMIT}",
    "input": "The fields to set; a field left out keeps its value on a change, its default on a creation",
    "expected_version": "The `version` the change is made against; when the object has moved on, nothing "
    "changes and the answer is an error with status 412 (REST's If-Match). Omit it to change whatever is current",
    "comment": "A comment kept with the step",
    "explain": "Whether to include each score's `explanation` (a larger answer)",
    "version": "The version to read (by default the one the global id names, else the current one)",
    "updated_since": "Only those changed at or after this time",
    "acknowledged": "Only those payroll has acknowledged (true), or not yet (false)",
    "atomic": "All rows or none: when any row is bad nothing is written and the answer is an error with status 422 "
    "listing every row's errors",
}
FILTER = "Only those whose `{name}` is this"
# A mutation's arguments other than `ARGUMENTS`; then the glossary (`reason`, `cycle_id`).
MUTATION_ARGUMENTS: dict[str, str] = {
    "rows": "The employees to create or update, matched by `externalId`",
    "to": "The status to move to",
    "cadence": "The length of the children",
    "self_review": "The self review",
    "manager_review": "The manager's review",
    "adjustments": "The adjustments to try (nothing is saved)",
    "decision": "Approve or decline",
    "payroll_reference": "The result's reference in the payroll system",
}


def fill(cls: Any, model: BaseModel, **nested: Any) -> Any:
    """A Strawberry object from a read model with the same field names; nested objects
    are converted by the caller."""
    values = {
        f.name: getattr(model, f.name)
        for f in dataclasses.fields(cls)
        if f.name not in nested and hasattr(model, f.name)
    }
    return cls(**values, **nested)


def sentence(text: str) -> str:
    """A description starts with a capital letter (the schema linter's rule)."""
    return text[:1].upper() + text[1:]


def _from_models(name: str, models: Sequence[type[BaseModel]]) -> str | None:
    for model in models:
        field = model.model_fields.get(name)
        if field is not None and field.description:
            return field.description
    return FIELDS.get(name) or RELATIONS.get(name)


def _docstring(models: Sequence[type[BaseModel]]) -> str | None:
    doc = models[0].__dict__.get("__doc__") if models else None
    return inspect.cleandoc(doc) if doc else None


def described(*models: type[BaseModel], filters: bool = False) -> Callable[[C], C]:
    """Fills what a Strawberry type leaves undocumented from the REST models it mirrors,
    so both APIs say the same thing in one place: the type's description is the first
    model's own docstring, a field's the description of the models' field of the same
    (snake_case) name, else the shared glossary (`kit.glossary.FIELDS`, `RELATIONS`). An
    argument's comes from `ARGUMENTS`, then on a query type (`filters`) a filter names
    the field it filters on, elsewhere `MUTATION_ARGUMENTS` and the glossary. What the
    Strawberry definition says itself wins; every description starts with a capital.
    Applied above `@strawberry.type`/`input`; `tests/test_graphql_conventions.py` fails
    on anything left without one."""

    def apply(cls: C) -> C:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]  # set by @strawberry.type
        text = definition.description or _docstring(models)
        definition.description = sentence(text) if text else None
        for field in definition.fields:
            text = field.description or _from_models(field.python_name, models)
            field.description = sentence(text) if text else None
            for arg in field.arguments:
                name = arg.python_name
                text = arg.description or ARGUMENTS.get(name)
                if text is None:
                    text = (
                        FILTER.format(name=camel(name)) if filters else MUTATION_ARGUMENTS.get(name, FIELDS.get(name))
                    )
                arg.description = sentence(text) if text else None
        return cls

    return apply


# --- scalars --------------------------------------------------------------------------------------

RFC3339 = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
RFC9562 = "https://www.rfc-editor.org/rfc/rfc9562"
RFC8259 = "https://www.rfc-editor.org/rfc/rfc8259"
JSON_NUMBER = f"{RFC8259}#section-6"

DecimalString = NewType("DecimalString", str)
JSON = NewType("JSON", object)
MinorUnits = NewType("MinorUnits", int)

# REST's serializer (Pydantic's, for the read models' fields), so a timestamp or a date is
# the same text in both APIs; inputs are read as REST reads its timestamp parameters.
_DATETIME_OUT = TypeAdapter(dt.datetime)
_DATETIME_IN = TypeAdapter(Timestamp)
_DATE = TypeAdapter(dt.date)


def rest_datetime(value: dt.datetime) -> str:
    """A timestamp as REST writes it: RFC 3339, `Z` for UTC, microseconds only when
    there are some (`2026-03-01T09:30:00Z`, `2026-03-01T09:30:00.250000Z`)."""
    return str(_DATETIME_OUT.dump_python(value, mode="json"))


def rest_date(value: dt.date) -> str:
    return str(_DATE.dump_python(value, mode="json"))


def _decimal(value: str) -> str:
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("not a finite decimal")
    return str(number)


SCALARS: dict[object, ScalarDefinition] = {
    DecimalString: strawberry.scalar(
        name="DecimalString",
        description='An exact decimal as a string ("87.50"), written as REST writes it: the text of a JSON number '
        "(RFC 8259 section 6), its scale kept (`87.50` stays `87.50`); an input may also be a number",
        specified_by_url=JSON_NUMBER,
        serialize=str,
        parse_value=wrap_parser(_decimal, "DecimalString", (ValueError, DecimalException), accept_non_string=True),
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="Any JSON value (RFC 8259): the same document REST answers for this field, keys as in REST "
        '(snake_case, `{"base_salary_minor": 100}`)',
        specified_by_url=RFC8259,
        serialize=lambda v: v,
        parse_value=lambda v: v,
    ),
    MinorUnits: strawberry.scalar(
        name="MinorUnits",
        description="Money as an integer count of the currency's minor units (cents, `12550` for 125.50), a JSON "
        "number without fraction or exponent, of any size: GraphQL's Int is 32-bit",
        specified_by_url=JSON_NUMBER,
        serialize=int,
        parse_value=int,
    ),
    dt.datetime: strawberry.scalar(
        name="DateTime",
        description="A point in time, an RFC 3339 `date-time`, the same text REST answers: UTC as `Z`, "
        "fractional seconds (microseconds) only when there are some (`2026-03-01T09:30:00Z`, "
        "`2026-03-01T09:30:00.250000Z`). Inputs take any offset; one without an offset is UTC",
        specified_by_url=RFC3339,
        serialize=rest_datetime,
        parse_value=wrap_parser(_DATETIME_IN.validate_python, "DateTime"),
    ),
    dt.date: strawberry.scalar(
        name="Date",
        description="A calendar date, an RFC 3339 `full-date` (`2026-03-31`), as in REST",
        specified_by_url=RFC3339,
        serialize=rest_date,
        parse_value=wrap_parser(_DATE.validate_python, "Date"),
    ),
    uuid.UUID: strawberry.scalar(
        name="UUID",
        description="A UUID in its canonical text form (RFC 9562): an id as REST writes it (`databaseId`, the "
        "`...Id` fields that name other objects)",
        specified_by_url=RFC9562,
        serialize=str,
        parse_value=wrap_parser(uuid.UUID, "UUID"),
    ),
}

# --- enums ----------------------------------------------------------------------------------------

ENUM_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def values_of(source: Any) -> tuple[str, ...]:
    """The strings of a `Literal[...]` (also inside `X | None`), or of a tuple."""
    if get_origin(source) is Literal:
        return tuple(get_args(source))
    literals = [a for a in get_args(source) if get_origin(a) is Literal]
    if literals:
        return tuple(v for lit in literals for v in get_args(lit))
    return tuple(source)


def literal_of(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """The values of a read model's `Literal` field: where the domain defines a set inline."""
    return values_of(model.model_fields[field].annotation)


def enum_type(name: str, source: Any, description: str, names: Mapping[str, str] | None = None) -> Any:
    """A GraphQL enum over the domain's values (`source`: a Literal alias, a read model's
    Literal field through `literal_of`, or a tuple of the domain's constants): each value
    is named in UPPER_CASE (`on_leave` is `ON_LEAVE`; `names` for a value that is no
    GraphQL name, `8_weeks`) and stands for the REST string. Fields return the REST
    string and the enum serializes it; an argument or input arrives as a `StrEnum`
    member, which is that same string. Typed `Any`: a class made at run time is no type
    to mypy, so fields keep their `str` annotation and name the enum as `graphql_type`."""
    members: dict[str, str] = {}
    for value in values_of(source):
        member = (names or {}).get(value, value.upper())
        if not ENUM_NAME.match(member):
            raise ValueError(f"{name}: {value!r} needs a GraphQL name (`names`)")
        members[member] = value
    cls: Any = enum.StrEnum(name, members)  # type: ignore[misc]  # the functional API, with a name known at run time
    graphql_enum = strawberry.enum(cls, name=name, description=sentence(description))
    definition = graphql_enum.__strawberry_definition__  # type: ignore[attr-defined]  # set by strawberry.enum
    for value in definition.values:
        value.description = value_description(name, value.value)
    return graphql_enum


def enum_field(graphql_type: Any, **kwargs: Any) -> Any:
    """A field whose Python value is the REST string and whose GraphQL type is an enum
    (`graphql_type`, optional or not as the field is)."""
    return strawberry.field(graphql_type=graphql_type, **kwargs)


def plain(value: Any) -> Any:
    """An enum argument as the services take it: its REST string."""
    return value.value if isinstance(value, enum.Enum) else value


# --- connections ----------------------------------------------------------------------------------

# The description of every object's `version` field (its row's version column).
VERSION = "the resource's version (its REST ETag): pass it as `expectedVersion` to change it; a stale one is refused"


@strawberry.type(description="Where a page sits in its list (Relay cursor connections)")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Paging forward (`first`/`after`): whether rows follow this page (ask with `after: endCursor`); "
        "paging backward (`last`/`before`): true when `before` was given (that row and the rows after it follow)"
    )
    has_previous_page: bool = strawberry.field(
        description="Paging backward (`last`/`before`): whether rows precede this page (ask with "
        "`before: startCursor`); paging forward: true when `after` was given (the rows up to that cursor came "
        "before), as the Relay specification allows: the rows before it are not counted again"
    )
    start_cursor: str | None = strawberry.field(description="The first edge's cursor; null for an empty page")
    end_cursor: str | None = strawberry.field(description="The last edge's cursor; null for an empty page")


@strawberry.type(description="One object of a list and its position in it")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="This row's position (under `orderBy`, in that order): the same cursor REST's lists take; "
        "use it as `after` or `before` with the same `orderBy`"
    )
    node: T = strawberry.field(description="The object")


@strawberry.type(
    description="A page of a list (a Relay cursor connection): pass `pageInfo.endCursor` as `after` for the next page"
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page's objects with their cursors, in order")
    page_info: PageInfo = strawberry.field(description="Where the page sits in the list")

    @strawberry.field(description="The edges' nodes, without cursors")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


def _bound(value: int, name: str) -> int:
    if value < 1 or value > MAX_LIMIT:
        raise ValidationFailed(
            f"{name} must be between 1 and {MAX_LIMIT}", errors=[{"loc": [name], "msg": f"between 1 and {MAX_LIMIT}"}]
        )
    return value


def _refuse(loc: str, msg: str) -> ValidationFailed:
    return ValidationFailed(msg, errors=[{"loc": [loc], "msg": msg}])


def page_params(first: int | None, after: str | None, last: int | None = None, before: str | None = None) -> PageParams:
    """Relay's paging arguments as the services' `PageParams`: `first` rows after `after`
    (forward, the default: the first 50), or `last` rows before `before` (backward;
    `last` alone: the list's last rows). One direction at a time: `first` with `last`,
    or a cursor of the other direction, is a 422 naming the argument."""
    if first is not None and last is not None:
        raise _refuse("last", "give first (with after) or last (with before), not both")
    for name, cursor in (("after", after), ("before", before)):
        if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
            raise _refuse(name, f"a cursor is at most {MAX_CURSOR_LENGTH} characters")
    if last is not None or before is not None:
        if first is not None:
            raise _refuse("first", "first pages forward: with before, give last")
        if after is not None:
            raise _refuse("after", "after pages forward: with last, give before")
        limit = DEFAULT_LIMIT if last is None else _bound(last, "last")
        return PageParams(limit=limit, cursor=before, backward=True)
    limit = DEFAULT_LIMIT if first is None else _bound(first, "first")
    return PageParams(limit=limit, cursor=after)


def page_info(edges: Sequence[Edge[Any]], has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


def edges_of(
    items: Iterable[Any], has_next: bool, after: str | None, cursor: Callable[[Any], str], convert: Callable[[Any], T]
) -> Connection[T]:
    """A connection of `items` (one forward page, in order), each converted, with its
    cursor: for lists that are not a `Page`."""
    edges = [Edge(cursor=cursor(item), node=convert(item)) for item in items]
    return Connection(edges=edges, page_info=page_info(edges, has_next, after))


def page_connection(page: Page[Any], nodes: Sequence[T], params: PageParams) -> Connection[T]:
    """A page (`kit.pagination`: `paginate`, `paginate_back` or `window`, forward or
    backward as `params` asked) as a connection of `nodes` (`nodes[i]` of `page.items[i]`):
    each edge's cursor is its row's position in the page's order, so it serves as
    `after` and as `before` under the same `orderBy`."""
    edges = [Edge(cursor=page.cursor_at(i), node=node) for i, node in enumerate(nodes)]
    if params.backward:
        has_next, has_previous = params.cursor is not None, page.previous_cursor is not None
    else:
        has_next, has_previous = page.next_cursor is not None, params.cursor is not None
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def connection(page: Page[Any], convert: Callable[[Any], T], params: PageParams) -> Connection[T]:
    """A keyset page (`kit.pagination`) as a connection, each row converted."""
    return page_connection(page, [convert(r) for r in page.items], params)


def nodes_connection(page: Page[Any], nodes: Sequence[T], params: PageParams) -> Connection[T]:
    """A keyset page whose rows are already converted (`nodes[i]` of `page.items[i]`)."""
    return page_connection(page, list(nodes), params)


# --- find and sort (the lists' `q`, `orderBy` and filters) ----------------------------------------


@strawberry.enum(description="The direction of a sort key")
class SortDirection(enum.Enum):
    ASC = strawberry.enum_value("asc", description="Ascending: A to Z, low to high, old to new")
    DESC = strawberry.enum_value("desc", description="Descending: Z to A, high to low, new to old")


def order_input(name: str, sorting: Sorting, description: str) -> Any:
    """The `orderBy` input of a list (`{name}Order`: a `field` of the enum
    `{name}SortField`, generated from the list's `Sorting` whitelist in UPPER_CASE, and a
    `direction`, ascending by default), GitHub's convention. `sort_of` turns a list of
    them into the REST `sort` the service parses. Typed `Any`, as `enum_type`."""
    fields = enum_type(f"{name}SortField", tuple(sorting.names), f"The keys {description} sort by")
    for value in fields.__strawberry_definition__.values:
        value.description = value.description or sentence(f"By `{camel(value.value)}`")
    cls = type(
        f"{name}Order",
        (),
        {
            "__annotations__": {"field": fields, "direction": SortDirection},
            "field": strawberry.field(description="The key to sort by"),
            "direction": strawberry.field(default=SortDirection.ASC, description="ascending by default"),
            "__module__": __name__,
        },
    )
    return strawberry.input(
        cls,
        name=f"{name}Order",
        description=f"One key of the order of {description}: text sorts case-insensitively, NULLs come last "
        "either way, ties fall to the id; several keys apply in turn",
    )


def order_argument(order: Any) -> Any:
    """The `orderBy` argument of a list: a list of its `order_input`."""
    return strawberry.argument(
        graphql_type=list[order] | None,
        description="the order, key by key (each ascending or descending; at most "
        f"{MAX_SORT_KEYS}); the id breaks ties. Without it: the list's default order (creation order; a cycle's "
        "scores by employee). A cursor belongs to the order it was made in: under another orderBy it is refused (422)",
    )


def search_argument(fields: str) -> Any:
    """The `q` argument of a list that searches `fields`."""
    return strawberry.argument(description=f"{search.DESCRIPTION} Searched: {fields}.")


SUBTREE = "with `managerId`: every direct and indirect report of that manager, not only the direct ones"
CHILD_CYCLES = "with `cycleId`: also the rows of every cycle nested in it (a year's quarters and their months)"


def refs(values: Sequence[Any] | None, *kinds: Any, name: str, most: int) -> list[uuid.UUID] | None:
    """A list argument of ids (`ownerIds`) as UUIDs, at most `most` of them (a 422
    naming the argument, as REST's repeated parameter); null stays null."""
    if values is None:
        return None
    if len(values) > most:
        raise _refuse(name, f"at most {most} values")
    return [ref(v, *kinds, loc=[name, i]) for i, v in enumerate(values)]


def sort_of(order_by: Sequence[Any] | None) -> list[str] | None:
    """`orderBy` as the keys a `Sorting` parses (`-` for descending); null or an empty
    list: the list's default order."""
    if not order_by:
        return None
    return [("-" if o.direction is SortDirection.DESC else "") + plain(o.field) for o in order_by]


# REST's query parameters, as a list field's GraphQL arguments name them.
ARGUMENT_NAMES = {"sort": "orderBy", "owner_id": "ownerIds"}


@contextmanager
def list_arguments(params: PageParams | None = None) -> Iterator[None]:
    """Around a list field's service call: a 422 naming a REST query parameter
    (`["query", "owner_id"]`) names the field's argument instead (`["ownerIds"]`), so
    the error says what the GraphQL caller sent; a refused cursor names `after`, or
    `before` when paging backward."""
    cursor = "before" if params is not None and params.backward else "after"
    try:
        yield
    except ValidationFailed as exc:
        for error in exc.extra.get("errors", []):
            loc = list(error.get("loc", ()))
            if len(loc) >= 2 and loc[0] == "query" and isinstance(loc[1], str):
                name = cursor if loc[1] == "cursor" else ARGUMENT_NAMES.get(loc[1], camel(loc[1]))
                error["loc"] = [name, *loc[2:]]
        raise


# --- inputs ---------------------------------------------------------------------------------------


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def validate_input(model: type[M], data: dict[str, Any]) -> M:
    """The same Pydantic model REST validates with (errors as REST's 422)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the input is not valid", errors=validation_errors(list(exc.errors()))) from exc


def input_dict(obj: Any, loc: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """Fields the client actually sent (UNSET ones dropped), so PATCH semantics hold;
    enum values as their REST strings, and references (`ref_field`) as UUIDs."""
    refs = {f.python_name: f.metadata.get(REF) for f in obj.__strawberry_definition__.fields}
    out: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if value is strawberry.UNSET:
            continue
        here = (*loc, camel(name))
        kinds = refs.get(name)
        if kinds and value is not None:
            if isinstance(value, list):
                value = [key_of(str(v), *kinds, loc=[*here, i]).id for i, v in enumerate(value)]
            else:
                value = key_of(str(value), *kinds, loc=list(here)).id
        elif isinstance(value, list):
            value = [_input_value(v, (*here, i)) for i, v in enumerate(value)]
        else:
            value = _input_value(value, here)
        out[name] = value
    return out


def _input_value(value: Any, loc: tuple[str | int, ...]) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "__strawberry_definition__"):  # a nested input object
        return input_dict(value, loc)
    return value
