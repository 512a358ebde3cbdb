"""Direct resolvers (service/graphql/direct.py) answer as Strawberry's own do, and only
fields without arguments, extensions or a custom id rule get one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry import relay
from strawberry.permission import BasePermission
from strawberry.types import Info

from service.graphql import direct
from service.graphql.nodes import global_id
from service.graphql.schema import schema as app_schema

ITEM = uuid.UUID("00000000-0000-0000-0000-000000000001")


class Never(BasePermission):
    message = "no"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Item(relay.Node):
    id: relay.NodeID[uuid.UUID]
    title: str
    note: str | None = None
    count: int = 0

    @strawberry.field
    def shout(self) -> str:
        return self.title.upper()

    @strawberry.field
    def where(self, info: Info) -> str:
        return f"{info.path.typename}.{info.field_name}:{self.title}"

    @strawberry.field
    @staticmethod
    def by_root(root: Item) -> str:
        return f"root:{root.title}"

    @strawberry.field
    async def later(self) -> str:
        return f"later:{self.title}"

    @strawberry.field
    def repeat(self, times: int) -> str:
        return self.title * times

    @strawberry.field(permission_classes=[Never])
    def secret(self) -> str | None:
        return "leaked"


@strawberry.type
class Versioned(relay.Node):
    id: relay.NodeID[str]

    @classmethod
    def resolve_id(cls, root: Versioned, *, info: Any) -> str:
        return f"{root.id}:7"


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(id=ITEM, title="ab"), Item(id=uuid.UUID(int=2), title="cd", note="n")]

    @strawberry.field
    def versioned(self) -> Versioned:
        return Versioned(id="v")

    @strawberry.field
    def broken(self) -> list[Item | None]:
        """A non-null field that is null, and a value its scalar refuses."""
        return [Item(id=ITEM, title=None), Item(id=ITEM, title="ok", count="many")]  # type: ignore[arg-type]


QUERY = """{ items { id title note count shout where byRoot later repeat(times: 2) secret }
  versioned { id } broken { id title count } }"""


def _fields(schema: strawberry.Schema) -> dict[str, Any]:
    return {
        f"{t.name}.{n}": f.resolve
        for t in schema._schema.type_map.values()
        if isinstance(t, GraphQLObjectType)
        for n, f in t.fields.items()
    }


async def test_direct_resolvers_answer_as_strawberry_does(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = strawberry.Schema(query=Query)
    fast = strawberry.Schema(query=Query, execution_context_class=direct.ExecutionContext)
    swapped = direct.install(fast)
    expected = await plain.execute(QUERY)
    slow: list[str] = []  # the fields that took graphql-core's own path in `fast`
    base = direct.StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, source: Any, details: Any, path: Any, position: Any) -> Any:
        slow.append(path.key)
        return base(self, parent_type, source, details, path, position)

    monkeypatch.setattr(direct.StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    got = await fast.execute(QUERY)
    # plain scalars are answered on the short way; a null `title` and a bad `count` are not
    assert "note" not in slow and slow.count("id") == 1  # Versioned.id: an id rule of its own
    assert {"title", "count", "shout", "items"} <= set(slow)
    assert slow.count("title") == 1 and slow.count("count") == 1
    # `secret` is refused by its permission; `broken`: a null title, a count that is no Int
    assert expected.data is not None and expected.errors is not None and len(expected.errors) == 4
    assert expected.data["broken"] == [None, None]
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [(e.message, e.path) for e in expected.errors]
    assert got.data is not None
    assert got.data["items"][0]["id"] == global_id("Item", ITEM)
    assert got.data["items"][0]["where"] == "Item.where:ab"
    assert got.data["versioned"]["id"] == global_id("Versioned", "v:7")

    replaced = {name for name, fn in _fields(fast).items() if getattr(fn, "__module__", None) == direct.__name__}
    assert swapped == len(replaced)
    assert {
        "Item.id",
        "Item.title",
        "Item.note",
        "Item.shout",
        "Item.where",
        "Item.byRoot",
        "Item.later",
        "Query.items",
    } <= replaced
    # arguments, a permission class and an id rule of its own keep Strawberry's path
    assert not {"Item.repeat", "Item.secret", "Versioned.id"} & replaced


def test_the_app_schema_answers_plain_fields_directly() -> None:
    resolvers = _fields(app_schema)
    for name in ("Objective.id", "Objective.title", "KeyResult.current", "KeyResult.checkIns", "CheckIn.value"):
        assert resolvers[name].__module__ == direct.__name__, name
    for name in ("ScoringPolicy.id", "Query.objectives", "Query.node"):
        assert resolvers[name].__module__ != direct.__name__, name


@pytest.mark.parametrize("key", [ITEM, "ab:3"])
def test_a_direct_global_id_is_strawberrys_encoding(key: Any) -> None:
    resolve = direct._global_id("id")

    class Source:
        id = key

    class Parent:
        name = "Item"

    class FakeInfo:
        parent_type = Parent

    assert resolve(Source(), FakeInfo()) == str(relay.GlobalID(type_name="Item", node_id=str(key)))
