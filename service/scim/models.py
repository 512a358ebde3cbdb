"""SCIM sidecar tables: what an identity provider says about an employee or a department
that the organization model has no column for.

The employee and the department stay the records of truth; a sidecar row only exists
once SCIM touched the resource. It keeps the provisioning client's own identifier
(`externalId`, scoped to that client by RFC 7643 section 3.1, so it never overwrites the
HRIS key `employees.external_id`), the `userName`, the display name, the type of the
e-mail address, and the deprovisioning time: a SCIM DELETE hides the resource from SCIM
and keeps the employee and their history.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, tenant_fk
from service.types import UtcDateTime, utcnow


class ScimUser(TenantMixin, Base):
    """`id` is the employee's id."""

    __tablename__ = "scim_users"

    user_name: Mapped[str] = mapped_column(String(320))
    # The comparison form of user_name (NFC, lower case): unique per organization while
    # the user is provisioned, NULL once deprovisioned so the name can be provisioned again.
    user_name_key: Mapped[str | None] = mapped_column(String(320), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    email_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    email_primary: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # RFC 7644 section 3.5.2.2: a removed `active` is unassigned; the status stays.
    active_unassigned: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        tenant_fk("id", "employees", ondelete="CASCADE"),
        UniqueConstraint("org_id", "user_name_key"),
        Index("ix_scim_users_org_external_id", "org_id", "external_id"),
    )


class ScimGroup(TenantMixin, Base):
    """`id` is the department's id. The department row is never deleted by SCIM (other
    records point at it); a deleted Group is hidden here instead."""

    __tablename__ = "scim_groups"

    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        tenant_fk("id", "departments", ondelete="CASCADE"),
        Index("ix_scim_groups_org_external_id", "org_id", "external_id"),
    )
