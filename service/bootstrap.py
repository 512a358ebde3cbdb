"""Creating an organization from the command line (no API call can create a tenant)."""

from __future__ import annotations

from typing import Any

from service.auth.tokens import issue_token
from service.db import database
from service.errors import ValidationFailed
from service.kit.money import is_currency
from service.org.models import DEFAULT_ORG_SETTINGS, Organization
from service.types import new_id


async def create_org(name: str, currency: str = "USD", timezone: str = "UTC") -> dict[str, Any]:
    if not name.strip():
        raise ValidationFailed.field("name", "name is required")
    if not is_currency(currency):
        raise ValidationFailed.field("currency", "not an ISO 4217 currency code")
    org_id = new_id()
    async with database.sessions() as session:
        session.add(
            Organization(
                id=org_id,
                name=name.strip(),
                currency=currency,
                timezone=timezone,
                fiscal_year_start="01-01",
                settings=dict(DEFAULT_ORG_SETTINGS),
            )
        )
        await session.commit()
    await database.dispose()
    token = issue_token(org_id=org_id, sub=f"admin@{org_id}", roles=["admin"], ttl=24 * 3600)
    return {"org_id": str(org_id), "admin_token": token}
