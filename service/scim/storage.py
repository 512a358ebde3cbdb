"""The AsyncScimStorage of scim2-server over SQLAlchemy: one database transaction per
SCIM operation, every call scoped to the organization of the request's token.

`operation()` opens the session and commits it when the operation succeeds (the one
place SCIM commits, as the request session does for REST). Inside a PUT, PATCH or DELETE
the storage reads the resource with `SELECT … FOR UPDATE` on PostgreSQL, so concurrent
writers of one resource queue instead of failing each other; the version scim2-server
expects is compared again under that lock, and the UPDATE itself carries
`WHERE version = <read version>`, so a stale `If-Match` or a lost race answers 412.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, cast

from scim2_models import (
    InvalidValueException,
    NotImplementedException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimProvider,
    SearchRequest,
)
from scim2_server.storage import AsyncScimStorage, SearchPage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db
from service.auth.context import Ctx
from service.kit.schemas import has_nul
from service.scim import groups, users
from service.scim.auth import current_method, current_principal

WRITES = frozenset({"PUT", "PATCH", "DELETE"})
_session: ContextVar[AsyncSession | None] = ContextVar("scim_session", default=None)


def wants_members(parameters: ResponseParameters[Any] | None) -> bool:
    """Whether a response keeps the members of a Group: Entra reads Groups with
    `excludedAttributes=members`, and a large department's member list is then not loaded."""
    if parameters is None:
        return True

    def names_members(paths: Any) -> bool:
        return any(str(p).lower().rsplit(":", 1)[-1].split(".")[0] == "members" for p in paths or [])

    if parameters.attributes:
        return names_members(parameters.attributes)
    return not names_members(parameters.excluded_attributes)


def _no_nul(resource: Resource[Any]) -> None:
    """A NUL in any string attribute is refused on every database alike (PostgreSQL cannot
    store one; RFC 7644 section 3.12 `invalidValue`)."""
    if has_nul(resource.model_dump(mode="json")):
        raise InvalidValueException(detail="a string attribute contains a NUL character (U+0000)")


class EmployeeDirectoryStorage(AsyncScimStorage):
    """Users are employees (service.scim.users), Groups are departments (service.scim.groups)."""

    def __init__(self, provider: ScimProvider, database: db.Database | None = None) -> None:
        self.provider = provider
        self._database = database

    @property
    def database(self) -> db.Database:
        return self._database or db.database

    def use_database(self, database: db.Database) -> None:
        """Serve from another database object, e.g. one made on a server's own event loop."""
        self._database = database

    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.database.sessions

    def _model(self, resource_type: ResourceType) -> type[Resource[Any]]:
        return cast(type[Resource[Any]], self.provider.model_for(resource_type))

    def _ctx(self) -> Ctx:
        session = _session.get()
        if session is None:  # scim2-server calls the storage inside operation() only
            raise RuntimeError("SCIM storage used outside of an operation")
        return Ctx(session=session, principal=current_principal())

    @asynccontextmanager
    async def operation(self) -> AsyncIterator[None]:
        if _session.get() is not None:
            yield
            return
        async with self.sessions()() as session:
            token = _session.set(session)
            try:
                yield
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                _session.reset(token)

    async def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        ctx, model = self._ctx(), self._model(resource_type)
        lock = current_method() in WRITES
        if resource_type.name == "User":
            return await users.get(ctx, model, resource_id, lock=lock)
        return await groups.get(ctx, model, resource_id, lock=lock, with_members=wants_members(response_parameters))

    async def search(
        self, resource_types: list[ResourceType], search_request: SearchRequest[Any], *, position: Any = None
    ) -> SearchPage:
        if len(resource_types) != 1:
            raise NotImplementedException(detail="Searching several resource types at once is not supported")
        (resource_type,) = resource_types
        ctx, model = self._ctx(), self._model(resource_type)
        if resource_type.name == "User":
            total, found = await users.search(ctx, model, search_request)
        else:
            total, found = await groups.search(ctx, model, search_request, wants_members(search_request))
        return SearchPage(total=total, resources=found)

    async def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        _no_nul(resource)
        ctx, model = self._ctx(), self._model(resource_type)
        if resource_type.name == "User":
            return await users.create(ctx, model, resource)
        return await groups.create(ctx, model, resource)

    async def update(
        self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None
    ) -> Resource[Any]:
        _no_nul(resource)  # PUT, and PATCH (the patched whole)
        ctx, model = self._ctx(), self._model(resource_type)
        if resource_type.name == "User":
            return await users.update(ctx, model, resource, expected_version)
        return await groups.update(ctx, model, resource, expected_version)

    async def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        ctx = self._ctx()
        if resource_type.name == "User":
            await users.delete(ctx, resource_id, expected_version)
        else:
            await groups.delete(ctx, resource_id, expected_version)
