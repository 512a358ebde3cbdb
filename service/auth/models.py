"""Integration clients: machine credentials for HRIS, BI and payroll systems."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin
from service.types import UtcDateTime, utcnow


class IntegrationClient(TenantMixin, Base):
    """The secret is random (256 bits), so a SHA-256 digest is enough to store it: there
    is nothing to brute-force. It is shown once, in the answer to POST."""

    __tablename__ = "integration_clients"

    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("client_id"),
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
    )
