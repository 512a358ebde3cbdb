"""The GraphQL contract as clients and tools read it, checked on the live schema (its
introspection over HTTP, as GraphiQL, codegen and linters read it):

- every type, field, argument, enum and enum value is described, in the REST models'
  words (service/graphql/common.py `described`, service/kit/glossary.py,
  service/graphql/values.py);
- the custom scalars name their specification, and REST and GraphQL write the same
  objects' times character for character;
- names are camelCase (fields, arguments) and UPPER_CASE (enum values); every
  `*Connection` has Relay's shape and `PageInfo` its four fields; every object with an
  `id` is a `Node`, and every Node type round-trips through `node(id:)`/`nodes(ids:)`;
- over HTTP: GET answers queries, refuses mutations (405, `Allow: POST`), opens GraphiQL
  without a token, and every operation needs one.

The tools' own checks (the schema linter, Apollo's pagination, codegen) are in
tests/test_graphql_tools.py."""

from __future__ import annotations

import re
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

from service.graphql.nodes import global_id
from tests.conftest import Tenant


@pytest.fixture(scope="module")
def introspected() -> dict[str, Any]:
    """Where `live_schema` keeps the schema it read: once per module (the request needs a
    tenant, which is per test)."""
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


# --- scalars ------------------------------------------------------------------------------------

SCALAR_SPECS = {
    "DateTime": "https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
    "Date": "https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
    "UUID": "https://www.rfc-editor.org/rfc/rfc9562",
    "JSON": "https://www.rfc-editor.org/rfc/rfc8259",
    "DecimalString": "https://www.rfc-editor.org/rfc/rfc8259#section-6",
    "MinorUnits": "https://www.rfc-editor.org/rfc/rfc8259#section-6",
}


async def test_custom_scalars_say_how_they_are_written(tenant: Tenant, introspected: dict[str, Any]):
    from graphql import GraphQLScalarType

    schema = await live_schema(tenant, introspected)
    custom = {
        t.name: t
        for t in own_types(schema)
        if isinstance(t, GraphQLScalarType) and t.name not in ("String", "Int", "Float", "Boolean", "ID")
    }
    assert set(custom) == set(SCALAR_SPECS)  # a new scalar needs a row here
    for name, scalar in custom.items():
        assert scalar.specified_by_url == SCALAR_SPECS[name], name
        assert len(scalar.description or "") > 40, name  # says how the value is written, with an example
        assert "`" in (scalar.description or ""), name


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def time_fields(schema: GraphQLSchema, type_name: str) -> list[str]:
    """The type's fields that are DateTime or Date (non-null or not)."""
    from graphql import get_named_type

    t = schema.type_map[type_name]
    assert isinstance(t, GraphQLObjectType)
    return [n for n, f in t.fields.items() if get_named_type(f.type).name in ("DateTime", "Date") and not f.args]


