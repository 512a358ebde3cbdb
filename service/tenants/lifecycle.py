"""Export, import and deletion of one organization, generically over the metadata.

Every table the models declare (service/models.py loads them all) is taken in foreign-key
dependency order (`MetaData.sorted_tables`): `organizations` by its `id`, every other
table by its `org_id`. A table added later is therefore exported, imported and deleted
without a change here; a table that has neither column must be named in `EXCLUDED` with
its reason, or every operation refuses to run (and a test fails).

The file is JSON Lines: a header `{"format", "format_version", "revision", "org_id",
"exported_at", "tables"}`, then one `{"table": ..., "row": {...}}` a row (service/tenants/codec.py
says how values are written). It may be gzipped; `read_lines` accepts either.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import structlog
from sqlalchemy import ColumnElement, MetaData, Table, delete, exists, select, text, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth.context import forget_org
from service.citus import has_citus
from service.db import Base
from service.errors import Conflict, NotFound, ValidationFailed
from service.models import load_all
from service.tenants.codec import RowCodec

log = structlog.get_logger("service.tenants")

FORMAT = "perf-service/organization-export"
FORMAT_VERSION = 1
ROOT_TABLE = "organizations"
# Tables of the database that hold no organization's data, with the reason.
EXCLUDED: dict[str, str] = {
    "alembic_version": "Alembic's bookkeeping: the schema revision, written in the header instead",
}
# The setting that names, for one transaction, the organization whose rows the guard
# triggers let a DELETE remove (migration 0027).
DELETING_ORG = "perf.deleting_org"
BATCH_ROWS = 1000  # rows a bulk INSERT (executemany) carries


class UnscopedTable(RuntimeError):
    """A table without `org_id` that is neither the organizations table nor excluded."""


class ImportRefused(Conflict):
    """The file cannot be imported here; nothing was written."""

    title = "Import refused"


class BadExportFile(ValidationFailed):
    """The file is not an organization export this version can read."""

    title = "Not an organization export"


def metadata() -> MetaData:
    load_all()
    return Base.metadata


def tenant_tables(meta: MetaData | None = None) -> list[Table]:
    """Every table holding an organization's rows, parents before children."""
    tables = []
    for table in (meta or metadata()).sorted_tables:
        if table.name in EXCLUDED:
            continue
        if table.name != ROOT_TABLE and "org_id" not in table.c:
            raise UnscopedTable(f"table {table.name} has no org_id: export it or list it in EXCLUDED with a reason")
        tables.append(table)
    return tables


def scope(table: Table, org_id: uuid.UUID) -> ColumnElement[bool]:
    return (table.c.id if table.name == ROOT_TABLE else table.c.org_id) == org_id


