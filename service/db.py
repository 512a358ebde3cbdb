"""Engines, the request session, and the declarative base.

The request's session dependency is the only place that commits: services add and
flush, so a use case that spans several services is atomic by construction.

A GET or HEAD only reads: its session runs each statement on its own, without BEGIN and
COMMIT (autocommit), two round trips fewer a request. Under PostgreSQL's READ COMMITTED
every statement sees its own snapshot anyway, so the reads see exactly what they would
inside a transaction. A write attempted in such a session is a bug and raises
`ReadOnlyViolation` (a 500, which the fuzzers and tests would find).

Behind PgBouncer in transaction mode (`DB_PGBOUNCER`) the reads run in a transaction
after all: asyncpg prepares a statement and runs it in two round trips, and without an
open transaction PgBouncer may hand the second to another server connection, where the
statement does not exist (SQLSTATE 26000). The suite runs through a real PgBouncer
(tests/pgbouncer.py), which is how this was found.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Connection, ForeignKeyConstraint, Integer, MetaData, Table, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, declared_attr, mapped_column
from starlette.requests import Request

from service.config import get_settings
from service.types import new_id

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Indexes the migrations create only where the database can have them (the GIN trigram
# indexes of migration 0014 need PostgreSQL's pg_trgm): not in the models, so the schema
# comparison of migrations and models (and autogenerate) leaves them out by name.
OPTIONAL_INDEXES = frozenset({"ix_employees_search", "ix_objectives_title_search"})


def include_in_comparison(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's `include_object`: everything but the optional indexes."""
    return not (type_ == "index" and name in OPTIONAL_INDEXES)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model maps a Table (none maps a select or a join); SQLAlchemy types the
    # attribute as the more general FromClause, which has no insert() or update().
    __table__: ClassVar[Table]


class TenantMixin:
    """Every tenant table is keyed by (org_id, id): it distributes by organization."""

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


def tenant_fk(column: str, table: str, **options: Any) -> ForeignKeyConstraint:
    """A reference inside one organization: `(org_id, column)` to `table (org_id, id)`,
    so a row can never point at another tenant's row (and Citus co-locates the join)."""
    return ForeignKeyConstraint(["org_id", column], [f"{table}.org_id", f"{table}.id"], **options)


class Versioned:
    """A version counter, 1 on insert and one more on every UPDATE: the resource's ETag,
    and SQLAlchemy's `version_id_col`, so of two writers that read the same version only
    the first can write (service/kit/etag.py)."""

    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class SerializedSession(AsyncSession):
    """An AsyncSession whose operations never overlap.

    GraphQL resolves sibling fields, and the batches of different dataloaders, as
    concurrent tasks over the request's one session; AsyncSession forbids concurrent
    operations (the first two to need a connection fail with "provisioning a new
    connection"). Each operation here waits for the previous one instead. Only the
    operations that enter the sync session directly take the lock (`scalars` goes
    through `execute`), so it is never taken twice by one task.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._serial = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().scalar(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().get(*args, **kwargs)

    async def get_one(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().get_one(*args, **kwargs)

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        async with self._serial:
            await super().refresh(*args, **kwargs)

    async def delete(self, instance: object) -> None:
        async with self._serial:
            await super().delete(instance)

    async def delete_all(self, instances: Any) -> None:
        async with self._serial:
            await super().delete_all(instances)

    async def merge(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().merge(*args, **kwargs)

    async def merge_all(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().merge_all(*args, **kwargs)

    async def flush(self, objects: Any = None) -> None:
        async with self._serial:
            await super().flush(objects)

    async def connection(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().connection(*args, **kwargs)

    async def run_sync(self, *args: Any, **kwargs: Any) -> Any:
        async with self._serial:
            return await super().run_sync(*args, **kwargs)

    async def commit(self) -> None:
        """Runs the transaction's before-commit steps (`add_before_commit`), then commits."""
        while hooks := self.info.pop(BEFORE_COMMIT, None):
            for hook in hooks:
                await hook(self)
        async with self._serial:
            await super().commit()

    async def rollback(self) -> None:
        self.info.pop(BEFORE_COMMIT, None)
        async with self._serial:
            await super().rollback()


BEFORE_COMMIT = "before_commit"


