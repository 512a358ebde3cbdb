"""Who is calling: a person (roles, maybe an employee) or an integration client (scopes).

A leaf of the import layers (tests/test_layers.py): the kit records it in the audit log,
auth makes it from a token, authz decides on it, and none of them needs another for it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

PERSON_ROLES = frozenset({"admin", "hr", "auditor", "employee"})
CLIENT_SCOPES = frozenset({"scim", "employees:write", "kpi:write", "payroll:read", "payroll:ack", "webhooks"})


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
