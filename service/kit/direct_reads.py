"""Hot single-statement reads that skip the ORM and SQLAlchemy's execution layer.

A `DirectRead(select(...))` is a Core SELECT with named bind parameters, compiled once
per dialect. In a GET or HEAD request on PostgreSQL (asyncpg) it runs straight on an
asyncpg connection, through asyncpg's own prepared-statement cache, and every value goes
through the result processor SQLAlchemy itself would apply (found once, from the
prepared statement's column types), so a row holds exactly the Python values a Core or
ORM read gives: `ExactDecimal`'s plain decimals, aware UTC timestamps, UUIDs. Anywhere
else (SQLite, a write request, PgBouncer mode, `DB_DIRECT_POOL_SIZE=0`) it runs as the
same Core statement on the session. Either way the rows are named tuples, read by
attribute like ORM objects.

A primary-key read through the ORM costs several times the database round trip in
Python (session, identity map, execution context, result metadata, pool checkout); this
is what lets `GET /api/v1/employees/{id}` stay close to a raw asyncpg endpoint
(bench/README.md).

Connection: the request's session's own when it already holds one (what the request read
so far and what it reads now come from one connection); otherwise one of the direct-read
pool (`direct_pool` below), taken for this one statement and given back at once, so a
request never waits for a second connection while it holds a first. Given a request's
context (`Ctx`) rather than a session, a read opens no session at all: the context knows
whether its request only reads (`Ctx.direct_reads`).

Errors: a driver error is not translated here. The statement runs again through
SQLAlchemy (on the same connection, or on one of the engine's), which raises the error
the rest of the service knows (a dead connection is invalidated and the request retried,
a statement timeout answers 503). A read has no side effect, so running it twice is
harmless.
"""

from __future__ import annotations

import asyncio
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from asyncpg import PostgresError
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.config import get_settings
from service.db import DIRECT_READS, Database, engine_options, exclusive
from service.observability import sql_span


class ReadSource(Protocol):
    """What a read needs of a request's context (service/auth/context.py's `Ctx`): its
    session, opened only when asked for, and whether it may read on the driver."""

    @property
    def session(self) -> AsyncSession: ...

    @property
    def session_opened(self) -> bool: ...

    @property
    def direct_reads(self) -> Database | None: ...


@dataclass
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameter names, in $n order
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None  # (index, processor); None: not yet known


