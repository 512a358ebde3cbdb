"""Keyset pagination, optionally under a sort: cursors are opaque, and stable under
concurrent inserts (a page never repeats or skips a row that existed when the walk
started).

The order
---------
A list is in id order (time-ordered UUIDv7 ids: creation order) unless the caller sorts
it (`sort=family_name,-hire_date`). Each list has a whitelist of sort keys (`Sorting`);
a key is ascending, or descending with a leading `-`, and the id always comes last, in
ascending order, so the order is total and a cursor names one position in it. The same
rules hold on both databases:

- text sorts case-insensitively, in code-point order: `lower(x)` (and `COLLATE "C"` on
  PostgreSQL, whatever the database's own collation). SQLite's `lower()` folds ASCII
  letters only;
- decimals (stored as exact text on SQLite) sort by value: `CAST(x AS REAL)` on SQLite,
  so there two decimals equal in their first 15 significant digits tie (and fall to the
  id); PostgreSQL compares `NUMERIC` exactly;
- NULLs come last, whatever the direction (`NULLS LAST` on both databases), written as
  explicit conditions in the keyset predicate, never left to a database's default.

Cursors
-------
A cursor is base64url JSON. In id order it is `{"id": ...}`, as it has always been (so
cursors handed out before sorting existed still work, and GraphQL's `encode_cursor(id)`
edges stay valid). Under a sort it also holds the sort (`"s"`, normalized, e.g.
`"family_name,-hire_date"`) and the last row's key values (`"k"`), each in a form that
round-trips exactly: decimals and dates as strings, datetimes as ISO 8601 with their
offset. A cursor made under one sort and used under another is a 422 naming the cursor,
never a silently wrong page.

Forward and backward
--------------------
`paginate` walks forward from `params.cursor` (what REST's `?cursor=` is). `paginate_back`
answers the `limit` rows just before a cursor (or the last `limit` rows), in forward
order, with `previous_cursor` set when there are more before them: Relay's
`last`/`before` for GraphQL. REST pages forward only (`next_cursor`).

`window` applies the same order and cursors to rows already in memory, for lists whose
sort keys are computed in Python (the scores of a cycle).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, String, and_, false, literal, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

from service.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# A cursor under a sort carries the last row's key values (a name, an email, a title).
MAX_CURSOR_LENGTH = 2000
MAX_SORT_KEYS = 4
MAX_SORT_LENGTH = 200

Kind = Literal["text", "int", "decimal", "date", "datetime"]
CURSOR_LOC: list[str | int] = ["query", "cursor"]
SORT_LOC: list[str | int] = ["query", "sort"]


class PageOut(BaseModel, Generic[T]):
    """One page of a list, in the list's order. Its OpenAPI name is its item's without the
    `Read` suffix, plus `Page` (`PageOut[EmployeeRead]` is `EmployeePage`), the name
    generated clients give the class, instead of Pydantic's `PageOut_EmployeeRead_`."""

    items: list[T] = Field(description="The rows of this page, at most `limit`, in the list's order")
    next_cursor: str | None = Field(
        description="The `cursor` of the next page (opaque); null when this page reached the end"
    )

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """`EmployeePage` for `PageOut[EmployeeRead]`: see the class's docstring."""
        (item,) = params
        return page_name(getattr(item, "__name__", str(item)))


def page_name(item: str) -> str:
    """The name of a page of `item`s: `EmployeeRead` -> `EmployeePage`."""
    return item.removesuffix("Read") + "Page"


