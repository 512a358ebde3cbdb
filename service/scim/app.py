"""The SCIM ASGI application, mounted by service.web.app at `/scim` and serving `/scim/v2`
(scim2-server routes its own `/v2` prefix, and builds every location from the mount).

What this module adds to scim2-server's application:
- authentication before any operation but `/ServiceProviderConfig` (service.scim.auth);
- Entra's manager-string rewrite of the request body (service.scim.entra);
- PATCH answers 200 with the resource (RFC 7644 section 3.5.2 allows 200 or 204; Okta,
  the Okta app wizard's runscope tests and scim-sanity expect the resource);
- the `insufficient_scope` challenge on a 403 for a token without the scope.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from scim2_models import Context, Resource, ResponseParameters, ScimProvider
from scim2_server.applications.asgi import ASGIApplication, Receive, Scope, Send
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService

from service import db
from service.scim import entra, filters
from service.scim.auth import (
    INSUFFICIENT_SCOPE_CHALLENGE,
    InsufficientScope,
    authenticate,
    bind,
    unbind,
)
from service.scim.schema import build_provider
from service.scim.storage import EmployeeDirectoryStorage

MOUNT_PATH = "/scim"
_scope: ContextVar[Scope | None] = ContextVar("scim_asgi_scope", default=None)


class EmployeeScimService(ScimService):
    def patch_response(
        self, base_url: str, resource: Resource[Any], response_parameters: ResponseParameters[Any]
    ) -> ScimResponse:
        return self.resource_response(
            self.publish(base_url, resource), Context.RESOURCE_PATCH_RESPONSE, response_parameters
        )

    def error_response(self, exception: Exception) -> ScimResponse:
        response = super().error_response(exception)
        if isinstance(exception, InsufficientScope):
            response.headers["WWW-Authenticate"] = INSUFFICIENT_SCOPE_CHALLENGE
        return response


def _body_filter(body: Any) -> str | None:
    try:
        document = json.loads(body) if isinstance(body, bytes | str) else body
    except (ValueError, RecursionError):
        return None  # the handler answers a body that is not JSON
    value = document.get("filter") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


class ScimApplication(ASGIApplication):
    storage: EmployeeDirectoryStorage

    async def read_request(self, scope: Scope, receive: Receive) -> ScimRequest:
        request = await super().read_request(scope, receive)
        request.body = entra.rewrite_body(request.method, request.body)
        return request

    async def dispatch_request(self, request: ScimRequest) -> ScimResponse:
        filters.check_size(request.query.get("filter"))
        if request.method == "POST" and request.path.rstrip("/").endswith(".search"):
            filters.check_size(_body_filter(request.body))
        principal = None
        if self.needs_auth(request):
            principal = await authenticate(request, self.storage.sessions())
            scope = _scope.get()
            if scope is not None:  # the access log reads the organization from here
                scope.setdefault("state", {})["org_id"] = str(principal.org_id)
        request.subject = principal
        tokens = bind(request, principal)
        try:
            return await self.handler.handle(request)
        finally:
            unbind(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _scope.set(scope)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _scope.reset(token)


def build_scim_app(database: db.Database | None = None, provider: ScimProvider | None = None) -> ScimApplication:
    """`database` defaults to the process's (service.db.database), read on each use."""
    provider = provider or build_provider()
    return ScimApplication(EmployeeDirectoryStorage(provider, database), provider, EmployeeScimService(provider))
