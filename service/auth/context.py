"""The per-request context every service call receives: session, principal, and the
reporting subtree of the principal (loaded once, on first need)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Uuid, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from service.kit import hierarchy
from service.principal import Principal

if TYPE_CHECKING:
    from service.db import Database


class Ctx:
    """`session` is the request's session. A request's context opens it on first use
    (`opener`): a read served straight from the driver or from caches never makes one.
    Other contexts (jobs, the demo, tests) are given an open session."""

    __slots__ = ("principal", "direct_reads", "_session", "_opener", "_reports")

    def __init__(
        self,
        session: AsyncSession | None = None,
        principal: Principal | None = None,
        *,
        opener: Callable[[], AsyncSession] | None = None,
        direct_reads: Database | None = None,
    ) -> None:
        if principal is None or (session is None) == (opener is None):
            raise TypeError("Ctx needs a principal and either a session or an opener")
        self.principal = principal
        self.direct_reads = direct_reads  # a read-only request's (service/kit/direct_reads.py)
        self._session = session
        self._opener = opener
        self._reports: frozenset[uuid.UUID] | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._opener()  # type: ignore[misc]
        return self._session

    @property
    def session_opened(self) -> bool:
        return self._session is not None

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
                self._reports = await hierarchy.subtree_ids(self.session, self.org_id, emp)
        return self._reports


async def org_exists(session: AsyncSession | Callable[[], AsyncSession], org_id: uuid.UUID) -> bool:
    """`session` may be a function that opens one: it is called only when this process
    has not confirmed the organization within `KNOWN_ORG_SECONDS`."""
    confirmed = _known_orgs.get(org_id)
    now = time.monotonic()
    if confirmed is not None and now - confirmed < KNOWN_ORG_SECONDS:
        return True
    if callable(session):
        session = session()
    found = (await session.execute(select(ORGANIZATIONS.c.id).where(ORGANIZATIONS.c.id == org_id))).first()
    if found:
        _known_orgs[org_id] = now
    else:
        _known_orgs.pop(org_id, None)
    return found is not None


# The organizations table's key, as a lightweight table clause (auth depends on no domain).
ORGANIZATIONS = table("organizations", column("id", Uuid))
# A positive answer is kept for KNOWN_ORG_SECONDS (one small query a minute per
# organization and process). Organizations are deleted only by the tenant lifecycle
# (service/tenants/lifecycle.py), which forgets them here at once; every other process
# stops accepting the deleted organization's tokens when its answer expires.
KNOWN_ORG_SECONDS = 60.0
_known_orgs: dict[uuid.UUID, float] = {}  # organization → when it was last confirmed (monotonic)


def forget_org(org_id: uuid.UUID) -> None:
    """After the organization is deleted: its tokens no longer authenticate (in this
    process at once, in the others within `KNOWN_ORG_SECONDS`)."""
    _known_orgs.pop(org_id, None)
