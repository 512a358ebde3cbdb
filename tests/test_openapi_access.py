"""Who may call each operation, as the OpenAPI document says it (service/web/openapi_access.py),
read from the rule each handler declares (service/authz/access.py). That the declarations
match what the services enforce is checked cell by cell by the authorization matrices
(tests/authz_matrix.py `check_declared`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.security import HTTPBearer

from service.authz import policy
from service.authz.access import audience, governed_by
from service.authz.policy import Relation
from service.principal import SCOPE_MEANINGS
from service.web import openapi_access, openapi_contract
from tests import authz_matrix

API = "/api/v1"
WHO = "**Who may call:**"


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return app.openapi()


def op(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return document["paths"][path][method]


def line(operation: dict[str, Any]) -> str:
    return operation["description"].rsplit("\n\n", 1)[-1]


def test_every_operation_behind_a_token_says_who_may_call_it(document: dict[str, Any]):
    behind = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            if path.startswith(API):
                behind += 1
                assert operation["security"][0] == {"HTTPBearer": []}, where
                assert line(operation).startswith(WHO), where
                assert operation["x-roles"] or operation["x-scopes"], where
                assert set(operation["x-scopes"]) <= set(SCOPE_MEANINGS), where
                oauth = [r["OAuth2"] for r in operation["security"] if "OAuth2" in r]
                assert oauth == [[s] for s in operation["x-scopes"]], where
            else:
                assert "x-roles" not in operation and WHO not in operation.get("description", ""), where
    assert behind > 100


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_need_no_token(document: dict[str, Any], path: str):
    assert op(document, "get", path)["security"] == []


def test_the_token_endpoint_takes_client_credentials_not_a_token(document: dict[str, Any]):
    security = op(document, "post", "/oauth/token")["security"]
    assert all("HTTPBearer" not in r and "OAuth2" not in r for r in security)


KNOWN = [
    ("get", "/audit-events", ["admin", "auditor"], [], "admin, auditor. **Client scopes:** none."),
    ("post", "/kpi-measurements/bulk", ["admin", "hr"], ["kpi:write"], "admin, hr. **Client scopes:** kpi:write."),
    (
        "get",
        "/employees",
        ["admin", "hr", "auditor", "employee"],
        ["scim", "employees:write", "payroll:read"],
        "admin, hr, auditor; every employee. **Client scopes:** scim, employees:write, payroll:read.",
    ),
    (
        "post",
        "/objectives/{objective_id}/{action}",
        ["admin", "hr", "employee"],
        [],
        "admin, hr; employees for their own; managers for their reports'. **Client scopes:** none.",
    ),
    (
        "post",
        "/interviews/{interview_id}/acknowledge",
        ["employee"],
        [],
        "employees for their own. **Client scopes:** none.",
    ),
    (
        "get",
        "/payroll/incentive-results",
        ["admin", "hr"],
        ["payroll:read"],
        "admin, hr. **Client scopes:** payroll:read.",
    ),
    ("patch", "/organization", ["admin"], [], "admin. **Client scopes:** none."),
]


@pytest.mark.parametrize(("method", "path", "roles", "scopes", "says"), KNOWN, ids=[f"{m} {p}" for m, p, *_ in KNOWN])
def test_known_operations_say_what_the_policy_says(
    document: dict[str, Any], method: str, path: str, roles: list[str], scopes: list[str], says: str
):
    operation = op(document, method, API + path)
    assert operation["x-roles"] == roles
    assert operation["x-scopes"] == scopes
    assert operation["security"] == [{"HTTPBearer": []}, *({"OAuth2": [s]} for s in scopes)]
    assert line(operation) == f"{WHO} {says}"


def test_employee_relations_are_listed_for_tools(document: dict[str, Any]):
    assert op(document, "get", API + "/evaluations/{evaluation_id}")["x-employee-relations"] == ["self", "manager"]
    assert op(document, "get", API + "/departments")["x-employee-relations"] == ["self", "manager", "other"]
    assert op(document, "get", API + "/calibrations")["x-employee-relations"] == []


def test_audience_reads_decisions_and_booleans():
    log = audience([policy.read_audit_log])
    assert (log.roles, log.relations, log.scopes) == (("admin", "auditor"), (), ())
    pay = audience([policy.see_compensation])  # a bool rule
    assert pay.roles == ("admin", "hr")
    assert pay.relations == (Relation.SELF,)
    assert pay.scopes == ("employees:write", "payroll:read")


def test_bound_strings_decide_the_audience():
    assert audience([policy.objective_action], {"action": ("submit",)}).relations == (Relation.SELF,)
    approve = audience([policy.objective_action], {"action": ("approve",)})
    assert approve.relations == (Relation.MANAGER,)
    assert approve.roles == ("admin", "hr")
    both = audience([policy.objective_action], {"action": ("submit", "approve")})
    assert both.relations == (Relation.SELF, Relation.MANAGER)


def test_several_rules_add_up():
    union = audience([policy.write_self_review, policy.write_manager_review])
    assert union.relations == (Relation.SELF, Relation.MANAGER)
    assert union.roles == ("admin", "hr")


def test_a_declaration_must_bind_every_string_it_needs():
    with pytest.raises(TypeError, match="action"):
        governed_by(policy.objective_action)
    with pytest.raises(TypeError, match="colour"):
        governed_by(policy.read_directory, colour="blue")
    with pytest.raises(TypeError, match="at least one rule"):
        governed_by()


def test_a_rule_with_parameters_that_cannot_be_enumerated_is_refused():
    with pytest.raises(TypeError, match="Principal"):
        governed_by(policy.anonymous_feedback_visible)


def _app(declare: bool) -> FastAPI:
    router = APIRouter(dependencies=[Depends(HTTPBearer())])

    async def list_things() -> list[str]:
        return []

    handler = governed_by(policy.read_directory)(list_things) if declare else list_things
    router.add_api_route("/api/v1/things", handler, methods=["GET"])
    app = FastAPI()
    app.include_router(router)
    return app


def test_a_route_behind_a_token_without_a_rule_stops_the_document():
    app = _app(declare=False)
    with pytest.raises(RuntimeError, match="GET /api/v1/things is behind a token but list_things declares no rule"):
        openapi_access.declare_access(app.openapi(), openapi_contract.documented_routes(app))
    app = _app(declare=True)
    document = openapi_access.declare_access(app.openapi(), openapi_contract.documented_routes(app))
    assert document["paths"]["/api/v1/things"]["get"]["x-scopes"] == ["scim", "employees:write", "payroll:read"]


def _answer(method: str, url: str, status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request(method, "http://test" + url))


def test_the_matrices_refuse_a_2xx_the_declared_rule_does_not_allow():
    route = authz_matrix.Route("audit.list", "GET", "/api/v1/audit-events", {})
    authz_matrix.check_declared(route, "auditor", _answer("GET", "/api/v1/audit-events?limit=5", 200))
    authz_matrix.check_declared(route, "hr", _answer("GET", "/api/v1/audit-events", 404))  # refused: nothing to say
    with pytest.raises(AssertionError, match="hr got 200"):
        authz_matrix.check_declared(route, "hr", _answer("GET", "/api/v1/audit-events", 200))
    bulk = authz_matrix.Route("bulk", "POST", "/api/v1/kpi-measurements/bulk", {})
    authz_matrix.check_declared(bulk, "kpi:write", _answer("POST", "/api/v1/kpi-measurements/bulk", 200))
    with pytest.raises(AssertionError, match="payroll:read got 200"):
        authz_matrix.check_declared(bulk, "payroll:read", _answer("POST", "/api/v1/kpi-measurements/bulk", 200))
