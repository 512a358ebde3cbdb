"""Direct resolvers: the same answers as Strawberry's, for far less work a field.

Strawberry wraps every field with a resolver in the same machinery, whatever the field
needs: it builds an `Info`, converts the arguments, chains the field extensions (with
`functools.reduce` and `partial`, also when there are none) and calls the resolver
through two more layers; a field without a resolver goes through three calls to end in
`getattr`. On a page of 1,000 objectives with their key results and check-ins (about
47,000 fields, `bench/http_load.py --only graphql`) that machinery took more time than
graphql-core's own execution.

`install` replaces, after the schema is built, the graphql-core resolver of each field
whose Strawberry definition has nothing that machinery is for, with a plain function
that does the same:

- a field without a resolver (and no extension): `getattr(source, name)`, as
  Strawberry's default resolver;
- a field whose resolver takes no GraphQL argument, has no field extension (a
  permission class is one) and no exception handler: the resolver is called with the
  parent as `self`, `root` or `parent`, and an `Info` when it asks for one, exactly the
  values Strawberry would pass; an awaitable it returns is awaited by graphql-core, as
  Strawberry's async wrapper would;
- `id` of a `Node` type that keeps Strawberry's `resolve_id` and `resolve_typename`:
  the global id as a string, base64 of `Type:id` (what `GlobalID` serializes to),
  without building a `GlobalID` per object. A type that overrides either (a scoring
  policy's id names its version) keeps Strawberry's resolver.

A scalar or enum field among the first and the last of these (an attribute, a global id)
also skips graphql-core's per-field work (`ExecutionContext`, the schema's execution
context): its value is read and coerced for output at once, without the resolve info,
the awaitable checks and the completion steps graphql-core builds for every field.
Anything unusual on the way (None for a non-null field, an exception, a value the scalar
refuses) goes through graphql-core's own path, which answers it as before.

Everything else (fields with arguments, extensions, subscriptions) keeps Strawberry's
resolver. The schema itself (SDL, types, descriptions) is untouched, and so are the
schema extensions: the depth, alias, token and cost limits validate the document before
any resolver runs, and an extension's `resolve` hook is graphql-core middleware, which
wraps whichever resolver the field has.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, cast

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    Undefined,
)
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

Resolver = Callable[..., Any]


def _attribute(name: str) -> Resolver:
    def value_of(source: Any, _parent: GraphQLObjectType) -> Any:
        return getattr(source, name)

    def resolve(source: Any, _info: GraphQLResolveInfo) -> Any:
        return getattr(source, name)

    resolve.value_of = value_of  # type: ignore[attr-defined]
    return resolve


def _global_id(attr: str) -> Resolver:
    def value_of(source: Any, parent: GraphQLObjectType) -> str:
        return base64.b64encode(f"{parent.name}:{getattr(source, attr)}".encode()).decode()

    def resolve(source: Any, info: GraphQLResolveInfo) -> str:
        return value_of(source, info.parent_type)

    resolve.value_of = value_of  # type: ignore[attr-defined]
    return resolve


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with the short way for plain leaf fields (see the
    module's docstring): `install` marks them with `leaf` (the scalar's or enum's output
    coercion and whether null is allowed) beside `value_of`."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        leaf = getattr(field_def.resolve, "leaf", None) if field_def is not None else None
        middleware = self.middleware_manager  # Strawberry makes one per request, often empty
        if leaf is not None and (middleware is None or not middleware.middlewares):
            coerce, nullable = leaf
            try:
                value = field_def.resolve.value_of(source, parent_type)  # type: ignore[union-attr]
                if value is None:
                    if nullable:
                        return None
                elif not isinstance(value, Exception):
                    coerced = coerce(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # noqa: S110  # graphql-core's path below answers it as a field error
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def _mark_leaf(resolve: Resolver, graphql_field: GraphQLField) -> None:
    """Marks a plain resolver of a scalar or enum field for `ExecutionContext`."""
    if not hasattr(resolve, "value_of"):
        return
    field_type = graphql_field.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        resolve.leaf = (named.coerce_output_value, nullable)  # type: ignore[attr-defined]


def _call(field: StrawberryField, info_class: type[Any]) -> Resolver | None:
    """A direct call of the field's resolver, or None when Strawberry's path is needed."""
    resolver = field.base_resolver
    if resolver is None or field.arguments or resolver.parent_parameter is not None:
        return None
    func = cast(Resolver, resolver.wrapped_func)  # a static or class method is bound when the type is made
    by_self = resolver.self_parameter is not None
    root = resolver.root_parameter.name if resolver.root_parameter is not None else None
    wants_info = resolver.info_parameter.name if resolver.info_parameter is not None else None
    if root is None and wants_info is None:
        if by_self:
            return lambda source, _info: func(source)
        return lambda _source, _info: func()
    if root is None and by_self and wants_info is not None:
        name = wants_info

        def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
            return func(source, **{name: info_class(_raw_info=info, _field=field)})

        return resolve

    def resolve_any(source: Any, info: GraphQLResolveInfo) -> Any:
        kwargs: dict[str, Any] = {}
        if root is not None:
            kwargs[root] = source
        if wants_info is not None:
            kwargs[wants_info] = info_class(_raw_info=info, _field=field)
        return func(source, **kwargs) if by_self else func(**kwargs)

    return resolve_any


def _node_id(origin: Any) -> Resolver | None:
    """The direct `id` of a Node type that keeps Strawberry's id and type name rules."""
    if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        return None
    if origin.resolve_id.__func__ is not relay.Node.resolve_id.__func__:  # type: ignore[attr-defined]
        return None
    if origin.resolve_typename.__func__ is not relay.Node.resolve_typename.__func__:  # type: ignore[attr-defined]
        return None
    return _global_id(origin.resolve_id_attr())


def direct(field: StrawberryField, graphql_field: GraphQLField, info_class: type[Any]) -> Resolver | None:
    """The direct resolver for one field, or None to keep Strawberry's."""
    if field.extensions or field.is_subscription or graphql_field.subscribe is not None:
        return None
    if field.base_resolver is None:
        return _attribute(field.python_name)
    return _call(field, info_class)


def install(schema: strawberry.Schema) -> int:
    """Swaps in the direct resolvers (see the module's docstring); returns how many."""
    if schema.schema_converter._exception_handler_specs:  # handlers need Strawberry's path
        return 0
    info_class = schema.config.info_class
    swapped = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        definition = (graphql_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        for name, graphql_field in graphql_type.fields.items():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField):
                continue
            found = (
                _node_id(definition.origin)
                if name == "id" and field.python_name == "_id" and not field.extensions
                else direct(field, graphql_field, info_class)
            )
            if found is not None:
                _mark_leaf(found, graphql_field)
                graphql_field.resolve = found
                swapped += 1
    return swapped