async def test_timestamps_read_the_same_in_rest_and_graphql(team: Tenant, introspected: dict[str, Any]):
    """The same objects' times through both APIs, character for character: a check-in
    given with an offset and milliseconds, objects stamped by the server (microseconds),
    dates of a cycle."""
    from tests.okr.conftest import check_in, make_cycle, make_kr, make_objective, publish

    t = team
    schema = await live_schema(t, introspected)
    cycle = await make_cycle(t, start="2026-01-01", end="2026-06-30")
    objective = await make_objective(t, cycle, "alice", owner_id=t.employees["alice"]["id"])
    kr = await make_kr(t, objective)
    await make_kr(t, objective, title="Keep churn low")
    await publish(t, objective)
    checked = await check_in(t, kr, value="10", checked_in_at="2026-03-01T10:30:00.250+02:00")
    await check_in(t, kr, value="20")  # stamped by the server
    objects = {
        "Employee": f"/api/v1/employees/{t.employees['alice']['id']}",
        "Cycle": f"/api/v1/cycles/{cycle['id']}",
        "Objective": f"/api/v1/objectives/{objective['id']}",
        "KeyResult": f"/api/v1/key-results/{kr['id']}",
    }
    compared: dict[str, list[str]] = {}
    for type_name, path in objects.items():
        rest = (await t.client.get(path, headers=t.hr)).json()
        fields = [f for f in time_fields(schema, type_name) if any(camel(k) == f for k in rest)]
        query = (
            f'{{ node(id: "{global_id(type_name, rest["id"])}") {{ ... on {type_name} {{ id {" ".join(fields)} }} }} }}'
        )
        got = await t.client.post("/graphql", headers=t.hr, json={"query": query})
        node = got.json()["data"]["node"]
        for key, value in rest.items():
            if camel(key) in fields:
                assert node[camel(key)] == value, (type_name, key)
        compared[type_name] = fields
    rest_checks = (await t.client.get(f"/api/v1/key-results/{kr['id']}/check-ins", headers=t.hr)).json()["items"]
    kr_id = global_id("KeyResult", kr["id"])
    query = f'{{ node(id: "{kr_id}") {{ ... on KeyResult {{ checkIns {{ databaseId checkedInAt createdAt }} }} }} }}'
    got = (await t.client.post("/graphql", headers=t.hr, json={"query": query})).json()["data"]["node"]["checkIns"]
    by_id = {c["databaseId"]: c for c in got}
    assert len(rest_checks) == 2 == len(by_id)
    for c in rest_checks:
        assert by_id[c["id"]]["checkedInAt"] == c["checked_in_at"] and by_id[c["id"]]["createdAt"] == c["created_at"]
    assert checked["checked_in_at"] == "2026-03-01T08:30:00.250000Z"  # in UTC, from the first answer on
    mutation = (
        'mutation($kr: ID!, $at: DateTime!) { createCheckIn(keyResultId: $kr, input: {value: "30", '
        "checkedInAt: $at}) { databaseId checkedInAt createdAt } }"
    )
    variables = {"kr": kr["id"], "at": "2026-03-02T01:00:00-05:00"}
    made = (await t.client.post("/graphql", headers=t.hr, json={"query": mutation, "variables": variables})).json()
    made = made["data"]["createCheckIn"]
    assert made["checkedInAt"] == "2026-03-02T06:00:00Z"
    again = (await t.client.get(f"/api/v1/key-results/{kr['id']}/check-ins", headers=t.hr)).json()["items"]
    (twin,) = [c for c in again if c["id"] == made["databaseId"]]
    assert (twin["checked_in_at"], twin["created_at"]) == (made["checkedInAt"], made["createdAt"])
    assert {"createdAt", "updatedAt"} <= set(compared["Objective"])
    assert {"startDate", "endDate"} <= set(compared["Cycle"]) and "lastCheckedInAt" in compared["KeyResult"]


# --- names and shapes ---------------------------------------------------------------------------

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
PASCAL = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")


async def test_names_follow_graphql_conventions(tenant: Tenant, introspected: dict[str, Any]):
    schema = await live_schema(tenant, introspected)
    wrong = []
    for t in own_types(schema):
        if not PASCAL.match(t.name):
            wrong.append(f"type {t.name}")
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for name, f in t.fields.items():
                if not CAMEL.match(name):
                    wrong.append(f"field {t.name}.{name}")
                wrong += [f"argument {t.name}.{name}({a})" for a in getattr(f, "args", {}) if not CAMEL.match(a)]
        if isinstance(t, GraphQLEnumType):
            wrong += [f"enum value {t.name}.{v}" for v in t.values if not UPPER.match(v)]
    assert wrong == []
    # the check reads what it claims to: snake_case names exist in REST, not here
    employee = schema.type_map["Employee"]
    assert isinstance(employee, GraphQLObjectType) and "givenName" in employee.fields
    assert not CAMEL.match("given_name") and not UPPER.match("on_leave")


RELAY_CONNECTION = ("edges", "pageInfo", "nodes")
# a connection's own fields beside Relay's (the spec allows them)
EXTRA = {"PeerFeedbackConnection": {"summary", "attributed"}}


def type_ref(t: Any) -> str:
    """A field's type as SDL writes it (`[EmployeeEdge!]!`)."""
    return str(t)


