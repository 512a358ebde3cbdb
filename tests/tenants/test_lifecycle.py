"""The tenant lifecycle round trip (docs/operations.md, "Tenant lifecycle"): the demo
organization exported from the suite's database, imported into a second, empty one
migrated with Alembic, answers the same API requests byte for byte; a second import is
refused and changes nothing; deleting it leaves no row of it and another organization
untouched. The commands run as the operator runs them, in a process of their own."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, func, inspect, select

from service.auth.tokens import issue_token
from service.db import database
from service.demo import DEMO_ORG_ID, load_demo
from service.tenants import lifecycle
from service.tenants.codec import RowCodec
from tests.conftest import bearer, make_org
from tests.tenants import databases

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "service", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


async def counts(org_id: uuid.UUID) -> dict[str, int]:
    """The organization's rows in every table of the current database."""
    out = {}
    async with database.engine.connect() as conn:
        for table in lifecycle.tenant_tables():
            stmt = select(func.count()).select_from(table).where(lifecycle.scope(table, org_id))
            out[table.name] = (await conn.execute(stmt)).scalar_one()
    return out


async def answers(client: httpx.AsyncClient) -> dict[str, bytes]:
    """What the demo organization's admin reads: the directory, OKRs, scores, incentive
    results and the audit log, as the raw bytes of each answer."""
    admin = bearer(issue_token(org_id=DEMO_ORG_ID, sub="admin@northwind.example", roles=["admin"]))
    paths = [
        "/api/v1/organization",
        "/api/v1/employees?limit=500",
        "/api/v1/departments?limit=500",
        "/api/v1/objectives?limit=500",
        "/api/v1/key-results?limit=500",
        "/api/v1/kpi-assignments?limit=500",
        "/api/v1/evaluations?limit=500",
        "/api/v1/incentive-results?limit=500",
        "/api/v1/audit-events?limit=500",
        "/api/v1/cycles?limit=500",
    ]
    cycles = (await client.get("/api/v1/cycles?limit=500", headers=admin)).json()["items"]
    assert cycles
    paths += [f"/api/v1/cycles/{c['id']}/scores?limit=500" for c in cycles]
    out = {}
    for path in paths:
        resp = await client.get(path, headers=admin)
        assert resp.status_code == 200, (path, resp.text)
        out[path] = resp.content
    return out


@pytest.fixture
async def second() -> AsyncIterator[str]:
    url = await databases.create()
    yield url
    await databases.drop(url)


async def test_the_demo_organization_round_trips_between_two_databases(
    client: httpx.AsyncClient, second: str, tmp_path: Path
):
    await load_demo()
    before = await answers(client)
    in_first = await counts(DEMO_ORG_ID)
    assert in_first["audit_events"] and in_first["score_records"] and in_first["incentive_results"]
    assert sum(1 for n in in_first.values() if n) >= 20, in_first

    exported = tmp_path / "org.jsonl.gz"
    done = _cli("org-export", "--org", str(DEMO_ORG_ID), "-o", str(exported), url=os.environ["DATABASE_URL"])
    assert done.returncode == 0, done.stderr
    assert "organization_exported" in done.stderr  # the deployment's log, not the file
    with gzip.open(exported, "rt") as f:
        header = json.loads(f.readline())
    assert header["org_id"] == str(DEMO_ORG_ID) and header["format_version"] == lifecycle.FORMAT_VERSION
    assert header["revision"] and header["exported_at"].endswith("+00:00")

    done = _cli("org-import", str(exported), url=second)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == {k: v for k, v in in_first.items() if v}

    async with databases.serving(second):
        assert await counts(DEMO_ORG_ID) == in_first
        after = await answers(client)
        for path, body in before.items():
            assert after[path] == body, path

        # again: refused, nothing written
        again = _cli("org-import", str(exported), url=second)
        assert again.returncode != 0
        assert "refused, nothing was written" in again.stderr and "already exist" in again.stderr
        assert await counts(DEMO_ORG_ID) == in_first

        # deleted: no row of it anywhere, another organization untouched
        other = await make_org("Stays")
        hr = bearer(issue_token(org_id=other, sub="hr", roles=["hr"]))
        body = {"external_id": "s-1", "email": "s1@example.com", "given_name": "S", "family_name": "One"}
        assert (await client.post("/api/v1/employees", json=body, headers=hr)).status_code == 201
        others = await counts(other)
        refused = _cli("org-delete", "--org", str(DEMO_ORG_ID), "--confirm", str(other), url=second)
        assert refused.returncode != 0 and "--confirm" in refused.stderr
        deleted = _cli("org-delete", "--org", str(DEMO_ORG_ID), "--confirm", str(DEMO_ORG_ID), url=second)
        assert deleted.returncode == 0, deleted.stderr
        assert json.loads(deleted.stdout)["deleted"] == {k: v for k, v in in_first.items() if v}
        assert "organization_deleted" in deleted.stderr
        assert set((await counts(DEMO_ORG_ID)).values()) == {0}
        assert await counts(other) == others
    assert await counts(DEMO_ORG_ID) == in_first  # the first database still has it


