"""CSV exports of lists, written once: RFC 4180 text streamed in constant memory.

A list that exports (`Accept: text/csv`) prepares its export inside the request (the
caller's rights, the filters, `q`, `sort` and the cursor are all checked there, so every
refusal is still a problem+json answer) and hands back a `CsvExport` whose body reads the
rows while the response is sent: from a session of its own (the request's is closed by
then), in one read-only transaction (REPEATABLE READ on PostgreSQL, so every chunk sees
the same snapshot), `CHUNK` rows per keyset query in the list's own order. Nothing holds
more than one chunk.

The text
--------
UTF-8, a header row, CRLF line ends, fields quoted when they hold a comma, a quote, CR
or LF (quotes doubled): RFC 4180, as Python's `csv` writes it. Cells of text that people
typed (names, titles, codes, emails) are guarded against formula injection: one that
starts with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`, so a spreadsheet shows it
as text instead of running it. Values the service generates (ids, numbers, dates,
statuses) are written as they are; a negative number stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import database
from service.kit.pagination import ID_ORDER, PageParams, SortSpec, paginate

T = TypeVar("T")
CHUNK = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str:
    """Text a person typed, as a cell no spreadsheet runs as a formula."""
    if value and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value or ""


def timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def plain(value: Any) -> str:
    """A generated value as its cell: the text the JSON answer shows for it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, (dt.date, Decimal, uuid.UUID, int)):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, (list, tuple)):
        return ";".join(plain(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column of an export: its header, how a row gives its value, and whether the
    value is text people typed (guarded by `safe_cell`)."""

    name: str
    value: Callable[[T], Any]
    typed: bool = False

    def cell(self, row: T) -> str:
        value = self.value(row)
        return safe_cell(None if value is None else str(value)) if self.typed else plain(value)


def attr(name: str, typed: bool = False, header: str | None = None) -> Column[Any]:
    """A column read from the attribute `name` of each row."""
    return Column(header or name, lambda row: getattr(row, name), typed)


@dataclass(frozen=True)
class CsvExport:
    filename: str
    body: AsyncIterator[bytes]


async def csv_text(columns: Sequence[Column[T]], chunks: AsyncIterator[Iterable[T]]) -> AsyncIterator[bytes]:
    """The header, then each chunk of rows as one piece of the body."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    yield buffer.getvalue().encode()
    async for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([c.cell(row) for c in columns] for row in rows)
        if buffer.tell():
            yield buffer.getvalue().encode()


@asynccontextmanager
async def snapshot_session(replica: bool = False) -> AsyncIterator[AsyncSession]:
    """A session of the export's own, in one read-only transaction: on PostgreSQL
    REPEATABLE READ, so all its chunks read one snapshot of the database. `replica`
    reads from `DATABASE_READ_URL` where one is configured (as the list itself does)."""
    factory = database.read_sessions if replica else database.sessions
    async with factory() as session:
        try:
            if session.get_bind().dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                await session.execute(text("SET TRANSACTION READ ONLY"))
            yield session
        finally:
            await session.rollback()


async def keyset_chunks(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: Any,
    *,
    sort: SortSpec = ID_ORDER,
    cursor: str | None = None,
    core_rows: bool = False,
    size: int | None = None,
) -> AsyncIterator[list[Any]]:
    """`stmt`'s rows in `sort` order from `cursor` on, `size` (default `CHUNK`) per
    query; the ORM objects of a chunk leave the session before the next one is read."""
    params = PageParams(limit=size or CHUNK, cursor=cursor)
    while True:
        page = await paginate(session, stmt, id_column, params, core_rows, sort)
        if page.items:
            yield list(page.items)
        if page.next_cursor is None:
            return
        if not core_rows:
            session.expunge_all()
        params = PageParams(limit=params.limit, cursor=page.next_cursor)