async def test_connections_have_the_relay_shape(tenant: Tenant, introspected: dict[str, Any]):
    from graphql import get_named_type

    schema = await live_schema(tenant, introspected)
    page_info = schema.type_map["PageInfo"]
    assert isinstance(page_info, GraphQLObjectType)
    assert {n: type_ref(f.type) for n, f in page_info.fields.items()} == {
        "hasNextPage": "Boolean!",
        "hasPreviousPage": "Boolean!",
        "startCursor": "String",
        "endCursor": "String",
    }
    connections = [t for t in own_types(schema) if t.name.endswith("Connection")]
    assert len(connections) >= 20
    for conn in connections:
        assert isinstance(conn, GraphQLObjectType), conn.name
        node = get_named_type(conn.fields["nodes"].type).name if "nodes" in conn.fields else None
        edge = f"{node}Edge"
        shape = {n: type_ref(f.type) for n, f in conn.fields.items() if n in RELAY_CONNECTION}
        assert shape == {"edges": f"[{edge}!]!", "pageInfo": "PageInfo!", "nodes": f"[{node}!]!"}, conn.name
        # the spec lets a connection add fields; the one that does says so here
        assert set(conn.fields) - set(RELAY_CONNECTION) == EXTRA.get(conn.name, set()), conn.name
        edge_type = schema.type_map[edge]
        assert isinstance(edge_type, GraphQLObjectType)
        assert {n: type_ref(f.type) for n, f in edge_type.fields.items()} == {"cursor": "String!", "node": f"{node}!"}
    # every field answering a connection pages forward with Relay's arguments
    for t in own_types(schema):
        if isinstance(t, GraphQLObjectType):
            for name, f in t.fields.items():
                if get_named_type(f.type).name.endswith("Connection"):
                    args = {a: type_ref(arg.type) for a, arg in f.args.items()}
                    assert args.get("first") == "Int" and args.get("after") == "String", f"{t.name}.{name}"


async def test_objects_with_an_id_are_nodes(tenant: Tenant, introspected: dict[str, Any]):
    schema = await live_schema(tenant, introspected)
    node = schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType) and type_ref(node.fields["id"].type) == "ID!"
    with_id = [t for t in own_types(schema) if isinstance(t, GraphQLObjectType) and "id" in t.fields]
    assert len(with_id) >= 20
    for t in with_id:
        assert node in t.interfaces, t.name
        assert type_ref(t.fields["id"].type) == "ID!" and type_ref(t.fields["databaseId"].type) == "UUID!", t.name


N = "__typename id databaseId"
EVERYTHING = f"""
query($job: ID!, $evaluation: ID!, $meeting: ID!) {{
  organization {{ {N} }}
  departments(first: 5) {{ nodes {{ {N} }} }}
  positions(first: 5) {{ nodes {{ {N} }} }}
  employees(first: 5) {{ nodes {{ {N} }} }}
  cycles(first: 5) {{ nodes {{ {N} }} }}
  kpiDefinitions(first: 5) {{ nodes {{ {N} }} }}
  kpiTemplates(first: 5) {{ nodes {{ {N} }} }}
  kpiAssignments(first: 5) {{ nodes {{ {N} measurements {{ {N} }} }} }}
  objectives(first: 5) {{ nodes {{ {N} keyResults {{ {N} checkIns {{ {N} }} }} }} }}
  scoringPolicies(first: 5) {{ nodes {{ {N} }} }}
  scoreJob(id: $job) {{ {N} }}
  evaluations(first: 5) {{ nodes {{ {N} peerRequests {{ {N} }} }} }}
  evaluationFeedback(evaluationId: $evaluation, first: 5) {{ nodes {{ {N} }} }}
  calibrations(first: 5) {{ nodes {{ {N} adjustments(first: 5) {{ nodes {{ {N} }} }} }} }}
  interviews(first: 5) {{ nodes {{ {N} }} }}
  reviewMeetings(first: 5) {{ nodes {{ {N} }} }}
  incentivePlans(first: 5) {{ nodes {{ {N} }} }}
  incentiveResults(first: 5) {{ nodes {{ {N} }} }}
  nominations(first: 5) {{ nodes {{ {N} }} }}
  developmentPlans(first: 5) {{ nodes {{ {N} items {{ {N} }} }} }}
  meetings(first: 5) {{ nodes {{ {N} }} }}
  meetingActions(meetingId: $meeting, first: 5) {{ nodes {{ {N} }} }}
  payrollIncentiveResults(first: 5) {{ nodes {{ {N} }} }}
}}
"""