async def _export_text(org_id: uuid.UUID) -> list[str]:
    return [line async for chunk in lifecycle.export_lines(database.engine, org_id) for line in chunk.splitlines()]


async def test_an_import_is_refused_whole_when_its_revision_or_rows_do_not_fit(second: str):
    await load_demo()
    lines = await _export_text(DEMO_ORG_ID)
    header = json.loads(lines[0])
    async with databases.serving(second):
        old = json.dumps({**header, "revision": "0001"})
        with pytest.raises(lifecycle.ImportRefused, match="revision 0001"):
            await lifecycle.import_lines(database.engine, [old, *lines[1:]])
        # a row of another organization slipped in
        foreign = json.loads(lines[-1])
        foreign["row"]["org_id"] = str(uuid.uuid4())
        with pytest.raises(lifecycle.BadExportFile, match="another organization"):
            await lifecycle.import_lines(database.engine, [*lines, json.dumps(foreign)])
        # a row the database refuses, at the end: everything before it is rolled back
        twice = lines[-1]
        with pytest.raises(lifecycle.ImportRefused, match="refused a row"):
            await lifecycle.import_lines(database.engine, [*lines, twice])
        for bad, message in (
            (["not json"], "not JSON"),
            (["{}"], "header"),
            ([json.dumps({**header, "format_version": 99})], "format version"),
            ([lines[0], '{"table": "nope", "row": {}}'], "unknown table"),
            ([lines[0], lines[-1], lines[1]], "dependency order"),
            ([lines[0]], "no organization row"),
        ):
            with pytest.raises(lifecycle.BadExportFile, match=message):
                await lifecycle.import_lines(database.engine, bad)
        assert set((await counts(DEMO_ORG_ID)).values()) == {0}
        outcome = await lifecycle.import_lines(database.engine, lines)  # and the file itself is fine
        assert outcome.rows["organizations"] == 1


async def test_every_table_is_exported_or_excluded_with_a_reason():
    async with database.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    exported = {t.name for t in lifecycle.tenant_tables()}
    assert names - exported == set(lifecycle.EXCLUDED), "a table is neither exported nor excluded"
    assert exported - names == set()
    for table in lifecycle.tenant_tables():
        RowCodec(table)  # every column type has a lossless form


def test_a_table_without_org_id_is_refused_until_listed():
    from sqlalchemy import Column, MetaData, String

    meta = MetaData()
    Table("organizations", meta, Column("id", String, primary_key=True))
    Table("global_things", meta, Column("id", String, primary_key=True))
    with pytest.raises(lifecycle.UnscopedTable, match="global_things"):
        lifecycle.tenant_tables(meta)


def test_values_round_trip_losslessly():
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy import JSON, Column, Date, Integer, LargeBinary, MetaData, String, Uuid

    from service.types import ExactDecimal, UtcDateTime

    table = Table(
        "t",
        MetaData(),
        Column("id", Uuid, primary_key=True),
        Column("n", Integer),
        Column("d", ExactDecimal),
        Column("at", UtcDateTime),
        Column("day", Date),
        Column("doc", JSON),
        Column("raw", LargeBinary),
        Column("s", String),
    )
    codec = RowCodec(table)
    row = {
        "id": uuid.uuid4(),
        "n": 2**40,
        "d": Decimal("87.500"),
        "at": dt.datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=dt.UTC),
        "day": dt.date(2026, 2, 28),
        "doc": {"a": [1, "2026-01-01", None], "b": 1.5},
        "raw": b"\x00\xff",
        "s": "Grüße",
    }
    encoded = json.loads(json.dumps(codec.encode(row)))
    assert encoded["d"] == "87.500" and encoded["at"] == "2026-03-01T12:30:00.123456+00:00"
    assert encoded["raw"] == "AP8="
    assert codec.decode(encoded) == row
    with pytest.raises(ValueError, match="t.n"):
        codec.decode({"n": "12"})
    with pytest.raises(ValueError, match="UTC offset"):
        codec.decode({"at": "2026-03-01T12:30:00"})


