"""The GraphQL context: the same request context REST gets, plus per-request
dataloaders so a nested query costs one SQL query per level. The by-id and grouped
loaders read only what the caller may read: each starts from its model's visibility rule
(service/graphql/visibility.py), and a model without one cannot be loaded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import func, select
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from service.auth.context import Ctx
from service.auth.deps import Credentials, get_ctx
from service.graphql import visibility
from service.kit.chunks import chunks


class Loaders:
    """Loaders keyed by entity, created lazily per request. `by_id` and `many_by` answer
    only rows the caller may read (`visibility.statement`): a row they may not see is
    None, a group holds only the visible children. Asking for a model without a
    visibility rule raises `visibility.NoVisibilityRule`."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        self._loaders: dict[str, DataLoader[Any, Any]] = {}

    def by_id(self, model: Any) -> DataLoader[uuid.UUID, Any]:
        name = f"id:{model.__tablename__}"
        if name not in self._loaders:
            visibility.rule(model)  # fail closed, before any query

            async def load(ids: list[uuid.UUID]) -> list[Any]:
                rows = await _fetch(self._ctx, model, model.id, ids)
                by_key = {r.id: r for r in rows}
                return [by_key.get(i) for i in ids]

            self._loaders[name] = DataLoader(load_fn=load)
        return self._loaders[name]

    def many_by(
        self, model: Any, column_name: str, order: Callable[[Any], Any] | None = None
    ) -> DataLoader[uuid.UUID, list[Any]]:
        """Children grouped by a foreign key column (e.g. key results by objective)."""
        name = f"many:{model.__tablename__}:{column_name}"
        if name not in self._loaders:
            visibility.rule(model)  # fail closed, before any query
            column = getattr(model, column_name)

            async def load(keys: list[uuid.UUID]) -> list[list[Any]]:
                rows = await _fetch(self._ctx, model, column, keys)
                grouped: dict[Any, list[Any]] = {k: [] for k in keys}
                for r in rows:
                    grouped.setdefault(getattr(r, column_name), []).append(r)
                if order is not None:
                    for v in grouped.values():
                        v.sort(key=order)
                return [grouped.get(k, []) for k in keys]

            self._loaders[name] = DataLoader(load_fn=load)
        return self._loaders[name]

    def owned_by(
        self,
        model: Any,
        column_name: str,
        *,
        where: tuple[Any, ...] = (),
        where_name: str = "",
        bound: int,
    ) -> DataLoader[uuid.UUID, list[Any]]:
        """`many_by` for the lists on a type (an employee's objectives, key results...):
        the visible rows whose `column_name` is the key and that meet `where` (SQL
        conditions, named by `where_name` so each distinct filter has its own loader),
        at most `bound` per key (the first by id: a window in the same statement), in id
        order. One statement per batch of keys."""
        name = f"owned:{model.__tablename__}:{column_name}:{where_name}:{bound}"
        if name not in self._loaders:
            visibility.rule(model)  # fail closed, before any query

            async def load(keys: list[uuid.UUID]) -> list[list[Any]]:
                rows = await _fetch(self._ctx, model, getattr(model, column_name), keys, where=where, bound=bound)
                grouped: dict[Any, list[Any]] = {k: [] for k in keys}
                for r in rows:
                    grouped.setdefault(getattr(r, column_name), []).append(r)
                for v in grouped.values():
                    v.sort(key=lambda r: r.id)
                return [grouped.get(k, []) for k in keys]

            self._loaders[name] = DataLoader(load_fn=load)
        return self._loaders[name]

    def custom(self, name: str, factory: Callable[[Ctx], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        if name not in self._loaders:
            self._loaders[name] = factory(self._ctx)
        return self._loaders[name]


async def _fetch(
    ctx: Ctx,
    model: Any,
    column: Any,
    keys: Iterable[Any],
    *,
    where: tuple[Any, ...] = (),
    bound: int | None = None,
) -> list[Any]:
    """The visible rows (the model's visibility rule) whose `column` is among `keys`, as
    Core rows over the model's table, not ORM objects: the same columns, read by
    attribute, without the ORM's per-object bookkeeping (identity map, instrumented
    attributes), which costs more than GraphQL's own work on a page of thousands.
    Resolvers only read them; changes go through the services."""
    keys = list(dict.fromkeys(k for k in keys if k is not None))
    if not keys:
        return []
    table = model.__table__
    visible = await visibility.statement(ctx, model)
    if table not in visible.columns_clause_froms:
        raise TypeError(f"the visibility rule of {model.__name__} does not select from {table.name}")
    # the table's columns from the rule's statement, and the organization once more: a
    # rule that forgot it still cannot read another tenant's rows
    stmt = visible.with_only_columns(*table.c).where(table.c.org_id == ctx.org_id, *where)
    key_column = table.c[column.key]
    out: list[Any] = []
    for chunk in chunks(keys):
        part = stmt.where(key_column.in_(chunk))
        if bound is not None:  # the first `bound` of each key, in the same statement
            rank = func.row_number().over(partition_by=key_column, order_by=table.c.id).label("rank_in_key")
            ranked = part.add_columns(rank).subquery()
            part = select(*(ranked.c[c.name] for c in table.c)).where(ranked.c.rank_in_key <= bound)
        res = await ctx.session.execute(part)
        out.extend(res.all())
    return out


class GqlContext(BaseContext):
    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.loaders = Loaders(ctx)


def once_per_node(node: Any, make: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
    """A value computed once per GraphQL node, however many of its fields ask for it (a
    key result's current, progress, score and pace come from one computed view), also
    when they ask at the same moment. It lives on the node, so a node made after a
    mutation computes afresh."""
    found = node.__dict__.get("_computed_once")
    if found is None:
        found = node.__dict__["_computed_once"] = asyncio.ensure_future(make())
    return found


def ide_page(method: str, query: Mapping[str, Any], accept: str) -> bool:
    """Whether a request asks for the GraphiQL page, not for an operation: a GET without
    a `query` parameter that accepts HTML (Strawberry's rule; the router's
    `should_render_graphql_ide` is this function, so the two cannot disagree)."""
    return method == "GET" and query.get("query") is None and ("text/html" in accept or "*/*" in accept)


async def _request_ctx(request: Request, credentials: Credentials) -> AsyncIterator[Ctx | None]:
    """The request context REST gets (`get_ctx`: the session, the verified caller), but
    none for the GraphiQL page: static HTML that needs neither, so it opens without a
    token (its header editor sends `Authorization` with the queries). Every operation,
    over GET or POST, is authenticated as before: without a token, a 401."""
    if ide_page(request.method, request.query_params, request.headers.get("accept", "")):
        yield None
        return
    async with asynccontextmanager(get_ctx)(request, credentials) as ctx:
        yield ctx


OperationCtx = Annotated[Ctx | None, Depends(_request_ctx, scope="function")]


async def get_context(ctx: OperationCtx) -> GqlContext | None:
    return None if ctx is None else GqlContext(ctx)