def add_before_commit(session: Any, hook: Callable[[Any], Awaitable[None]]) -> None:
    """Run `hook(async_session)` when the session's transaction is about to commit, once
    (a step that writes more may add itself again). `session` is the AsyncSession or its
    sync Session (they share `info`). Used to keep stored scores fresh
    (service/scoring/freshness.py)."""
    hooks = session.info.setdefault(BEFORE_COMMIT, [])
    if hook not in hooks:
        hooks.append(hook)


def exclusive(session: AsyncSession) -> Any:
    """The session to oneself while working on its connection outside its own methods
    (service/kit/direct_reads.py); call the plain `AsyncSession` methods inside."""
    lock = getattr(session, "_serial", None)
    return lock if lock is not None else contextlib.nullcontext()


class ReadOnlyViolation(RuntimeError):
    """A write in the session of a GET or HEAD."""


class ReadOnlySyncSession(Session):
    """The sync side of a read request's session: refuses every write."""


@event.listens_for(ReadOnlySyncSession, "do_orm_execute")
def _refuse_write_statements(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyViolation("a GET or HEAD request tried to write")


@event.listens_for(ReadOnlySyncSession, "before_flush")
def _refuse_flushes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyViolation("a GET or HEAD request tried to write")


READ_METHODS = frozenset({"GET", "HEAD"})
# session.info key of a read-only session: its `Database.direct_reads`
DIRECT_READS = "direct_reads"


class Database:
    """Holds the process's engines and session factories, created on first use.

    `sessions` is the primary (reads and writes); `read_sessions` goes to the read replica
    of `DATABASE_READ_URL` when one is set, else to the primary. Only reads that tolerate
    the replica's lag use it (docs/operations.md, "Scale-out design").
    """

    def __init__(
        self, url: str | None = None, read_url: str | None = None, statement_timeout_ms: int | None = None
    ) -> None:
        self._url = url
        self._read_url = read_url
        self._statement_timeout_ms = statement_timeout_ms  # None: DB_STATEMENT_TIMEOUT_MS
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._read_engine: AsyncEngine | None = None
        self._read_sessions: async_sessionmaker[AsyncSession] | None = None
        self._reader_sessions: async_sessionmaker[AsyncSession] | None = None
        # what else holds connections to this database (the direct-read pools of
        # service/kit/direct_reads.py): closed by `dispose`
        self._on_dispose: list[Callable[[], Awaitable[None]]] = []

    @property
    def url(self) -> str:
        return self._url or get_settings().effective_database_url

    @property
    def read_url(self) -> str | None:
        return self._read_url or get_settings().database_read_url

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = self._make(self.url, "primary")
        return self._engine

    @property
    def read_engine(self) -> AsyncEngine:
        if not self.read_url:
            return self.engine
        if self._read_engine is None:
            self._read_engine = self._make(self.read_url, "read")
        return self._read_engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=SerializedSession)
        return self._sessions

    @property
    def direct_reads(self) -> Database | None:
        """This database, when read-only requests may read from it straight on the driver:
        the primary on asyncpg; not behind PgBouncer (asyncpg's own prepared statements
        would not survive transaction pooling), with `DB_DIRECT_POOL_SIZE=0` or on SQLite."""
        settings = get_settings()
        if settings.db_pgbouncer or settings.db_direct_pool_size <= 0 or self.engine.dialect.driver != "asyncpg":
            return None
        return self

    @property
    def reader_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions of GET and HEAD requests on the primary: autocommit (in a transaction
        behind PgBouncer, see the module docstring), writes refused."""
        if self._reader_sessions is None:
            engine = (
                self.engine
                if get_settings().db_pgbouncer
                else self.engine.execution_options(isolation_level="AUTOCOMMIT")
            )
            self._reader_sessions = async_sessionmaker(
                engine,
                expire_on_commit=False,
                class_=SerializedSession,
                sync_session_class=ReadOnlySyncSession,
                info={DIRECT_READS: self.direct_reads},
            )
        return self._reader_sessions

    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]:
        if not self.read_url:
            return self.sessions
        if self._read_sessions is None:
            self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False, class_=SerializedSession)
        return self._read_sessions

    @property
    def statement_timeout_ms(self) -> int:
        found = self._statement_timeout_ms
        return get_settings().db_statement_timeout_ms if found is None else found

    def _make(self, url: str, pool: str) -> AsyncEngine:
        from service.observability import instrument_pool

        engine = make_engine(url, statement_timeout_ms=self.statement_timeout_ms)
        instrument_pool(engine, pool)
        return engine

    def on_dispose(self, close: Callable[[], Awaitable[None]]) -> None:
        """Have `dispose` await `close` too (once): for pools opened beside the engines."""
        self._on_dispose.append(close)

    async def dispose(self) -> None:
        closers, self._on_dispose = self._on_dispose, []
        for close in closers:
            await close()
        for engine in (self._engine, self._read_engine):
            if engine is not None:
                await engine.dispose()
        self._engine = self._read_engine = None
        self._sessions = self._read_sessions = self._reader_sessions = None


def engine_options(*, statement_timeout_ms: int = 0) -> dict[str, Any]:
    """Keyword arguments of `create_async_engine` for a PostgreSQL URL.

    Behind PgBouncer in transaction mode (`DB_PGBOUNCER`) a connection carries no session
    state between transactions: asyncpg's prepared-statement caches are off, prepared
    statements get unique names, and no startup parameters are sent (PgBouncer refuses
    unknown ones), so the statement timeout is set on the database role instead.
    """
    settings = get_settings()
    cache_size = 0 if settings.db_pgbouncer else settings.db_statement_cache_size
    connect_args: dict[str, Any] = {"statement_cache_size": cache_size, "prepared_statement_cache_size": cache_size}
    if settings.db_pgbouncer:
        connect_args["prepared_statement_name_func"] = _unique_statement_name
    elif statement_timeout_ms > 0:
        connect_args["server_settings"] = {"statement_timeout": str(int(statement_timeout_ms))}
    return {
        "echo": settings.db_echo,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_seconds,
        "pool_recycle": settings.db_pool_recycle_seconds,
        "pool_pre_ping": settings.db_pool_pre_ping,
        "connect_args": connect_args,
    }


BULK_WORK_MEM = "64MB"


async def bulk_read_settings(session: AsyncSession) -> None:
    """For the rest of the session's transaction on PostgreSQL: sort and hash a whole
    cycle's rows in memory (`work_mem`; the default 4 MB spills them to disk) and plan
    without JIT compilation (it costs ~0.1 s a statement and gains nothing on these
    queries). `SET LOCAL` ends with the transaction; SQLite has neither setting."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL work_mem = '{BULK_WORK_MEM}'"))
        await session.execute(text("SET LOCAL jit = off"))


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def make_engine(url: str, *, statement_timeout_ms: int = 0) -> AsyncEngine:
    """The API's engines pass `statement_timeout_ms`; migrations run without a timeout."""
    settings = get_settings()
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=settings.db_echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - driver hook
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, **engine_options(statement_timeout_ms=statement_timeout_ms))


