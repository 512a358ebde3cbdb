"""The per-request context every service call receives: session, principal, and the
reporting subtree of the principal (loaded once, on first need)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.principal import Principal


@dataclass
class Ctx:
    session: AsyncSession
    principal: Principal
    _reports: frozenset[uuid.UUID] | None = field(default=None, repr=False)

    @property
    def org_id(self) -> uuid.UUID:
        return self.principal.org_id

    def after_commit(self, callback) -> None:
        """Run `callback` once the request's transaction has committed (e.g. start a job)."""
        self.session.info.setdefault("after_commit", []).append(callback)

    async def reports(self) -> frozenset[uuid.UUID]:
        """Direct and indirect reports of the calling employee (empty for others)."""
        if self._reports is None:
            emp = self.principal.employee_id
            if emp is None or self.principal.is_client:
                self._reports = frozenset()
            else:
                from service.org.repository import subtree_ids

                self._reports = await subtree_ids(self.session, self.org_id, emp)
        return self._reports


async def org_exists(session: AsyncSession, org_id: uuid.UUID) -> bool:
    from service.org.models import Organization

    if org_id in _known_orgs:
        return True
    found = (await session.execute(select(Organization.id).where(Organization.id == org_id))).first()
    if found:
        _known_orgs.add(org_id)
    return found is not None


# Organizations are never deleted, so a positive answer can be kept for the process.
_known_orgs: set[uuid.UUID] = set()