def test_self_referencing_rows_come_parents_first():
    from service.org.models import Employee

    table: Any = Employee.__table__
    org = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(4)]
    # 0 <- 1 <- 2 <- 3, listed children first
    rows = [{"org_id": org, "id": ids[i], "manager_id": ids[i - 1] if i else None} for i in reversed(range(4))]
    assert [r["id"] for r in lifecycle.parents_first(table, rows)] == ids


async def test_the_export_reads_one_snapshot(client: httpx.AsyncClient):
    """A row written while the export runs (after its first line) is not in it."""
    org = await make_org("Snapshot")
    hr = bearer(issue_token(org_id=org, sub="hr", roles=["hr"]))

    async def hire(key: str) -> str:
        body = {"external_id": key, "email": f"{key}@example.com", "given_name": key, "family_name": "X"}
        resp = await client.post("/api/v1/employees", json=body, headers=hr)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    early = await hire("early")
    lines = lifecycle.export_lines(database.engine, org)
    text = [await anext(lines)]  # the header: the snapshot is taken
    late = await hire("late")
    text += [chunk async for chunk in lines]
    exported = "".join(text)
    assert early in exported and late not in exported


async def test_a_deletion_that_fails_half_way_changes_nothing(client: httpx.AsyncClient):
    """The guard triggers admit the deletion inside its transaction only: when it fails,
    the rows are all back and the guards refuse a deletion again."""
    from sqlalchemy import delete as sql_delete

    from service.kit.models import AuditEvent
    from tests.conftest import statement_hook

    org = await make_org("Half way")
    hr = bearer(issue_token(org_id=org, sub="hr", roles=["hr"]))
    body = {"external_id": "h-1", "email": "h1@example.com", "given_name": "H", "family_name": "One"}
    assert (await client.post("/api/v1/employees", json=body, headers=hr)).status_code == 201
    before = await counts(org)
    assert before["audit_events"]

    def fail_on_employees(statement: str) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM EMPLOYEES"):
            raise RuntimeError("the database went away")

    with statement_hook(fail_on_employees), pytest.raises(RuntimeError, match="went away"):
        async with database.engine.begin() as conn:
            await lifecycle.delete_org(conn, org, actor="test")
    assert await counts(org) == before
    with pytest.raises(Exception, match="append-only"):
        async with database.engine.begin() as conn:
            await conn.execute(sql_delete(AuditEvent.__table__).where(AuditEvent.__table__.c.org_id == org))
    assert await counts(org) == before


GUARDED = ("audit_events", "score_records", "incentive_results", "calibration_sessions", "calibration_members")


async def test_a_deletion_admits_only_its_organizations_rows(client: httpx.AsyncClient):
    """While an organization is being deleted, the guard triggers still refuse to delete
    another organization's rows in that transaction and, on PostgreSQL, the guarded
    tables stay writable for the other organizations (no table lock: migration 0027);
    after it, the guards are whole for everyone."""
    from sqlalchemy import delete as sql_delete
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from service.kit.models import AuditEvent

    audit: Any = AuditEvent.__table__
    going, staying = await make_org("Going"), await make_org("Staying")
    for org in (going, staying):
        hr = bearer(issue_token(org_id=org, sub="hr", roles=["hr"]))
        body = {"external_id": "g-1", "email": "g1@example.com", "given_name": "G", "family_name": "One"}
        assert (await client.post("/api/v1/employees", json=body, headers=hr)).status_code == 201
    kept = await counts(staying)
    assert kept["audit_events"]
    pg = database.engine.dialect.name == "postgresql"

    async with database.engine.begin() as conn:
        await lifecycle.delete_org(conn, going, actor="test")
        if pg:
            with pytest.raises(DBAPIError, match="append-only"):
                async with conn.begin_nested():
                    await conn.execute(sql_delete(audit).where(audit.c.org_id == staying))
            # Another transaction takes each guarded table's write lock meanwhile (an
            # UPDATE that matches no row), without waiting.
            async with database.engine.begin() as other:
                await other.execute(text("SET LOCAL lock_timeout = '2s'"))
                for table in GUARDED:
                    statement = f"UPDATE {table} SET org_id = org_id WHERE org_id = :o AND org_id IS NULL"
                    await other.execute(text(statement), {"o": staying})
    assert set((await counts(going)).values()) == {0}
    assert await counts(staying) == kept
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as conn:
            await conn.execute(sql_delete(audit).where(audit.c.org_id == staying))
    assert await counts(staying) == kept
