"""Shared organizations for the authorization matrices.

A matrix runs one request per (route, caller) case; building the organization the case
needs costs a dozen or more API calls, the request itself one. A case that leaves the
organization as it found it (a read, or a refused write, which every matrix checks
changed nothing) uses one organization built once per module and key (the state the
route needs); a case that may change something gets an organization of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import httpx

W = TypeVar("W")

READ_METHODS = frozenset({"GET", "HEAD"})


def leaves_unchanged(method: str, expected: int, *, reads: bool = False) -> bool:
    """Whether a case can share its organization: a read (by method, or a route that
    only reads, such as a lint), or a refused call."""
    return reads or method in READ_METHODS or expected >= 400


class SharedWorlds(Generic[W]):
    def __init__(self, build: Callable[[httpx.AsyncClient, Hashable], Awaitable[W]]) -> None:
        self._build = build
        self._built: dict[Hashable, W] = {}

    async def shared(self, client: httpx.AsyncClient, key: Hashable = None) -> W:
        if key not in self._built:
            self._built[key] = await self._build(client, key)
        return self._built[key]

    async def for_case(self, client: httpx.AsyncClient, *, shares: bool, key: Hashable = None) -> W:
        return await self.shared(client, key) if shares else await self._build(client, key)


def worlds_of(build: Callable[..., Awaitable[W]], *, team: bool = True) -> SharedWorlds[W]:
    """Shared worlds made by `build(tenant, other_tenant)`: a fresh organization (with the
    conftest team when `team`) and another organization's."""
    from tests.conftest import make_team, new_tenant

    async def fresh(client: httpx.AsyncClient, _key: Hashable) -> W:
        tenant = await new_tenant(client)
        return await build(await make_team(tenant) if team else tenant, await new_tenant(client, "Other Org"))

    return SharedWorlds(fresh)
