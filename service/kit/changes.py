"""One audited change of one versioned row: the sequence every update and delete shares.

A service loads the row and checks the caller may change it (both are the domain's), then

    async with audited(ctx, dep, "department.updated", department_snapshot, expected):
        changes = data.model_dump(exclude_unset=True)
        ...  # validate, raising a 4xx problem
        set_fields(dep, changes, not_null=("name",))

On entering: the If-Match precondition (412 when stale) and the "before" snapshot. On
leaving without an error: flush (the version counter moves, and a writer that lost a race
on the same version gets its 412 here), the "after" snapshot, and the audit entry. A row
the block deleted (`await ctx.session.delete(row)`) is audited with no "after". An error in
the block leaves no audit entry and no flush; the request's transaction rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import ValidationFailed
from service.kit import audit
from service.kit.etag import IfMatch, check_version
from service.principal import Principal


class Actor(Protocol):
    """Who changes what, in which session: a request's context (service/auth/context.py)."""

    @property
    def session(self) -> AsyncSession: ...

    @property
    def principal(self) -> Principal: ...


class Versioned(Protocol):
    id: Any
    version: int


Row = TypeVar("Row", bound=Versioned)


@asynccontextmanager
async def audited(
    ctx: Actor,
    row: Row,
    action: str,
    snapshot: Callable[[Row], dict[str, Any]],
    expected: IfMatch | None = None,
    *,
    entity_type: str | None = None,
    reason: str | None = None,
) -> AsyncIterator[Row]:
    """The change made in the block, checked against `expected` and audited as `action`
    (its entity type is the action's prefix: `department` of `department.updated`)."""
    check_version(expected, row.version)
    before = snapshot(row)
    row_id = row.id
    yield row
    await ctx.session.flush()
    state = inspect(row)
    after = None if state.deleted or state.was_deleted else snapshot(row)
    kind = entity_type or action.rsplit(".", 1)[0]
    await audit.record(ctx.session, ctx.principal, action, kind, row_id, before, after, reason)


def refuse_nulls(changes: Mapping[str, Any], names: Iterable[str]) -> None:
    """A 422 naming the first of `names` a partial update sends as null: a field that may
    be left out but not emptied."""
    for name in names:
        if name in changes and changes[name] is None:
            raise ValidationFailed.field(name, f"{name} cannot be null")


def set_fields(row: object, changes: Mapping[str, Any], *, not_null: Iterable[str] = ()) -> None:
    """Set the changed fields, after `refuse_nulls(changes, not_null)`."""
    refuse_nulls(changes, not_null)
    for name, value in changes.items():
        setattr(row, name, value)