@dataclass
class PageParams:
    """What page to read: `limit` rows after `cursor` (REST's `?cursor=`, GraphQL's
    `after`), or with `backward` the `limit` rows before `cursor` (GraphQL's `last` and
    `before`; without a cursor, the last `limit` rows). Every list that pages with
    `paginate` or `window` reads both directions from the same parameters."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    backward: bool = False


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Rows a page holds, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="Where the page starts: the `next_cursor` of the page before (opaque; made under the "
            "same `sort`)",
        ),
    ] = None,
) -> PageParams:
    """The paging query parameters of a REST list. A coroutine though it awaits nothing:
    FastAPI runs a plain function dependency in a worker thread, a thread hop on every
    list request for two assignments."""
    return PageParams(limit=limit, cursor=cursor)


def _invalid_cursor(msg: str = "invalid cursor", loc: list[str | int] | None = None) -> ValidationFailed:
    return ValidationFailed(msg, errors=[{"loc": loc or CURSOR_LOC, "msg": msg}])


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(cursor: str) -> dict[str, Any]:
    padded = cursor + "=" * (-len(cursor) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def encode_cursor(last_id: uuid.UUID) -> str:
    """The cursor of a row in id order (the default order of every list)."""
    raw = json.dumps({"id": str(last_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(_unb64(cursor)["id"])
    except Exception as exc:  # any malformed cursor is the caller's mistake
        raise _invalid_cursor() from exc


# --- sort keys ---------------------------------------------------------------------------------


class _Folded(FunctionElement[str]):
    """Text as it sorts: case-folded, in code-point order on both databases."""

    type = String()
    name = "folded"
    inherit_cache = True


class _Numeric(FunctionElement[float]):
    """A decimal as it sorts: SQLite stores decimals as exact text (service/types.py)."""

    type = Float()
    name = "numeric_value"
    inherit_cache = True


@compiles(_Folded)
def _folded(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_Folded, "postgresql")
def _folded_pg(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f'lower({compiler.process(element.clauses, **kw)}) COLLATE "C"'


@compiles(_Numeric)
def _numeric(element: _Numeric, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS REAL)"


@compiles(_Numeric, "postgresql")
def _numeric_pg(element: _Numeric, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@dataclass(frozen=True)
class SortKey:
    """One key a list may be sorted by: its public `name`, the SQL expression it reads
    (`column`; None for keys computed in Python, see `window`), how its values compare
    (`kind`) and whether it can be NULL."""

    name: str
    column: Any = None
    kind: Kind = "text"
    nullable: bool = False
    # A key read from another row of the organization (a correlated subquery, such as a
    # person's name): the same expression for one organization given as a constant, which
    # `Sorting.parse(..., org_id=)` puts in its place. Correlated by the row's org_id
    # alone, the subquery keeps a distributed database (Citus) from routing the query to
    # the organization's one shard, and a recursive CTE beside it (a subtree) is refused.
    per_org: Callable[[Any], Any] | None = field(default=None, compare=False)

    def for_org(self, org_id: Any) -> SortKey:
        return replace(self, column=self.per_org(org_id), per_org=None) if self.per_org else self

    def sortable(self, expr: Any) -> Any:
        if self.kind == "text":
            return _Folded(expr)
        if self.kind == "decimal":
            return _Numeric(expr)
        return expr

    def bound(self, value: Any) -> Any:
        """A cursor value as a bound parameter of the column's type, compared like it."""
        return self.sortable(literal(value, type_=self.column.type))

    # -- the value in a cursor --

    def dump(self, value: Any) -> Any:
        if value is None:
            return None
        if self.kind in ("decimal", "date", "datetime"):
            return value.isoformat() if self.kind != "decimal" else str(value)
        return value

    def load(self, raw: Any) -> Any:
        if raw is None:
            if not self.nullable:
                raise ValueError(f"{self.name} cannot be null")
            return None
        if self.kind == "text":
            if not isinstance(raw, str):
                raise ValueError("text expected")
            return raw
        if self.kind == "int":
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ValueError("integer expected")
            return raw
        if not isinstance(raw, str):
            raise ValueError("string expected")
        if self.kind == "decimal":
            value = Decimal(raw)
            if not value.is_finite():
                raise ValueError("finite decimal expected")
            return value
        if self.kind == "date":
            return dt.date.fromisoformat(raw)
        stamp = dt.datetime.fromisoformat(raw)
        if stamp.tzinfo is None:
            raise ValueError("timestamp without offset")
        return stamp.astimezone(dt.UTC)

    # -- comparing in Python (the same order as the SQL one) --

    def python_value(self, value: Any) -> Any:
        return value.lower() if self.kind == "text" and value is not None else value


