"""The Cycle table."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Date, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.org.models import Timestamps


class Cycle(TenantMixin, Timestamps, Versioned, Base):
    __tablename__ = "cycles"

    name: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="planning")
    # Scoring policy versions pinned when the cycle enters calibration (SPEC section 7).
    pinned_policies: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("parent_id", "cycles"),
        Index("ix_cycles_org_parent", "org_id", "parent_id"),
    )