def collect(value: Any, into: dict[str, dict[str, Any]]) -> None:
    """Every object of the answer that has a global id, by id."""
    if isinstance(value, dict):
        if "id" in value and "__typename" in value:
            into[value["id"]] = {k: value[k] for k in ("__typename", "id", "databaseId")}
        for v in value.values():
            collect(v, into)
    elif isinstance(value, list):
        for v in value:
            collect(v, into)


async def test_every_node_type_round_trips_through_node(client: Any, introspected: dict[str, Any]):
    """A world made through the API (the GraphQL authorization matrix's): one object of
    every Node type at least, found through the lists, read back by `node(id:)` and by
    `nodes(ids:)`, the same object (type, global id and databaseId)."""
    from tests.graphql_authz_world import build_shared

    w = await build_shared(client)
    t = w.tenant
    schema = await live_schema(t, introspected)
    variables = {"job": w.ids["job"], "evaluation": w.ids["ev"], "meeting": w.ids["rhythm"]}
    resp = await t.client.post("/graphql", headers=t.admin, json={"query": EVERYTHING, "variables": variables})
    body = resp.json()
    assert "errors" not in body, body
    found: dict[str, dict[str, Any]] = {}
    collect(body["data"], found)
    node_types = {t.name for t in schema.get_possible_types(schema.type_map["Node"])}  # type: ignore[arg-type]
    assert {o["__typename"] for o in found.values()} == node_types  # a new Node type needs a line in EVERYTHING
    one_each = {o["__typename"]: o for o in found.values()}
    for type_name, obj in sorted(one_each.items()):
        query = f"query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {N} }} }} }}"
        got = await t.client.post("/graphql", headers=t.admin, json={"query": query, "variables": {"id": obj["id"]}})
        assert got.json()["data"]["node"] == obj, type_name
    ids = list(found)
    fragments = " ".join(f"... on {n} {{ databaseId }}" for n in sorted(node_types))
    query = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ __typename id {fragments} }} }}"
    got = (await t.client.post("/graphql", headers=t.admin, json={"query": query, "variables": {"ids": ids}})).json()
    assert "errors" not in got, got
    assert got["data"]["nodes"] == [found[i] for i in ids]


# --- over HTTP ----------------------------------------------------------------------------------


async def test_get_answers_queries_and_refuses_mutations(tenant: Tenant):
    t = tenant
    ok = await t.client.get("/graphql", params={"query": "{__typename}"}, headers=t.hr)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"data": {"__typename": "Query"}}
    assert ok.headers["cache-control"] == "no-store"
    with_variables = await t.client.get(
        "/graphql",
        params={"query": "query($n: Int) { employees(first: $n) { nodes { id } } }", "variables": '{"n": 1}'},
        headers=t.hr,
    )
    assert with_variables.status_code == 200 and "errors" not in with_variables.json(), with_variables.text
    mutation = 'mutation { createPosition(input: {name: "Over GET"}) { id } }'
    refused = await t.client.get("/graphql", params={"query": mutation}, headers=t.hr)
    assert refused.status_code == 405, refused.text
    assert refused.headers["allow"] == "POST"
    assert refused.headers["content-type"].startswith("application/problem+json")
    positions = (await t.client.get("/api/v1/positions", headers=t.hr)).json()["items"]
    assert [p for p in positions if p["name"] == "Over GET"] == []  # nothing was created


async def test_graphiql_opens_without_a_token_but_operations_need_one(tenant: Tenant):
    t = tenant
    page = await t.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()
    for refused in (
        await t.client.get("/graphql", params={"query": "{__typename}"}),
        await t.client.get("/graphql", params={"query": "{__typename}"}, headers={"Accept": "text/html"}),
        await t.client.post("/graphql", json={"query": "{__typename}"}),
    ):
        assert refused.status_code == 401, refused.text
        assert "__typename" not in refused.text
