"""Object identification (Relay's Global Object Identification): the `Node` interface,
global ids, `node(id:)` and `nodes(ids:)`, and the references that arguments and input
fields take.

- Every object with an identity of its own implements `Node` (Strawberry's
  `relay.Node`, through `Entity`): `id: ID!` is its global id, Strawberry's `GlobalID`
  (base64 of `Type:uuid`), opaque to clients and unique across types, and
  `databaseId: UUID!` is the same object's id in REST (`/api/v1/employees/{databaseId}`).
  A scoring policy's global id names one version (`ScoringPolicy:uuid:version`): the
  versions are immutable snapshots, and a client cache keys objects by `id`.
- An argument or input field that names an object is an `ID` and takes either form, the
  global id or the UUID (`ref`): a client passes whatever it holds, an `id`, a
  `databaseId`, a `...Id` field or a REST answer's id. A global id of another type, or a
  value that is neither, is refused with a 422 naming the argument.
- `node`/`nodes` resolve each id through its type's `resolve_nodes`, written with the
  request's dataloaders (`by_loader`: the models' visibility rules) or the module's get_*
  service (`by_service`, a 403 or 404 read as absent): an object the caller may not see,
  and an id of another organization, is null, like an id that never existed. A value
  that is not a global id of a `Node` type is a 422.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, overload

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

from service.errors import DomainError, ValidationFailed
from service.graphql.context import GqlContext
from service.kit.pagination import MAX_LIMIT

Context = Info[GqlContext, None]
E = TypeVar("E", bound="Entity")
R = TypeVar("R")
NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


@dataclass(frozen=True)
class NodeKey:
    """The part of a global id after the type: the UUID, and for a scoring policy the
    version it names."""

    id: uuid.UUID
    qualifier: str | None = None


def global_id(name: str, key: uuid.UUID | str) -> str:
    """The global id of the object of type `name` with this key (Strawberry's encoding)."""
    return str(relay.GlobalID(type_name=name, node_id=str(key)))


def parse_key(node_id: str) -> NodeKey | None:
    raw, _, qualifier = node_id.partition(":")
    try:
        return NodeKey(uuid.UUID(raw), qualifier or None)
    except ValueError:
        return None


def split(value: str) -> tuple[str, str] | None:
    """(type name, node id) of a well-formed global id (strict base64 of `Type:...`)."""
    try:
        text = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        return None
    name, sep, node_id = text.partition(":")
    return (name, node_id) if sep and NAME.match(name) else None


def decode(value: str) -> tuple[str, NodeKey] | None:
    """(type name, key) of a well-formed global id whose node id is a UUID; else None."""
    parts = split(value)
    key = parse_key(parts[1]) if parts else None
    return None if parts is None or key is None else (parts[0], key)


def type_name(cls: type[Any] | str) -> str:
    """The GraphQL name of a type (given as its class, or its name)."""
    if isinstance(cls, str):
        return cls
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__
    return definition.name


def _refused(kinds: Sequence[type[Any] | str], loc: Sequence[str | int] | None) -> ValidationFailed:
    names = " or ".join(type_name(k) for k in kinds)
    msg = f"not the id of a {names}: give its global id (`id`) or its UUID (`databaseId`)"
    return ValidationFailed(msg, errors=[{"loc": list(loc or ["id"]), "msg": msg}])


def key_of(value: str, *kinds: type[Any] | str, loc: Sequence[str | int] | None = None) -> NodeKey:
    """The key a reference names: a global id of one of `kinds`, or a UUID."""
    decoded = decode(value)
    if decoded is not None:
        name, key = decoded
        if name in {type_name(k) for k in kinds}:
            return key
        raise _refused(kinds, loc)
    try:
        return NodeKey(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise _refused(kinds, loc) from None


@overload
def ref(value: str, *kinds: type[Any] | str, loc: Sequence[str | int] | None = None) -> uuid.UUID: ...
@overload
def ref(value: None, *kinds: type[Any] | str, loc: Sequence[str | int] | None = None) -> None: ...
def ref(value: str | None, *kinds: type[Any] | str, loc: Sequence[str | int] | None = None) -> uuid.UUID | None:
    """The UUID an `ID` argument names (None stays None): `value` is a global id of one
    of `kinds` or a UUID; anything else is a 422."""
    return None if value is None else key_of(str(value), *kinds, loc=loc).id


REF = "service.graphql.ref"  # the metadata key of an input field that names an object


def ref_field(*kinds: type[Any] | str, **kwargs: Any) -> Any:
    """An input field that names an object of one of `kinds` (a class, or a GraphQL type
    name for a type defined later): `ID` in the schema, turned into the UUID by
    `input_dict` before the input is validated."""
    kwargs.setdefault("default", strawberry.UNSET)
    return strawberry.field(metadata={REF: kinds}, **kwargs)


@strawberry.type
class Entity(relay.Node):
    """The base of every object type with an identity: `Node` (`id` is the global id)
    and `databaseId`. A subclass implements `load_nodes`, the visible objects of the
    keys `node`/`nodes` ask for (None for the others)."""

    id: relay.NodeID[uuid.UUID]

    @strawberry.field(description="The object's id in REST, a UUID (`id` is the global id)")
    def database_id(self) -> uuid.UUID:
        return self.id

    @classmethod
    async def load_nodes(cls: type[E], info: Context, keys: list[NodeKey]) -> Sequence[E | None]:
        raise NotImplementedError(f"{cls.__name__} does not implement load_nodes")

    @classmethod
    def resolve_nodes(  # type: ignore[override]  # one signature for Strawberry's overloads: always awaitable
        cls: type[E], *, info: Context, node_ids: Iterable[str], required: bool = False
    ) -> Awaitable[Sequence[E | None]]:
        keys = []
        for node_id in node_ids:
            key = parse_key(node_id)
            if key is None:
                raise _refused([cls], ["id"])
            keys.append(key)
        return cls.load_nodes(info, keys)


async def by_loader(
    loader: DataLoader[uuid.UUID, Any], keys: list[NodeKey], convert: Callable[[Any], R]
) -> list[R | None]:
    """Through a by-id dataloader of the request (`info.context.loaders.by_id(Model)`):
    only rows the model's visibility rule shows."""
    rows = await loader.load_many([k.id for k in keys])
    return [None if r is None else convert(r) for r in rows]


async def by_service(keys: list[NodeKey], fetch: Callable[[NodeKey], Awaitable[R | None]]) -> list[R | None]:
    """Through the module's get_* service, one key at a time: a 403 or 404 is absent."""
    out: list[R | None] = []
    for key in keys:
        try:
            out.append(await fetch(key))
        except DomainError as exc:
            if exc.status not in (403, 404):
                raise
            out.append(None)
    return out


def _node_class(info: Context, value: str) -> tuple[type[Entity], str]:
    parts = split(value)
    definition = info.schema.get_type_by_name(parts[0]) if parts else None
    origin = getattr(definition, "origin", None)
    if parts is None or not isinstance(origin, type) or not issubclass(origin, Entity):
        msg = "not a global id: give the `id` of an object that implements Node"
        raise ValidationFailed(msg, errors=[{"loc": ["id"], "msg": msg}])
    return origin, parts[1]


async def resolve(info: Context, ids: Sequence[str]) -> list[Entity | None]:
    """The objects these global ids name, in order (None where the caller sees none),
    one `resolve_nodes` call per type."""
    if len(ids) > MAX_LIMIT:
        msg = f"at most {MAX_LIMIT} ids"
        raise ValidationFailed(msg, errors=[{"loc": ["ids"], "msg": msg}])
    groups: dict[type[Entity], list[tuple[int, str]]] = {}
    for i, value in enumerate(ids):
        cls, node_id = _node_class(info, str(value))
        groups.setdefault(cls, []).append((i, node_id))
    out: list[Entity | None] = [None] * len(ids)
    for cls, members in groups.items():
        found = await cls.resolve_nodes(info=info, node_ids=[n for _, n in members])
        for (i, _), node in zip(members, found, strict=True):
            out[i] = node
    return out


@strawberry.type
class NodeQuery:
    @strawberry.field(description="The object with this global id; null when there is none the caller may see")
    async def node(
        self, info: Context, id: Annotated[strawberry.ID, strawberry.argument(description="A global id (`id`)")]
    ) -> relay.Node | None:
        return (await resolve(info, [id]))[0]

    @strawberry.field(
        description=f"The objects with these global ids, in order (at most {MAX_LIMIT}); null for each "
        "the caller may not see"
    )
    async def nodes(
        self,
        info: Context,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description=f"Global ids (`id`), at most {MAX_LIMIT}")],
    ) -> list[relay.Node | None]:
        return list(await resolve(info, ids))
