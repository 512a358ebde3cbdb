"""Shared GraphQL pieces: Relay-style connections over the keyset paginator, error
shaping, and validation of inputs through the same Pydantic models REST uses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Generic, NewType, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.types import Info
from strawberry.types.scalar import ScalarDefinition

from service.errors import ValidationFailed, validation_errors
from service.graphql.context import GqlContext
from service.kit.pagination import MAX_LIMIT, Page, PageParams

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DecimalString = NewType("DecimalString", str)
JSON = NewType("JSON", object)
MinorUnits = NewType("MinorUnits", int)
SCALARS: dict[object, ScalarDefinition] = {
    DecimalString: strawberry.scalar(
        name="DecimalString",
        description='An exact decimal, as a string ("87.50")',
        serialize=lambda v: str(v),
        parse_value=lambda v: str(Decimal(str(v))),
    ),
    JSON: strawberry.scalar(name="JSON", description="Arbitrary JSON", serialize=lambda v: v, parse_value=lambda v: v),
    MinorUnits: strawberry.scalar(
        name="MinorUnits",
        description="Money as an integer count of the currency's minor units, of any size (GraphQL's Int is 32-bit)",
        serialize=int,
        parse_value=int,
    ),
}

Context = Info[GqlContext, None]

# The description of every object's `version` field (its row's version column).
VERSION = "the resource's version (its REST ETag): pass it as `expected_version` to change it; a stale one is refused"


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


def page_params(first: int | None, after: str | None) -> PageParams:
    limit = 50 if first is None else first
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(
            f"first must be between 1 and {MAX_LIMIT}", errors=[{"loc": ["first"], "msg": f"between 1 and {MAX_LIMIT}"}]
        )
    return PageParams(limit=limit, cursor=after)


def connection(page: Page[Any], convert: Any) -> Connection[Any]:
    from service.kit.pagination import encode_cursor

    edges = [Edge(cursor=encode_cursor(item.id), node=convert(item)) for item in page.items]
    return Connection(
        edges=edges, page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor)
    )


def validate_input(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the input is not valid", errors=validation_errors(list(exc.errors()))) from exc


def input_dict(obj: Any) -> dict[str, Any]:
    """Fields the client actually sent (UNSET ones dropped), so PATCH semantics hold."""
    out: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if value is strawberry.UNSET:
            continue
        if isinstance(value, list):
            value = [input_dict(v) if hasattr(v, "__strawberry_definition__") else v for v in value]
        elif hasattr(value, "__strawberry_definition__"):
            value = input_dict(value)
        out[name] = value
    return out


Date = dt.date