@dataclass(frozen=True)
class SortSpec:
    """A parsed `sort`: the keys with their direction (True: descending), id last."""

    keys: tuple[tuple[SortKey, bool], ...] = ()

    @property
    def text(self) -> str:
        """The normalized form, as cursors carry it ("" for id order)."""
        return ",".join(("-" if desc else "") + key.name for key, desc in self.keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def names(self) -> set[str]:
        return {key.name for key, _ in self.keys}


ID_ORDER = SortSpec()


class Sorting:
    """The whitelist of one list's sort keys; `parse` reads a caller's `sort`."""

    def __init__(self, *keys: SortKey, default: str | None = None) -> None:
        self.keys = {k.name: k for k in keys}
        self.default = default

    @property
    def names(self) -> list[str]:
        return list(self.keys)

    def parse(
        self,
        raw: str | Sequence[str] | None,
        *,
        refused: Iterable[str] = (),
        loc: list[str | int] | None = None,
        org_id: Any = None,
    ) -> SortSpec:
        """`raw` is REST's comma-separated string or a list of keys (GraphQL); each key
        may start with `-` (descending). `refused` names keys this caller may not sort
        by (a key over values they cannot see): refused like unknown ones. `org_id`: the
        caller's organization, for keys read from other rows of it (`SortKey.per_org`)."""
        loc = loc or SORT_LOC
        if raw is None:
            if self.default is None:
                return ID_ORDER
            raw = self.default
        parts = [p.strip() for p in (raw.split(",") if isinstance(raw, str) else raw)]
        if isinstance(raw, str) and len(raw) > MAX_SORT_LENGTH:
            raise _sort_error(f"sort is longer than {MAX_SORT_LENGTH} characters", loc)
        if not parts or any(not p for p in parts):
            raise _sort_error("sort names one or more keys, comma-separated, none empty", loc)
        if len(parts) > MAX_SORT_KEYS:
            raise _sort_error(f"sort takes at most {MAX_SORT_KEYS} keys", loc)
        blocked = set(refused)
        out: list[tuple[SortKey, bool]] = []
        seen: set[str] = set()
        for part in parts:
            desc = part.startswith("-")
            name = part[1:] if desc else part
            key = self.keys.get(name)
            if key is None or name in blocked:
                allowed = ", ".join(n for n in self.keys if n not in blocked)
                raise _sort_error(f"unknown sort key {name!r}; sort by one or more of: {allowed}", loc)
            if name in seen:
                raise _sort_error(f"sort key {name!r} is given twice", loc)
            seen.add(name)
            out.append((key.for_org(org_id) if org_id is not None else key, desc))
        return SortSpec(tuple(out))

    def describe(self) -> str:
        keys = ", ".join(f"`{n}`" for n in self.keys)
        return (
            f"Sort keys, comma-separated, each ascending or descending with a leading `-` (at most {MAX_SORT_KEYS}): "
            f"{keys}. Text sorts case-insensitively; NULLs come last either way; ties fall to the id. "
            "A cursor belongs to the sort it was made with."
        )

    def pattern(self) -> str:
        """The shape of a valid `sort` (documented in OpenAPI; `parse` is what checks it)."""
        one = "-?(" + "|".join(self.keys) + ")"
        return f"^{one}(,{one}){{0,{MAX_SORT_KEYS - 1}}}$"


def _sort_error(msg: str, loc: list[str | int]) -> ValidationFailed:
    return ValidationFailed(msg, errors=[{"loc": loc, "msg": msg}])


# --- positions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a row stands in a sorted list: its key values and its id."""

    values: tuple[Any, ...]
    id: uuid.UUID


def encode_position(spec: SortSpec, position: Position) -> str:
    if not spec:
        return encode_cursor(position.id)
    values = [key.dump(v) for (key, _), v in zip(spec.keys, position.values, strict=True)]
    return _b64({"id": str(position.id), "s": spec.text, "k": values})


def decode_position(spec: SortSpec, cursor: str) -> Position:
    try:
        data = _unb64(cursor)
        last_id = uuid.UUID(data["id"])
        made_for = data.get("s", "")
        if not isinstance(made_for, str):
            raise ValueError("bad sort")
    except Exception as exc:  # any malformed cursor is the caller's mistake
        raise _invalid_cursor() from exc
    if made_for != spec.text:
        made = f"sort={made_for}" if made_for else "the default order (no sort)"
        wanted = f"sort={spec.text}" if spec else "the default order (no sort)"
        raise _invalid_cursor(f"this cursor was made for {made}, not {wanted}; start again without a cursor")
    if not spec:
        return Position((), last_id)
    try:
        raw = data["k"]
        if not isinstance(raw, list) or len(raw) != len(spec.keys):
            raise ValueError("wrong number of values")
        values = tuple(key.load(v) for (key, _), v in zip(spec.keys, raw, strict=True))
    except Exception as exc:
        raise _invalid_cursor() from exc
    return Position(values, last_id)


# --- pages ---------------------------------------------------------------------------------------


@dataclass
class Page(Generic[T]):
    """One page: `next_cursor` when more rows follow; `previous_cursor` when more rows
    precede (set by a backward page, and by a forward page that started at a cursor).
    `cursor_at(i)` is the position of item i (a Relay edge's cursor)."""

    items: Sequence[T]
    next_cursor: str | None
    previous_cursor: str | None = None
    sort: SortSpec = ID_ORDER
    positions: Sequence[Position] = field(default=(), repr=False)

    def cursor_at(self, index: int) -> str:
        if self.positions:
            return encode_position(self.sort, self.positions[index])
        return encode_cursor(self.items[index].id)  # type: ignore[attr-defined]  # items of an id-ordered page have ids


def _label(i: int) -> str:
    return f"sort_key_{i}"


def _order(spec: SortSpec, id_column: Any, forward: bool) -> list[Any]:
    clauses = []
    for key, desc in spec.keys:
        expr = key.sortable(key.column)
        ascending = desc is not forward  # the walk's direction: backward flips every key
        clause = expr.asc() if ascending else expr.desc()
        if key.nullable:  # NULLs last in the list's order, so first when walking it backward
            clause = clause.nulls_last() if forward else clause.nulls_first()
        clauses.append(clause)
    clauses.append(id_column.asc() if forward else id_column.desc())
    return clauses


def _beyond(spec: SortSpec, id_column: Any, position: Position, forward: bool) -> ColumnElement[bool]:
    """Rows after `position` in the list's order (`forward`), or before it: the keyset
    predicate, with NULLs (last in the order) handled explicitly on both databases."""
    cond: ColumnElement[bool] = id_column > position.id if forward else id_column < position.id
    for (key, desc), value in reversed(list(zip(spec.keys, position.values, strict=True))):
        column = key.column
        if value is None:
            equal: ColumnElement[bool] = column.is_(None)
            # after a NULL come only NULLs; before it, every non-NULL value
            past: ColumnElement[bool] = false() if forward else column.is_not(None)
        else:
            expr, bound = key.sortable(column), key.bound(value)
            equal = expr == bound
            later = (expr < bound) if desc else (expr > bound)
            earlier = (expr > bound) if desc else (expr < bound)
            if forward:
                past = or_(later, column.is_(None)) if key.nullable else later
            else:
                past = earlier  # a NULL compares to nothing, so it is never before a value
        cond = or_(past, and_(equal, cond))
    return cond


async def _fetch(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: Any,
    spec: SortSpec,
    position: Position | None,
    limit: int,
    forward: bool,
    core_rows: bool,
) -> tuple[list[Any], list[Position]]:
    order = _order(spec, id_column, forward)
    if position is None or not spec or position.values[0] is None:
        after = stmt if position is None else stmt.where(_beyond(spec, id_column, position, forward))
        return await _read(session, after.order_by(*order).limit(limit), spec, core_rows)
    # The first key bounds the index range (`_first_bound`); past a nullable key's values
    # come its NULLs, read by a second query only when the page reaches them.
    beyond = _beyond(spec, id_column, position, forward)
    items, positions = await _read(
        session,
        stmt.where(_first_bound(spec, position, forward), beyond).order_by(*order).limit(limit),
        spec,
        core_rows,
    )
    key = spec.keys[0][0]
    if forward and key.nullable and len(items) < limit:
        nulls = stmt.where(key.column.is_(None)).order_by(*order).limit(limit - len(items))
        more, more_positions = await _read(session, nulls, spec, core_rows)
        items, positions = items + more, positions + more_positions
    return items, positions


def _first_bound(spec: SortSpec, position: Position, forward: bool) -> ColumnElement[bool]:
    """The first key's non-NULL values from the position's on, in the walk's direction
    (`_beyond` implies it for every non-NULL row): a plain range on the first key, which
    the database uses as an index bound (a disjunction like `_beyond` is only a filter),
    so page n reads its rows, not the n - 1 pages before it."""
    key, desc = spec.keys[0]
    expr, bound = key.sortable(key.column), key.bound(position.values[0])
    ranged: ColumnElement[bool] = (expr <= bound) if desc is forward else (expr >= bound)
    return ranged


async def _read(
    session: AsyncSession, stmt: Select[Any], spec: SortSpec, core_rows: bool
) -> tuple[list[Any], list[Position]]:
    if not spec:
        result = await session.execute(stmt)
        return list(result.all() if core_rows else result.scalars().all()), []
    stmt = stmt.add_columns(*(key.column.label(_label(i)) for i, (key, _) in enumerate(spec.keys)))
    n = len(spec.keys)
    items: list[Any] = []
    positions: list[Position] = []
    for row in (await session.execute(stmt)).all():
        item = row if core_rows else row[0]
        items.append(item)
        positions.append(Position(tuple(row[len(row) - n :]), item.id))
    return items, positions


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: Any,
    params: PageParams,
    core_rows: bool = False,
    sort: SortSpec = ID_ORDER,
) -> Page[Any]:
    """Run `stmt` (already scoped to what the caller may read) one page at a time, in
    `sort` order (id order by default), from `params.cursor` on. The items are ORM
    objects for a `select(Model)`; with `core_rows`, Core rows of a `select(table)` (the
    same columns, read by attribute, at a fraction of the cost: for lists that are only
    read; under a sort they also carry the key values as `sort_key_<i>`). With
    `params.backward`, the rows before `params.cursor` (`paginate_back`)."""
    if params.backward:
        return await paginate_back(session, stmt, id_column, params.limit, params.cursor, core_rows, sort)
    position = decode_position(sort, params.cursor) if params.cursor else None
    rows, positions = await _fetch(session, stmt, id_column, sort, position, params.limit + 1, True, core_rows)
    return forward_page(rows, params.limit, started=position is not None, sort=sort, positions=positions)


