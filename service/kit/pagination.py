"""Keyset pagination on the primary key: cursors are opaque, and stable under concurrent
inserts (a page never repeats or skips a row that existed when the walk started)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(last_id: uuid.UUID) -> str:
    raw = json.dumps({"id": str(last_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return uuid.UUID(data["id"])
    except Exception as exc:  # any malformed cursor is the caller's mistake
        raise ValidationFailed(
            "invalid cursor", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}]
        ) from exc


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


async def paginate(
    session: AsyncSession, stmt: Select[Any], id_column: Any, params: PageParams, core_rows: bool = False
) -> Page[Any]:
    """Run `stmt` (already scoped to what the caller may read) one page at a time. The
    items are ORM objects for a `select(Model)`; with `core_rows`, Core rows of a
    `select(table)` (the same columns, read by attribute, at a fraction of the cost: for
    lists that are only read)."""
    if params.cursor:
        stmt = stmt.where(id_column > decode_cursor(params.cursor))
    stmt = stmt.order_by(id_column).limit(params.limit + 1)
    result = await session.execute(stmt)
    rows = list(result.all() if core_rows else result.scalars().all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        next_cursor = encode_cursor(rows[-1].id)
    return Page(items=rows, next_cursor=next_cursor)
