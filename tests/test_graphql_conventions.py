"""The GraphQL contract as clients and tools read it, checked on the live schema (its
introspection over HTTP, as GraphiQL, codegen and linters read it): every type, field,
argument, enum and enum value is described (service/graphql/common.py `described`,
service/graphql/values.py)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    get_introspection_query,
)

from tests.conftest import Tenant


@pytest.fixture(scope="module")
def introspected() -> dict[str, Any]:
    return {}


async def live_schema(t: Tenant, cache: dict[str, Any]) -> GraphQLSchema:
    """The schema as a client reads it: the introspection query over HTTP."""
    if "schema" not in cache:
        query = get_introspection_query(descriptions=True, specified_by_url=True)
        resp = await t.client.post("/graphql", headers=t.hr, json={"query": query})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert "errors" not in body, body
        cache["schema"] = build_client_schema(body["data"])
    schema: GraphQLSchema = cache["schema"]
    return schema


def own_types(schema: GraphQLSchema) -> list[Any]:
    return [t for name, t in sorted(schema.type_map.items()) if not name.startswith("__")]


def undescribed(schema: GraphQLSchema) -> list[str]:
    missing = []
    for t in own_types(schema):
        if not (t.description or "").strip():
            missing.append(f"type {t.name}")
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for name, f in t.fields.items():
                if not (f.description or "").strip():
                    missing.append(f"field {t.name}.{name}")
                for arg_name, arg in getattr(f, "args", {}).items():
                    if not (arg.description or "").strip():
                        missing.append(f"argument {t.name}.{name}({arg_name})")
        if isinstance(t, GraphQLEnumType):
            for value_name, value in t.values.items():
                if not (value.description or "").strip():
                    missing.append(f"enum value {t.name}.{value_name}")
    return missing


async def test_everything_is_described(tenant: Tenant, introspected: dict[str, Any]):
    schema = await live_schema(tenant, introspected)
    assert undescribed(schema) == []
    # the check sees what it claims to: a sample of each kind, from REST's words
    employee = schema.type_map["Employee"]
    assert isinstance(employee, GraphQLObjectType)
    assert employee.description == "A person of the organization, as the HRIS knows them."
    objective = schema.type_map["Objective"]
    assert isinstance(objective, GraphQLObjectType)
    assert objective.fields["createdAt"].description == "When it was created (RFC 3339, UTC)"
    assert employee.fields["givenName"].description == "The given (first) name"
    status = schema.type_map["EmployeeStatus"]
    assert isinstance(status, GraphQLEnumType) and status.values["ON_LEAVE"].description == "Employed, on leave"
    query = schema.type_map["Query"]
    assert isinstance(query, GraphQLObjectType)
    assert query.fields["employees"].args["first"].description.startswith("How many to return")


def test_descriptions_come_from_the_rest_models(app: Any):
    """One text for both APIs: the REST model's field description (or the shared
    glossary's) is the GraphQL field's, and the REST document carries it too."""
    from service.graphql.schema import schema
    from service.org.schemas import EmployeeRead

    sdl = schema._schema
    employee = sdl.type_map["Employee"]
    assert isinstance(employee, GraphQLObjectType)
    for name, field in EmployeeRead.model_fields.items():
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        # `id` is the global id; a hidden `compensation` is null in GraphQL, absent in REST: their own words
        if camel in employee.fields and name not in ("id", "compensation"):
            described = field.description or ""
            assert employee.fields[camel].description == described[:1].upper() + described[1:], name
    openapi = app.openapi()
    props = openapi["components"]["schemas"]["EmployeeRead"]["properties"]
    assert props["created_at"]["description"] == "When it was created (RFC 3339, UTC)"
    assert props["family_name"]["description"] == "The family (last) name"


def test_glossary_fills_only_what_a_model_leaves_open():
    from pydantic import Field

    from service.kit.schemas import Output

    class Probe(Output):
        created_at: str
        updated_at: str = Field(description="its own words")
        version: int = Field(1, ge=0)

    assert Probe.model_fields["created_at"].description == "When it was created (RFC 3339, UTC)"
    assert Probe.model_fields["updated_at"].description == "its own words"
    assert Probe.model_fields["version"].description is not None and Probe.model_fields["version"].default == 1
    assert Probe.model_json_schema()["properties"]["version"]["minimum"] == 0