async def schema_revision(conn: AsyncConnection) -> str:
    revisions = sorted((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    return ",".join(revisions)


# --- export -------------------------------------------------------------------------------


def _snapshot_options(conn: AsyncConnection) -> dict[str, Any]:
    """One consistent snapshot: REPEATABLE READ, read-only on PostgreSQL (SQLite: one
    read transaction, opened in `export_lines`)."""
    if conn.dialect.name == "postgresql":
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {}


async def org_exists(conn: AsyncConnection, org_id: uuid.UUID) -> bool:
    orgs = metadata().tables[ROOT_TABLE]
    return bool((await conn.execute(select(exists().where(orgs.c.id == org_id)))).scalar())


async def export_lines(engine: AsyncEngine, org_id: uuid.UUID) -> AsyncIterator[str]:
    """The organization's export, a line at a time (each ends with a newline), read in one
    snapshot. Raises NotFound before the first line when the organization does not exist."""
    tables = tenant_tables()
    async with engine.connect() as base:
        conn = await base.execution_options(**_snapshot_options(base))
        async with conn.begin():
            if conn.dialect.name == "sqlite":
                # the driver opens a transaction only before a write: open it, and make
                # its snapshot now (SQLite takes it at the first read)
                await conn.exec_driver_sql("BEGIN")
                await conn.execute(text("SELECT 1 FROM alembic_version"))
            if not await org_exists(conn, org_id):
                raise NotFound("organization not found")
            header = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "revision": await schema_revision(conn),
                "org_id": str(org_id),
                "exported_at": dt.datetime.now(dt.UTC).isoformat(),
                "tables": [t.name for t in tables],
            }
            yield json.dumps(header) + "\n"
            for table in tables:
                codec = RowCodec(table)
                order = list(table.primary_key.columns)
                stmt = select(table).where(scope(table, org_id)).order_by(*order)
                result = await conn.stream(stmt.execution_options(yield_per=BATCH_ROWS))
                async for partition in result.mappings().partitions():
                    yield "".join(
                        json.dumps({"table": table.name, "row": codec.encode(row)}, separators=(",", ":")) + "\n"
                        for row in partition
                    )
    log.warning("organization_exported", org_id=str(org_id))


async def write_export(engine: AsyncEngine, org_id: uuid.UUID, out: IO[str]) -> None:
    async for chunk in export_lines(engine, org_id):
        out.write(chunk)


def open_output(path: Path) -> IO[str]:
    """A file to write an export to: gzipped when its name ends with `.gz`."""
    if path.suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8")
    return path.open("w", encoding="utf-8")


def read_lines(path: Path) -> Iterator[str]:
    """The lines of an export file, gzipped or not (told by its first bytes)."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rt", encoding="utf-8") if gzipped else path.open(encoding="utf-8") as f:
        yield from f


# --- import -------------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    org_id: uuid.UUID
    rows: dict[str, int] = field(default_factory=dict)


def _parse(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadExportFile(f"line {number}: not JSON ({exc.msg})") from exc


def _header(lines: Iterator[str]) -> tuple[uuid.UUID, str]:
    first = next(lines, None)
    header = _parse(first, 1) if first is not None else None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BadExportFile("the first line is not an organization export header")
    if header.get("format_version") != FORMAT_VERSION:
        raise BadExportFile(f"format version {header.get('format_version')!r}; this version reads {FORMAT_VERSION}")
    try:
        org_id = uuid.UUID(str(header.get("org_id")))
    except ValueError as exc:
        raise BadExportFile("the header has no valid org_id") from exc
    return org_id, str(header.get("revision"))


def _self_references(table: Table) -> list[tuple[list[str], list[str]]]:
    """(referencing columns, referenced columns) of each foreign key of the table to itself."""
    return [
        ([e.parent.name for e in fk.elements], [e.column.name for e in fk.elements])
        for fk in table.foreign_key_constraints
        if fk.referred_table is table
    ]


def parents_first(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a table that references itself (a manager, a parent objective, the
    result a correction adjusts), each after the row it references, so every INSERT
    meets its reference already there, whatever the database checks when."""
    refs = _self_references(table)
    if not refs:
        return rows
    key_columns = refs[0][1]
    pending = {tuple(r[c] for c in key_columns): r for r in rows}
    done: set[tuple[Any, ...]] = set()
    ordered: list[dict[str, Any]] = []
    while pending:
        ready = [
            key
            for key, row in pending.items()
            if all(
                any(row[c] is None for c in cols)
                or (target := tuple(row[c] for c in cols)) in done
                or target not in pending
                or target == key
                for cols, _ in refs
            )
        ]
        if not ready:
            raise ImportRefused(f"{table.name}: the rows reference each other in a cycle")
        for key in ready:
            ordered.append(pending.pop(key))
            done.add(key)
    return ordered


async def _refuse_existing(conn: AsyncConnection, tables: list[Table], org_id: uuid.UUID) -> None:
    for table in tables:
        if (await conn.execute(select(exists().where(scope(table, org_id))))).scalar():
            what = "the organization" if table.name == ROOT_TABLE else f"rows of the organization in {table.name}"
            raise ImportRefused(f"{what} already exist here: the import changes nothing (delete it first)")


async def import_lines(engine: AsyncEngine, lines: Iterable[str]) -> ImportOutcome:
    """Inserts an export in one transaction, ids kept: all of it, or nothing when the
    organization or any of its rows is already here, the schema revision differs, or a
    row is refused by the database."""
    tables = tenant_tables()
    by_name = {t.name: t for t in tables}
    rank = {t.name: i for i, t in enumerate(tables)}
    it = iter(lines)
    org_id, revision = _header(it)
    outcome = ImportOutcome(org_id=org_id, rows=dict.fromkeys(by_name, 0))
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # the checks and the inserts in one write transaction
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            here = await schema_revision(conn)
            if revision != here:
                raise ImportRefused(f"the file is of schema revision {revision}, this database is at {here}")
            await _refuse_existing(conn, tables, org_id)
            await _insert_all(conn, it, by_name, rank, org_id, outcome)
    except (IntegrityError, DataError) as exc:  # a key or unique value taken, a value too long
        raise ImportRefused(f"the database refused a row: {exc.orig}") from exc
    log.warning("organization_imported", org_id=str(org_id), rows=sum(outcome.rows.values()))
    return outcome


async def _insert_all(
    conn: AsyncConnection,
    lines: Iterator[str],
    by_name: dict[str, Table],
    rank: dict[str, int],
    org_id: uuid.UUID,
    outcome: ImportOutcome,
) -> None:
    current: Table | None = None
    batch: list[dict[str, Any]] = []
    codec: RowCodec | None = None

    async def flush() -> None:
        if current is not None and batch:
            rows = parents_first(current, batch) if _self_references(current) else batch
            await conn.execute(current.insert(), rows)
            outcome.rows[current.name] += len(rows)
            batch.clear()

    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        item = _parse(line, number)
        if not isinstance(item, dict) or not isinstance(item.get("row"), dict):
            raise BadExportFile(f"line {number}: not a {{table, row}} object")
        table = by_name.get(str(item.get("table")))
        if table is None:
            raise BadExportFile(f"line {number}: unknown table {item.get('table')!r}")
        if current is None or table is not current:
            if current is not None and rank[table.name] < rank[current.name]:
                raise BadExportFile(f"line {number}: {table.name} after {current.name} (not in dependency order)")
            await flush()
            current, codec = table, RowCodec(table)
        assert codec is not None
        try:
            row = codec.decode(item["row"])
        except ValueError as exc:
            raise BadExportFile(f"line {number}: {exc}") from exc
        if (row.get("id") if table.name == ROOT_TABLE else row.get("org_id")) != org_id:
            raise BadExportFile(f"line {number}: a row of another organization than the header's")
        batch.append(row)
        # a table referencing itself is inserted whole, parents first
        if len(batch) >= BATCH_ROWS and not _self_references(table):
            await flush()
    await flush()
    if not outcome.rows.get(ROOT_TABLE):
        raise BadExportFile("the file holds no organization row")


# --- deletion -----------------------------------------------------------------------------


async def _guards_off(conn: AsyncConnection, tables: list[Table], org_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """Lets, for this transaction only, the triggers that refuse deletions (append-only
    audit log, immutable score records, finalized results and calibrations) admit the
    deletion of this organization's rows; returns what `_guards_on` needs to put back
    before the commit.

    PostgreSQL: the guard functions admit a DELETE of a row of the organization named by
    the transaction's `perf.deleting_org` (migration 0027), so no table is locked for the
    other organizations. On Citus the setting goes with the transaction to the workers,
    where the shards' triggers fire (`citus.propagate_set_commands`)."""
    names = [t.name for t in tables]
    if conn.dialect.name == "postgresql":
        if await conn.run_sync(has_citus):
            await conn.execute(text("SET LOCAL citus.propagate_set_commands = 'local'"))
        await conn.execute(text(f"SET LOCAL {DELETING_ORG} = '{uuid.UUID(str(org_id))}'"))
        return []
    # SQLite cannot disable a trigger: drop it and create it again, inside the transaction
    # (its writer holds the whole database already)
    rows = await conn.execute(
        text("SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%DELETE%'")
    )
    guards = [(table, name, sql) for table, name, sql in rows if table in names]
    for _, name, _ in guards:
        await conn.execute(text(f'DROP TRIGGER "{name}"'))
    return guards


async def _guards_on(conn: AsyncConnection, guards: list[tuple[str, str, str]]) -> None:
    for _, _, sql in guards:
        await conn.exec_driver_sql(sql)


async def delete_org(conn: AsyncConnection, org_id: uuid.UUID, *, actor: str) -> dict[str, int]:
    """Deletes the organization and every row it owns, children first, one set-based
    DELETE a table, in the caller's transaction (committed by the caller). The
    organization's own audit log goes with it; the deletion is recorded in the
    deployment's log (`organization_deleted`, with the actor and the row counts)."""
    tables = tenant_tables()
    orgs = metadata().tables[ROOT_TABLE]
    # the first statement writes: it opens SQLite's write transaction before the trigger DDL
    found = await conn.execute(update(orgs).where(orgs.c.id == org_id).values(version=orgs.c.version))
    if not found.rowcount:
        raise NotFound("organization not found")
    guards = await _guards_off(conn, tables, org_id)
    counts: dict[str, int] = {}
    for table in reversed(tables):
        counts[table.name] = (await conn.execute(delete(table).where(scope(table, org_id)))).rowcount
    await _guards_on(conn, guards)
    forget_org(org_id)
    log.warning("organization_deleted", org_id=str(org_id), actor=actor, rows={k: v for k, v in counts.items() if v})
    return counts