class DirectRead:
    def __init__(self, stmt: Select[Any], name: str = "Row") -> None:
        self.stmt = stmt
        # mypy reads namedtuple() only with literal field names; these are known at run time
        row = namedtuple(name, [c.key for c in stmt.selected_columns])  # type: ignore[misc]
        self.row = row
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    async def first(self, source: ReadSource | AsyncSession, **params: Any) -> Any | None:
        rows = await self._run(source, params, one=True)
        return rows[0] if rows else None

    async def all(self, source: ReadSource | AsyncSession, **params: Any) -> list[Any]:
        return await self._run(source, params, one=False)

    # --- internals ---------------------------------------------------------------------------

    async def _run(self, source: ReadSource | AsyncSession, params: dict[str, Any], one: bool) -> list[Any]:
        """`source`: a request's context, whose session is opened only if it must be, or
        a session."""
        if isinstance(source, AsyncSession):
            session: AsyncSession | None = source
            direct: Database | None = source.info.get(DIRECT_READS)
        else:
            session = source.session if source.session_opened else None
            direct = source.direct_reads
        if direct is None:
            plain = source if isinstance(source, AsyncSession) else source.session  # opens the context's session
            return self._rows(await plain.execute(self.stmt, params))
        if session is not None:
            async with exclusive(session):  # one operation at a time on a session (db.SerializedSession)
                if session.in_transaction():  # it holds a connection already: use that one
                    return await self._on_connection(await AsyncSession.connection(session), params, one)
        return await self._on_pool(direct, params, one)

    async def _on_connection(self, conn: AsyncConnection, params: dict[str, Any], one: bool) -> list[Any]:
        driver = (await conn.get_raw_connection()).driver_connection
        try:
            return await self._fetch(conn.dialect, driver, params, one)
        except Exception:  # noqa: BLE001 - SQLAlchemy translates it on the second run
            return self._rows(await conn.execute(self.stmt, params))

    async def _on_pool(self, direct: Database, params: dict[str, Any], one: bool) -> list[Any]:
        engine, pool = direct.engine, None
        try:
            pool = await direct_pool(direct)
            async with pool.acquire() as driver:
                return await self._fetch(engine.dialect, driver, params, one)
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy translates it on the second run
            if pool is not None and not isinstance(exc, PostgresError):
                # not an answer of the server but a connection that failed (a restart, a
                # failover): the pool's other connections are likely gone too
                await pool.expire_connections()
            async with engine.connect() as conn:
                return self._rows(await conn.execute(self.stmt, params))

    async def _fetch(self, dialect: Dialect, driver: Any, params: dict[str, Any], one: bool) -> list[Any]:
        compiled = self._compile(dialect)
        args = [params[n] if p is None else p(params[n]) for n, p in zip(compiled.names, compiled.binds, strict=True)]
        if compiled.results is None:
            statement = await driver.prepare(compiled.sql)
            compiled.results = self._processors(dialect, statement.get_attributes())
        with sql_span(compiled.sql, "postgresql"):
            records = [await driver.fetchrow(compiled.sql, *args)] if one else await driver.fetch(compiled.sql, *args)
        make, processors = self.row._make, compiled.results
        if not processors:
            return [make(r) for r in records if r is not None]
        out = []
        for record in records:
            if record is None:
                continue
            values = list(record)
            for i, process in processors:
                values[i] = process(values[i])
            out.append(make(values))
        return out

    def _rows(self, result: Any) -> list[Any]:
        return [self.row._make(r) for r in result]

    def _compile(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        found = self._compiled.get(key)
        if found is None:
            c = self.stmt.compile(dialect=dialect)
            names = tuple(c.positiontup or ())
            binds = tuple(c.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
            found = self._compiled[key] = _Compiled(sql=c.string, names=names, binds=binds)
        return found

    def _processors(self, dialect: Dialect, attributes: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        out = []
        for i, (column, attribute) in enumerate(zip(self.stmt.selected_columns, attributes, strict=True)):
            process = column.type.dialect_impl(dialect).result_processor(dialect, attribute.type.oid)
            if process is not None:
                out.append((i, process))
        return tuple(out)


# --- the direct-read pools -------------------------------------------------------------------

# one asyncpg pool per database and event loop (a process has one loop; a test run may
# have a second, in a thread); `Database.dispose` closes them
_pools: dict[tuple[int, asyncio.AbstractEventLoop], Any] = {}


async def direct_pool(db: Database) -> Any:
    """The asyncpg pool of direct reads on `db`, opened on first use, with the engine's
    server settings (statement timeout) and statement cache.

    Its own pool, not the engine's: a checkout through SQLAlchemy's pool costs more in
    Python than the statement it runs. A connection goes back without asyncpg's reset
    query (one round trip a read): a direct read is one SELECT outside any transaction
    and changes no session state; asyncpg still rolls back a transaction a failed read
    might have left open."""
    loop = asyncio.get_running_loop()
    key = (id(db), loop)
    pool = _pools.get(key)
    if pool is None:
        import asyncpg

        engine = db.engine
        _, connect = engine.dialect.create_connect_args(engine.url)  # host, port, user... as the engine's
        connect_args = engine_options(statement_timeout_ms=db.statement_timeout_ms)["connect_args"]
        pool = await asyncpg.create_pool(
            **connect,
            min_size=0,
            max_size=get_settings().db_direct_pool_size,
            reset=_no_reset,
            statement_cache_size=connect_args["statement_cache_size"],
            server_settings=connect_args.get("server_settings"),
        )
        if key in _pools:  # another request opened one meanwhile
            await pool.close()
        else:
            _pools[key] = pool
            db.on_dispose(lambda: _close_pools(db))
    return _pools[key]


async def _close_pools(db: Database) -> None:
    """Close `db`'s pools: gracefully on this loop; a pool whose loop is gone is terminated."""
    loop, left = asyncio.get_running_loop(), False
    for key in [k for k in _pools if k[0] == id(db)]:
        owner = key[1]
        if owner is loop:
            await _pools.pop(key).close()
        elif owner.is_closed():  # its loop is gone: nothing can close it gracefully
            _pools.pop(key).terminate()
        else:  # another loop, still running: left to a dispose on that loop
            left = True
    if left:
        db.on_dispose(lambda: _close_pools(db))


async def _no_reset(_connection: Any) -> None:
    """A direct-read connection needs no reset when it goes back (`direct_pool`)."""
