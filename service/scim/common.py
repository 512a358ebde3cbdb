"""What the User and Group writes share: flushing with SCIM errors, and the outbox event."""

from __future__ import annotations

import uuid

from scim2_models import PreconditionFailedException, UniquenessException
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from service.auth.context import Ctx
from service.kit import outbox
from service.org.events import EmployeeUpserted


async def flush(ctx: Ctx) -> None:
    """Flush, turning a lost version race (the UPDATE … WHERE version = matched no row)
    into 412 and a unique constraint into 409; the operation's transaction rolls back."""
    try:
        await ctx.session.flush()
    except StaleDataError:
        raise PreconditionFailedException(detail="the resource changed since it was read") from None
    except IntegrityError:
        raise UniquenessException(detail="a unique value is already taken") from None


async def publish(ctx: Ctx, employee_ids: list[uuid.UUID], created: int, updated: int) -> None:
    """One `employee.upserted` outbox event for the employees a SCIM call changed, in the
    shape of the bulk import's event."""
    if employee_ids:
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "employee.upserted",
            EmployeeUpserted(employee_ids=employee_ids, created=created, updated=updated, source="scim"),
        )