async def run_on(url: str, fn: Callable[[Connection], T]) -> T:
    """`fn(connection)` on an engine of its own to the database at `url` (not the
    process's), in one committed transaction."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


database = Database()


class RequestSession:
    """Opens the request's session on first call and returns it on every call.
    `direct_reads`: for a read-only request on PostgreSQL, the database that
    service/kit/direct_reads.py may read from without opening a session."""

    __slots__ = ("_factory", "session", "direct_reads")

    def __init__(self, reads: bool) -> None:
        self._factory = database.reader_sessions if reads else database.sessions
        self.session: AsyncSession | None = None
        self.direct_reads = database.direct_reads if reads else None

    def __call__(self) -> AsyncSession:
        if self.session is None:
            self.session = self._factory()
        return self.session


@contextlib.asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[RequestSession]:
    """The request's session, opened on first use: one transaction per request,
    committed on success and rolled back on any error, then the after-commit callbacks
    run. A GET or HEAD reads without a transaction (see above). A request that never
    asked for its session has nothing to close."""
    reads = request.method in READ_METHODS
    opener = RequestSession(reads)
    try:
        yield opener
        if opener.session is not None and not reads:
            await opener.session.commit()
    except BaseException:
        if opener.session is not None and not reads:
            await opener.session.rollback()
        raise
    finally:
        if opener.session is not None:
            await opener.session.close()
    if opener.session is not None:
        for callback in opener.session.info.pop("after_commit", []):
            callback()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session, for a route that needs no caller (`/oauth/token`)."""
    async with request_session(request) as session:
        yield session()
