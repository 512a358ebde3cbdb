"""Who is calling: a person (roles, maybe an employee) or an integration client (scopes).

A leaf of the import layers (tests/test_layers.py): the kit records it in the audit log,
auth makes it from a token, authz decides on it, and none of them needs another for it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

PERSON_ROLES = frozenset({"admin", "hr", "auditor", "employee"})
# What each scope of an integration client allows (the OpenAPI document's OAuth2 scheme
# lists them; service/authz/policy.py decides with them).
SCOPE_MEANINGS = {
    "scim": "SCIM 2.0 provisioning of users at /scim/v2 (an HRIS or identity provider: Okta, Entra)",
    "employees:write": "create and update employees, departments and positions, and read the directory with pay "
    "(an HRIS sync, e.g. Workday)",
    "kpi:write": "record KPI measurements, one by one or in bulk (a BI or data-warehouse feed)",
    "payroll:read": "read the payroll feed of finalized incentive results and the directory with pay",
    "payroll:ack": "acknowledge incentive results taken into a payroll run",
    "webhooks": "manage webhook subscriptions and read their deliveries",
}
CLIENT_SCOPES = frozenset(SCOPE_MEANINGS)


@dataclass(frozen=True)
class Principal:
    sub: str
    org_id: uuid.UUID
    kind: str  # "person" or "client"
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    employee_id: uuid.UUID | None = None

    @property
    def is_client(self) -> bool:
        return self.kind == "client"

    def has_role(self, *roles: str) -> bool:
        return not self.is_client and any(r in self.roles for r in roles)

    def has_scope(self, *scopes: str) -> bool:
        return self.is_client and any(s in self.scopes for s in scopes)

    @property
    def actor(self) -> str:
        return f"client:{self.sub}" if self.is_client else self.sub
