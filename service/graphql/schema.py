"""Assembles the GraphQL schema from each module's `gql.py`, with depth, alias and token
limits, domain errors shaped like the REST problems, and a rollback of the request's
transaction whenever any error occurred (GraphQL answers 200, so the session
dependency cannot tell)."""

from __future__ import annotations

import strawberry
import structlog
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

from service.config import get_settings
from service.cycles.gql import CycleMutation, CycleQuery
from service.errors import DomainError
from service.evaluations.gql import EvaluationMutation, EvaluationQuery
from service.graphql.common import SCALARS
from service.graphql.context import get_context
from service.incentives.gql import IncentiveMutation, IncentiveQuery
from service.kpi.gql import KpiMutation, KpiQuery
from service.okr.gql import OkrMutation, OkrQuery
from service.org.gql import OrgMutation, OrgQuery
from service.problems import database_problem
from service.scoring.gql import ScoringMutation, ScoringQuery

log = structlog.get_logger("service.graphql")


class DomainErrors(SchemaExtension):
    """Masks unexpected errors, exposes domain errors with status and code, and rolls the
    transaction back when anything failed."""

    async def on_execute(self):
        yield
        result = self.execution_context.result
        if not result or not getattr(result, "errors", None):
            return
        shaped: list[GraphQLError] = []
        for err in result.errors:
            original = err.original_error
            if isinstance(original, DBAPIError):  # shaped as the REST answer would be (503, 422…)
                log.warning("graphql_database_error", error=type(original.orig).__name__,
                            sqlstate=getattr(original.orig, "sqlstate", None))
                original = database_problem(original)
            if isinstance(original, DomainError):
                ext = {"status": original.status, "code": original.problem_code or original.code}
                if "errors" in original.extra:
                    ext["errors"] = original.extra["errors"]
                shaped.append(GraphQLError(original.detail, nodes=err.nodes, path=err.path, extensions=ext))
            elif original is None:
                shaped.append(err)  # a syntax or validation error of the query itself
            else:
                log.error("graphql_unhandled", error=type(original).__name__, path=err.path, exc_info=original)
                shaped.append(GraphQLError("Internal server error", nodes=err.nodes, path=err.path,
                                           extensions={"status": 500, "code": "internal"}))
        result.errors = shaped
        context = self.execution_context.context
        if context is not None and hasattr(context, "ctx") and context.ctx.session_opened:
            await context.ctx.session.rollback()


@strawberry.type
class Query(OrgQuery, CycleQuery, KpiQuery, OkrQuery, ScoringQuery, EvaluationQuery, IncentiveQuery):
    pass


@strawberry.type
class Mutation(OrgMutation, CycleMutation, KpiMutation, OkrMutation, ScoringMutation, EvaluationMutation,
               IncentiveMutation):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: object = None) -> None:
        """Strawberry would log every error at ERROR with a traceback. A domain error (a
        404, a 403, a 422) or an invalid query is an answer to the client, not an incident,
        and is not logged; an unexpected error is logged once, with its traceback, where
        `DomainErrors` masks it."""


def build_schema() -> strawberry.Schema:
    settings = get_settings()
    return Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(auto_camel_case=False, scalar_map=SCALARS),
        extensions=[
            lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            DomainErrors,
        ],
    )


schema = build_schema()
graphql_router = GraphQLRouter(schema, context_getter=get_context, graphql_ide="graphiql")
