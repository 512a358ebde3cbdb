"""The names client generators read in the OpenAPI document (service/web/openapi_contract.py):
operation ids, component schema names, tags, servers, contact and license."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from service.web import openapi_contract

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in document["paths"].items() for m, op in item.items()]


def test_operation_ids_are_the_handlers_names_short_and_unique(app: Any, document: dict[str, Any]):
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(SNAKE.match(i) and len(i) <= 40 for i in ids), [i for i in ids if not SNAKE.match(i) or len(i) > 40]
    handlers = {r.name for r in openapi_contract.documented_routes(app)}
    assert set(ids) == handlers
    assert document["paths"]["/api/v1/employees"]["get"]["operationId"] == "list_employees"


def test_component_schema_names_are_plain_and_unique(document: dict[str, Any]):
    names = list(document["components"]["schemas"])
    # FastAPI falls back to the module path (`service__x__schemas__Name`) when two models share a name
    assert [n for n in names if "__" in n or not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", n)] == []
    # no generic's mangled name (`PageOut_EmployeeRead_`) nor FastAPI's form name (`Body_oauth_token_...`)
    assert [n for n in names if n.endswith("_") or "[" in n or n.startswith("Body_")] == []
    assert {"EmployeePage", "ObjectivePage", "TokenRequest"} <= set(names)


def test_a_generic_component_named_like_another_stops_the_document():
    document = {
        "components": {
            "schemas": {
                "PageOut_ThingRead_": {"title": "ThingPage", "properties": {}},
                "ThingPage": {"title": "ThingPage", "properties": {}},
            }
        }
    }
    with pytest.raises(RuntimeError, match="ThingPage"):
        openapi_contract.name_generics(document)
    renamed = openapi_contract.name_generics(
        {
            "components": {"schemas": {"PageOut_ThingRead_": {"title": "ThingPage"}}},
            "paths": {"/t": {"get": {"schema": {"$ref": "#/components/schemas/PageOut_ThingRead_"}}}},
        }
    )
    assert list(renamed["components"]["schemas"]) == ["ThingPage"]
    assert renamed["paths"]["/t"]["get"]["schema"] == {"$ref": "#/components/schemas/ThingPage"}


def test_every_operation_has_one_declared_domain_tag(document: dict[str, Any]):
    declared = {t["name"]: t for t in document["tags"]}
    assert all(IDENTIFIER.match(name) and tag["description"] for name, tag in declared.items())
    used = {t for _, _, op in operations(document) for t in op["tags"]}
    assert used == set(declared)
    assert all(len(op["tags"]) == 1 for _, _, op in operations(document))
    assert document["paths"]["/api/v1/objectives"]["get"]["tags"] == ["okr"]
    assert document["paths"]["/oauth/token"]["post"]["tags"] == ["auth"]


def test_servers_contact_and_license(document: dict[str, Any]):
    assert document["servers"] and all(s["url"] for s in document["servers"])
    assert document["info"]["contact"]["name"]
    assert document["info"]["license"]["name"]


def _app_with(*handlers: tuple[str, Any], module: str = "service.org.api") -> FastAPI:
    app = FastAPI()
    router = APIRouter()
    for path, handler in handlers:
        handler.__module__ = module
        router.add_api_route(path, handler, methods=["GET"])
    app.include_router(router)
    return app


def test_a_duplicate_operation_id_or_an_untagged_module_stops_the_document():
    def list_things() -> dict[str, str]:
        return {}

    def list_things_too() -> dict[str, str]:
        return {}

    list_things_too.__name__ = "list_things"
    app = _app_with(("/a", list_things), ("/b", list_things_too))
    with pytest.raises(RuntimeError, match="already"):
        openapi_contract.name_operations(app, app.openapi())

    def list_others() -> dict[str, str]:
        return {}

    app = _app_with(("/c", list_others), module="service.nowhere.api")
    with pytest.raises(RuntimeError, match="no tag"):
        openapi_contract.name_operations(app, app.openapi())


def test_security_schemes_name_the_bearer_jwt_and_the_client_credentials_flow(document: dict[str, Any]):
    from service.principal import CLIENT_SCOPES

    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["bearerFormat"] == "JWT"
    flow = schemes["OAuth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == CLIENT_SCOPES and all(flow["scopes"].values())
    for path, item in document["paths"].items():
        for method, op in item.items():
            if path in ("/healthz", "/readyz", "/calendar/{token}.ics"):  # the feed's token is in its URL
                assert op["security"] == [], path
            elif path == "/oauth/token":
                assert {} in op["security"]
            else:  # the scopes that admit it (tests/test_openapi_access.py)
                first, *clients = op["security"]
                assert first == {"HTTPBearer": []}, (method, path)
                assert all(list(r) == ["OAuth2"] and set(r["OAuth2"]) <= CLIENT_SCOPES for r in clients), (method, path)


def test_the_token_answer_is_typed(document: dict[str, Any]):
    ok = document["paths"]["/oauth/token"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TokenResponse"}
    token = document["components"]["schemas"]["TokenResponse"]
    assert set(token["required"]) == {"access_token", "token_type", "expires_in", "scope"}


def test_every_parameter_is_described(document: dict[str, Any]):
    undescribed = [
        (m, path, p["name"])
        for m, path, op in operations(document)
        for p in op.get("parameters", [])
        if not p.get("description")
    ]
    assert undescribed == []
    employee = document["paths"]["/api/v1/employees/{employee_id}"]["get"]["parameters"][0]
    assert employee["description"] == "The employee's id"


def test_every_operation_is_described(document: dict[str, Any]):
    assert [op["operationId"] for _, _, op in operations(document) if not op.get("description")] == []


def test_no_property_keeps_an_inline_enum(document: dict[str, Any]):
    """A property's enum is a named component even when the property has a default
    (`EmployeeCreate.status` refers to `EmployeeStatus`), so a generator makes one class a
    set of values, not one more per request model."""
    inline = [
        f"{name}.{prop}"
        for name, schema in document["components"]["schemas"].items()
        for prop, sub in (schema.get("properties") or {}).items()
        if "enum" in sub or any("enum" in member for member in sub.get("anyOf", ()))
    ]
    assert inline == []
    status = document["components"]["schemas"]["EmployeeCreate"]["properties"]["status"]
    assert status == {**status, "$ref": "#/components/schemas/EmployeeStatus", "default": "active"}
