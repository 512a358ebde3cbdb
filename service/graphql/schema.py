"""Assembles the GraphQL schema from each module's `gql.py`, with depth, alias, token and
cost limits (service/graphql/cost.py) and an execution timeout, domain errors shaped
like the REST problems, and a rollback of the request's transaction whenever any error
occurred (GraphQL answers 200, so the session dependency cannot tell)."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry
import structlog
from cross_web import HTTPException
from fastapi.routing import APIRoute
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from service.briefs.gql import BriefMutation, BriefQuery
from service.config import get_settings
from service.cycles.gql import CycleMutation, CycleQuery
from service.development.gql import DevelopmentMutation, DevelopmentQuery
from service.errors import DomainError, http_problem
from service.evaluations.gql import EvaluationMutation, EvaluationQuery
from service.graphql import direct
from service.graphql.common import SCALARS, camel
from service.graphql.context import get_context, ide_page
from service.graphql.cost import QueryCost
from service.graphql.nodes import NodeQuery
from service.incentives.gql import IncentiveMutation, IncentiveQuery
from service.kit.i18n import localise_problem
from service.kpi.gql import KpiMutation, KpiQuery
from service.meetings.gql import MeetingMutation, MeetingQuery
from service.okr.gql import OkrMutation, OkrQuery
from service.org.gql import OrgMutation, OrgQuery
from service.scoring.gql import ScoringMutation, ScoringQuery
from service.web.problems import database_problem, problem_response

log = structlog.get_logger("service.graphql")


class DomainErrors(SchemaExtension):
    """Masks unexpected errors, exposes domain errors with status and code, and rolls the
    transaction back when anything failed."""

    async def on_execute(self):
        yield
        result = self.execution_context.result
        if not result or not result.errors:
            return
        shaped: list[GraphQLError] = []
        for err in result.errors:
            original = err.original_error
            if isinstance(original, DBAPIError):  # shaped as the REST answer would be (503, 422…)
                log.warning(
                    "graphql_database_error",
                    error=type(original.orig).__name__,
                    sqlstate=getattr(original.orig, "sqlstate", None),
                )
                original = database_problem(original)
            if isinstance(original, DomainError):
                ext = {"status": original.status, "code": original.problem_code or original.code}
                if "errors" in original.extra:  # `loc` in GraphQL's names (the services name REST's fields)
                    ext["errors"] = [
                        {**e, "loc": [camel(p) if isinstance(p, str) else p for p in e.get("loc", ())]}
                        for e in original.extra["errors"]
                    ]
                # The message in the request's language, as a REST problem's `detail` is.
                message = localise_problem(
                    {"title": original.title, "status": original.status, "detail": original.detail}
                )["detail"]
                shaped.append(GraphQLError(message, nodes=err.nodes, path=err.path, extensions=ext))
            elif original is None:
                shaped.append(err)  # a syntax or validation error of the query itself
            elif err.path is None:
                # Before any field ran: the variables did not coerce (a wrong type, a bad
                # UUID, a missing required variable, an unknown input field). The
                # client's mistake, answered as such (GraphQL-over-HTTP: a request error).
                shaped.append(
                    GraphQLError(
                        err.message,
                        nodes=err.nodes,
                        extensions={**(err.extensions or {}), "status": 400, "code": "bad-request"},
                    )
                )
            else:
                log.error("graphql_unhandled", error=type(original).__name__, path=err.path, exc_info=original)
                shaped.append(
                    GraphQLError(
                        "Internal server error",
                        nodes=err.nodes,
                        path=err.path,
                        extensions={"status": 500, "code": "internal"},
                    )
                )
        result.errors = shaped
        context = self.execution_context.context
        if context is not None and hasattr(context, "ctx") and context.ctx.session_opened:
            await context.ctx.session.rollback()


@strawberry.type(description="What can be read: each list a Relay connection, each object also by `node(id:)`")
class Query(
    NodeQuery,
    OrgQuery,
    CycleQuery,
    KpiQuery,
    OkrQuery,
    ScoringQuery,
    EvaluationQuery,
    IncentiveQuery,
    DevelopmentQuery,
    MeetingQuery,
    BriefQuery,
):
    pass


@strawberry.type(
    description="What can be changed, under the same rules as REST; a change to a versioned object takes "
    "`expectedVersion` (REST's If-Match)"
)
class Mutation(
    OrgMutation,
    CycleMutation,
    KpiMutation,
    OkrMutation,
    ScoringMutation,
    EvaluationMutation,
    IncentiveMutation,
    DevelopmentMutation,
    MeetingMutation,
    BriefMutation,
):
    pass


class Schema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> ExecutionResult:
        """The backstop of the cost limits (service/graphql/cost.py): an operation still
        running after `GRAPHQL_TIMEOUT_SECONDS` is cancelled at its next await, its
        transaction rolled back, and the answer is an error with status 503. (Work that
        never awaits cannot be interrupted; the cost rule keeps such work small.)"""
        limit = get_settings().graphql_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                return await super().execute(query, variable_values, context_value, *args, **kwargs)
        except TimeoutError:
            log.warning("graphql_timeout", seconds=limit)
            ctx = getattr(context_value, "ctx", None)
            if ctx is not None and ctx.session_opened:
                await ctx.session.rollback()
            return ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"the operation did not finish within {limit:g} s and was stopped; nothing was changed",
                        extensions={"status": 503, "code": "timeout"},
                    )
                ],
            )

    def process_errors(self, errors: list[GraphQLError], execution_context: object = None) -> None:
        """Strawberry would log every error at ERROR with a traceback. A domain error (a
        404, a 403, a 422) or an invalid query is an answer to the client, not an incident,
        and is not logged; an unexpected error is logged once, with its traceback, where
        `DomainErrors` masks it."""


def build_schema() -> strawberry.Schema:
    """The schema, its plain fields answered by direct resolvers (service/graphql/direct.py)."""
    settings = get_settings()
    built = Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
        execution_context_class=direct.ExecutionContext,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: QueryCost(max_nodes=settings.graphql_max_nodes, max_cost=settings.graphql_max_cost),
            DomainErrors,
        ],
    )
    direct.install(built)
    return built


class Router(GraphQLRouter):
    """Strawberry answers a request that is not GraphQL (no query, another content type,
    a batch, a body that is not JSON) with a `text/plain` status line; here it is a
    problem document like every other refusal of the API, and an unsupported content
    type is 415 (GraphQL-over-HTTP). A JSON body too deep to decode is a 400.

    GET answers queries (`?query=&variables=&operationName=`), under the same limits,
    timeout and authentication as POST; a mutation over GET is a 405 with `Allow: POST`
    (GraphQL-over-HTTP). Every GET answer carries `Cache-Control: no-store`: it depends on
    the caller's token (and on `Accept`: the GraphiQL page or JSON), so no cache, shared
    or private, may keep it."""

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            response = await super().run(request, context=context, root_value=root_value)
        except HTTPException as exc:
            status = 415 if exc.reason == "Unsupported content type" else exc.status_code
            problem = http_problem(status, exc.reason)
            if status == 405:
                problem.headers["Allow"] = "POST"
            response = problem_response(problem)
        if request.method == "GET":
            response.headers["Cache-Control"] = "no-store"
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        return ide_page(request.method, request.query_params, request.headers.get("accept", ""))

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(exc.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, "only queries may be sent with GET: send mutations with POST") from exc
            raise

    def decode_json(self, data: str | bytes) -> object:
        try:
            return super().decode_json(data)
        except RecursionError as exc:
            raise HTTPException(400, "the JSON body is nested too deeply") from exc


schema = build_schema()
graphql_router = Router(schema, context_getter=get_context, graphql_ide="graphiql")
# Outside the OpenAPI document, and so outside the REST rules (service/web/routing.py
# `strict_request`: unknown query parameters are a 422). The app includes the router with
# `include_in_schema=False`, but the request's route is Strawberry's own, which the GET
# route marks as documented: `GET /graphql?query=...` was refused for its `query`.
for _route in graphql_router.routes:
    if isinstance(_route, APIRoute):
        _route.include_in_schema = False