def forward_page(
    rows: Sequence[Any],
    limit: int,
    *,
    started: bool,
    sort: SortSpec = ID_ORDER,
    positions: Sequence[Position] = (),
) -> Page[Any]:
    """The page of a forward walk from up to `limit + 1` rows read in the list's order
    (the extra row only tells that more follow): what `paginate` answers, also for a list
    that reads its rows its own way (service/org/service.py's direct reads of employees).
    `started`: the walk began at a cursor (so rows precede these)."""
    more = len(rows) > limit
    rows, positions = rows[:limit], positions[:limit]
    page: Page[Any] = Page(items=rows, next_cursor=None, sort=sort, positions=positions)
    if more:
        page.next_cursor = page.cursor_at(len(rows) - 1)
    if started and rows:
        page.previous_cursor = page.cursor_at(0)
    return page


async def paginate_back(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: Any,
    limit: int,
    before: str | None = None,
    core_rows: bool = False,
    sort: SortSpec = ID_ORDER,
) -> Page[Any]:
    """The `limit` rows just before the cursor `before` (without it: the last `limit`
    rows), in the list's order. `previous_cursor` is set when more rows precede them (use
    it as the next `before`); `next_cursor` is the last item's position when `before` was
    given (rows follow: at least the one `before` names), for walking forward again."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_LIMIT}", errors=[{"loc": ["limit"], "msg": f"between 1 and {MAX_LIMIT}"}]
        )
    position = decode_position(sort, before) if before else None
    rows, positions = await _fetch(session, stmt, id_column, sort, position, limit + 1, False, core_rows)
    more = len(rows) > limit
    rows, positions = rows[:limit][::-1], positions[:limit][::-1]
    page: Page[Any] = Page(items=rows, next_cursor=None, sort=sort, positions=positions)
    if more and rows:
        page.previous_cursor = page.cursor_at(0)
    if position is not None and rows:
        page.next_cursor = page.cursor_at(len(rows) - 1)
    return page


# --- the same order in memory ----------------------------------------------------------------


def _compare(spec: SortSpec, a: Position, b: Position) -> int:
    for (key, desc), x, y in zip(spec.keys, a.values, b.values, strict=True):
        if x is None or y is None:
            if x is None and y is None:
                continue
            return 1 if x is None else -1  # NULLs last, whatever the direction
        vx, vy = key.python_value(x), key.python_value(y)
        if vx != vy:
            less = vx < vy
            return (1 if less else -1) if desc else (-1 if less else 1)
    return (a.id > b.id) - (a.id < b.id)


def window(
    items: Iterable[T],
    spec: SortSpec,
    position_of: Callable[[T], Position],
    *,
    limit: int,
    after: str | None = None,
    before: str | None = None,
    backward: bool = False,
) -> Page[T]:
    """`items` sorted in the order `paginate` gives in SQL, and one page of them: after
    the cursor `after` (forward), or before `before` (backward, as `paginate_back`;
    `backward` without `before`: the last `limit` items)."""

    def by_position(a: tuple[Position, T], b: tuple[Position, T]) -> int:
        return _compare(spec, a[0], b[0])

    ranked = sorted(((position_of(i), i) for i in items), key=functools.cmp_to_key(by_position))
    if after is not None and before is not None:
        raise _invalid_cursor("give a cursor to page forward or one to page backward, not both")
    if before is not None or backward:
        edge = decode_position(spec, before) if before is not None else None
        ahead = [r for r in ranked if edge is None or _compare(spec, r[0], edge) < 0]
        chosen, more = ahead[-limit:], len(ahead) > limit
        page: Page[T] = Page([i for _, i in chosen], None, sort=spec, positions=[p for p, _ in chosen])
        if more and chosen:
            page.previous_cursor = page.cursor_at(0)
        if edge is not None and chosen:
            page.next_cursor = page.cursor_at(len(chosen) - 1)
        return page
    start = decode_position(spec, after) if after else None
    rest = [r for r in ranked if start is None or _compare(spec, r[0], start) > 0]
    chosen, more = rest[:limit], len(rest) > limit
    page = Page([i for _, i in chosen], None, sort=spec, positions=[p for p, _ in chosen])
    if more and chosen:
        page.next_cursor = page.cursor_at(len(chosen) - 1)
    if start is not None and chosen:
        page.previous_cursor = page.cursor_at(0)
    return page
