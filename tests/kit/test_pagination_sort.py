"""Keyset pagination under a sort (service/kit/pagination.py), on a probe table with
every kind of key, NULLs and ties: each sort walked page by page with small limits,
forward and backward, gives every row exactly once in the order a plain Python sort
gives; cursors carry decimals, dates and timestamps exactly and belong to their sort.

The probe is a temporary table on one connection of the suite's database (SQLite or
PostgreSQL), so the SQL the paginator writes runs on the real dialect."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, Date, MetaData, String, Table, Uuid, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import database
from service.errors import ValidationFailed
from service.kit.pagination import (
    PageParams,
    Position,
    Sorting,
    SortKey,
    decode_position,
    encode_cursor,
    encode_position,
    paginate,
    paginate_back,
    window,
)
from service.types import ExactDecimal, UtcDateTime, new_id

PROBE = Table(
    "sort_probe",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("born", Date, nullable=True),
    Column("amount", ExactDecimal, nullable=True),
    Column("seen", UtcDateTime, nullable=True),
    Column("n", BigInteger, nullable=True),
)
c = PROBE.c
SORTING = Sorting(
    SortKey("name", c.name),
    SortKey("born", c.born, "date", nullable=True),
    SortKey("amount", c.amount, "decimal", nullable=True),
    SortKey("seen", c.seen, "datetime", nullable=True),
    SortKey("n", c.n, "int", nullable=True),
)
FIELDS = ["name", "born", "amount", "seen", "n"]


def make_rows(count: int = 23, seed: int = 7) -> list[dict[str, Any]]:
    """Few distinct values, so ties are everywhere; names differ in case only, too."""
    rng = random.Random(seed)
    base = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    rows = []
    for _ in range(count):
        rows.append(
            {
                "id": new_id(),
                "name": rng.choice(["ada", "Ada", "bob", "Cy", "cy", "dee", "Émile"[1:], "zed"]),
                "born": rng.choice([None, dt.date(1990, 1, 2), dt.date(1985, 12, 31), dt.date(2001, 7, 4)]),
                "amount": rng.choice([None, Decimal("2.50"), Decimal("10"), Decimal("-3.125"), Decimal("10.00")]),
                "seen": rng.choice([None, base, base + dt.timedelta(microseconds=1), base - dt.timedelta(days=400)]),
                "n": rng.choice([None, 0, 7, -2, 2**40]),
            }
        )
    return rows


def expected_order(rows: list[dict[str, Any]], spec: list[tuple[str, bool]]) -> list[uuid.UUID]:
    """What a list sorted by `spec` must be: written independently of the paginator, with
    stable sorts from the last key to the first (NULLs last in either direction, text
    case-insensitive, the id last and ascending)."""
    ordered = sorted(rows, key=lambda r: r["id"])
    for name, desc in reversed(spec):
        present = [r for r in ordered if r[name] is not None]
        absent = [r for r in ordered if r[name] is None]
        fold = (lambda v: v.lower()) if name == "name" else (lambda v: v)
        present.sort(key=lambda r: fold(r[name]), reverse=desc)  # stable, also reversed
        ordered = present + absent
    return [r["id"] for r in ordered]


@pytest.fixture
async def probe() -> AsyncIterator[tuple[AsyncSession, list[dict[str, Any]]]]:
    rows = make_rows()
    async with database.engine.connect() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS sort_probe"))  # a temporary table outlives a rollback
        ddl = (
            "CREATE TEMPORARY TABLE sort_probe (id {uuid} PRIMARY KEY, name VARCHAR(50) NOT NULL, born DATE, "
            "amount {dec}, seen {ts}, n BIGINT)"
        )
        if conn.dialect.name == "postgresql":
            await conn.execute(text(ddl.format(uuid="UUID", dec="NUMERIC", ts="TIMESTAMPTZ")))
        else:
            await conn.execute(text(ddl.format(uuid="CHAR(32)", dec="VARCHAR(64)", ts="DATETIME")))
        await conn.execute(PROBE.insert(), rows)
        session = AsyncSession(bind=conn)
        try:
            yield session, rows
        finally:
            await session.close()
            await conn.rollback()
            await conn.execute(text("DROP TABLE IF EXISTS sort_probe"))
            await conn.commit()


async def walk_forward(session: AsyncSession, spec: Any, limit: int) -> list[uuid.UUID]:
    seen: list[uuid.UUID] = []
    cursor = None
    for _ in range(100):
        page = await paginate(session, select(PROBE), c.id, PageParams(limit=limit, cursor=cursor), True, spec)
        assert len(page.items) <= limit
        seen.extend(r.id for r in page.items)
        for i, row in enumerate(page.items):  # every item's own cursor continues right after it
            assert decode_position(spec, page.cursor_at(i)).id == row.id
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the walk did not end")


async def walk_backward(session: AsyncSession, spec: Any, limit: int) -> list[uuid.UUID]:
    pages: list[list[uuid.UUID]] = []
    before = None
    for _ in range(100):
        page = await paginate_back(session, select(PROBE), c.id, limit, before, True, spec)
        pages.append([r.id for r in page.items])
        before = page.previous_cursor
        if before is None:
            return [i for p in reversed(pages) for i in p]
    raise AssertionError("the walk did not end")


SPECS = [f"{'-' if desc else ''}{f}" for f in FIELDS for desc in (False, True)] + [
    "name,-born",
    "-amount,name",
    "born,-n,seen",
    "-seen,-amount,name,n",
]


@pytest.mark.parametrize("raw", SPECS)
async def test_every_sort_walks_every_row_once_in_order(probe, raw):
    session, rows = probe
    spec = SORTING.parse(raw)
    want = expected_order(rows, [(k.name, d) for k, d in spec.keys])
    for limit in (1, 2, 5):
        assert await walk_forward(session, spec, limit) == want, (raw, limit)
    assert await walk_backward(session, spec, 3) == want, raw
    # the same order in memory (lists whose keys are computed in Python)
    by_id = {r["id"]: r for r in rows}
    mem = window(
        rows,
        spec,
        lambda r: Position(tuple(r[k.name] for k, _ in spec.keys), r["id"]),
        limit=len(rows),
    )
    assert [r["id"] for r in mem.items] == want
    assert {i for i in want} == set(by_id)


async def test_in_memory_pages_continue_from_sql_cursors(probe):
    """A cursor is a position, not a query: the SQL and in-memory orders agree on it."""
    session, rows = probe
    spec = SORTING.parse("-amount,born")
    first = await paginate(session, select(PROBE), c.id, PageParams(limit=4), True, spec)
    rest = window(
        rows,
        spec,
        lambda r: Position((r["amount"], r["born"]), r["id"]),
        limit=len(rows),
        after=first.next_cursor,
    )
    want = expected_order(rows, [("amount", True), ("born", False)])
    assert [r.id for r in first.items] + [r["id"] for r in rest.items] == want
    back = window(rows, spec, lambda r: Position((r["amount"], r["born"]), r["id"]), limit=2, before=rest.cursor_at(0))
    assert [r["id"] for r in back.items] == want[2:4]
    assert back.previous_cursor is not None


async def test_the_default_order_is_the_id_and_its_cursors_keep_their_format(probe):
    session, rows = probe
    page = await paginate(session, select(PROBE), c.id, PageParams(limit=5), True)
    want = sorted(r["id"] for r in rows)
    assert [r.id for r in page.items] == want[:5]
    assert page.next_cursor == encode_cursor(want[4])  # {"id": ...}, as before sorting existed
    old = base64.urlsafe_b64encode(json.dumps({"id": str(want[4])}).encode()).decode().rstrip("=")
    after = await paginate(session, select(PROBE), c.id, PageParams(limit=50, cursor=old), True)
    assert [r.id for r in after.items] == want[5:]
    assert after.previous_cursor == encode_cursor(want[5])


def test_cursor_values_round_trip_exactly():
    spec = SORTING.parse("amount,born,-seen,n")
    stamp = dt.datetime(2026, 3, 1, 9, 30, 0, 250001, tzinfo=dt.UTC)
    values = (Decimal("12345678901234567890.123456789000"), dt.date(1999, 12, 31), stamp, 2**62)
    position = Position(values, new_id())
    back = decode_position(spec, encode_position(spec, position))
    assert back == position
    assert str(back.values[0]) == "12345678901234567890.123456789000"  # not 1.2345...E+19, trailing zeros kept
    assert back.values[2].tzinfo is not None and back.values[2] == stamp
    nulls = Position((None, None, None, None), new_id())
    assert decode_position(spec, encode_position(spec, nulls)) == nulls
    by_name = SORTING.parse("-name")
    odd = Position(('O\'Brien, "Al" 🙂',), new_id())
    assert decode_position(by_name, encode_position(by_name, odd)) == odd


def test_a_cursor_belongs_to_its_sort():
    by_name, by_born = SORTING.parse("name"), SORTING.parse("-born")
    cursor = encode_position(by_name, Position(("ada",), new_id()))
    with pytest.raises(ValidationFailed) as refused:
        decode_position(by_born, cursor)
    assert refused.value.status == 422
    assert refused.value.extra["errors"][0]["loc"] == ["query", "cursor"]
    assert "sort=name" in refused.value.detail and "sort=-born" in refused.value.detail
    with pytest.raises(ValidationFailed):  # an id-order cursor under a sort, and the reverse
        decode_position(by_name, encode_cursor(new_id()))
    with pytest.raises(ValidationFailed):
        decode_position(SORTING.parse(None), cursor)
    forged = base64.urlsafe_b64encode(json.dumps({"id": str(new_id()), "s": "amount", "k": ["NaN"]}).encode()).decode()
    with pytest.raises(ValidationFailed):
        decode_position(SORTING.parse("amount"), forged)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("salary", "'salary'"),
        ("name,-salary", "'salary'"),
        ("name,name", "given twice"),
        ("", "none empty"),
        ("name,", "none empty"),
        ("name,born,amount,seen,n", "at most"),
        ("-", "''"),
    ],
)
def test_bad_sorts_are_422_naming_the_problem(raw, named):
    with pytest.raises(ValidationFailed) as refused:
        SORTING.parse(raw)
    assert refused.value.extra["errors"][0]["loc"] == ["query", "sort"]
    assert named in refused.value.detail


def test_a_refused_key_reads_as_unknown_and_lists_accept_lists():
    with pytest.raises(ValidationFailed) as refused:
        SORTING.parse("-amount", refused=["amount"])
    assert "unknown sort key 'amount'" in refused.value.detail
    assert "amount" not in refused.value.detail.split(":")[-1]
    assert SORTING.parse(["name", "-born"]).text == "name,-born"  # what GraphQL passes
    assert SORTING.pattern().startswith("^-?(name|born|amount|seen|n)")
