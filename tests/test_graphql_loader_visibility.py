"""The GraphQL dataloaders read only what the caller may read (service/graphql/visibility.py):
every model a loader reads in service/ has a visibility rule (found by scanning the
source, so a new `loaders.by_id(Model)` without one fails here), a loader for a model
without a rule raises before any query, and a loader called directly, with no resolver
check around it, answers None or an empty group for a row its caller may not read."""

from __future__ import annotations

import ast
import importlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import service
import service.graphql.schema  # noqa: F401  (every module's GraphQL adapter, hence every rule, registered)
from service.auth.context import Ctx
from service.db import database
from service.evaluations.models import Evaluation, Interview, PeerRequest
from service.graphql import visibility
from service.graphql.context import GqlContext, Loaders
from service.kpi.models import KpiMeasurement
from service.okr.models import CheckIn, KeyResult, Objective, ObjectiveSupport
from service.org.models import Employee
from service.principal import Principal
from service.scoring.models import ScoreJob
from tests.conftest import Tenant

SERVICE = Path(service.__file__).resolve().parent
LOADERS = ("by_id", "many_by")


def _module(path: Path) -> str:
    parts = list(path.relative_to(SERVICE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_loaders(node: ast.expr) -> bool:
    """`loaders` or `<anything>.loaders` (`info.context.loaders`)."""
    return (isinstance(node, ast.Name) and node.id == "loaders") or (
        isinstance(node, ast.Attribute) and node.attr == "loaders"
    )


def loader_calls() -> Iterator[tuple[str, int, Any]]:
    """(file, line, model) of every `loaders.by_id(Model)` and `loaders.many_by(Model, ...)`
    in service/; the model is resolved in its module's namespace."""
    for path in sorted(SERVICE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOADERS
                and _is_loaders(node.func.value)
            ):
                continue
            where = f"{path.relative_to(SERVICE.parent)}:{node.lineno}"
            arg = node.args[0] if node.args else None
            assert isinstance(arg, ast.Name), f"{where}: load a model named in the module, not an expression"
            yield where, node.lineno, getattr(importlib.import_module(_module(path)), arg.id)


def test_every_model_a_loader_reads_has_a_visibility_rule() -> None:
    calls = list(loader_calls())
    found = {model for _, _, model in calls}
    # the scan finds the loaders (so this test cannot pass by finding nothing)
    assert {Objective, KeyResult, CheckIn, Employee, Evaluation, PeerRequest, Interview, KpiMeasurement} <= found
    missing = sorted(f"{where}: {model.__name__}" for where, _, model in calls if model not in visibility.registered())
    assert not missing, f"dataloaders read models without a visibility rule: {missing}"


def _ctx(org_id: uuid.UUID, session: Any = None, **principal: Any) -> Ctx:
    p = Principal(sub=f"user-{uuid.uuid4().hex[:8]}", org_id=org_id, kind=principal.pop("kind", "person"), **principal)
    if session is not None:
        return Ctx(session=session, principal=p)

    def no_session() -> Any:
        raise AssertionError("no query may run")

    return Ctx(principal=p, opener=no_session)


async def test_a_loader_of_a_model_without_a_rule_raises_before_any_query() -> None:
    assert ObjectiveSupport not in visibility.registered() and ScoreJob not in visibility.registered()
    loaders = Loaders(_ctx(uuid.uuid4(), roles=frozenset({"admin"})))
    with pytest.raises(visibility.NoVisibilityRule):
        loaders.by_id(ObjectiveSupport)
    with pytest.raises(visibility.NoVisibilityRule):
        loaders.many_by(ObjectiveSupport, "objective_id")
    with pytest.raises(visibility.NoVisibilityRule):
        await visibility.statement(loaders._ctx, ScoreJob)


async def _post(t: Tenant, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    resp = await t.client.post(path, headers=headers or t.hr, json=body)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


async def test_loaders_answer_only_what_the_caller_may_read(team: Tenant) -> None:
    t = team
    ids = {k: uuid.UUID(v["id"]) for k, v in t.employees.items()}
    cycle = await _post(
        t, "/api/v1/cycles", {"name": "FY", "cadence": "custom", "start_date": "2026-01-01", "end_date": "2026-12-31"}
    )
    for to in ("active", "review"):
        await _post(t, f"/api/v1/cycles/{cycle['id']}/transition", {"to": to})
    # alice's private objective, a key result and a check-in
    secret = await _post(
        t,
        "/api/v1/objectives",
        {
            "title": "Secret",
            "level": "individual",
            "owner_id": str(ids["alice"]),
            "cycle_id": cycle["id"],
            "visibility": "private",
        },
    )
    kr = await _post(
        t,
        "/api/v1/key-results",
        {"objective_id": secret["id"], "title": "Grow", "kind": "metric", "start": "0", "target": "100"},
    )
    await _post(t, f"/api/v1/key-results/{kr['id']}/check-ins", {"value": "10"})
    # alice's evaluation, with bob asked for feedback
    ev = await _post(t, "/api/v1/evaluations", {"employee_id": str(ids["alice"]), "cycle_id": cycle["id"]})
    req = await _post(t, f"/api/v1/evaluations/{ev['id']}/peer-requests", {"reviewer_id": str(ids["bob"])})
    # alice's KPI assignment and a measurement
    d = await _post(
        t,
        "/api/v1/kpi-definitions",
        {"code": "sales", "name": "Sales", "direction": "higher_is_better", "aggregation": "sum"},
    )
    asg = await _post(
        t,
        "/api/v1/kpi-assignments",
        {
            "employee_id": str(ids["alice"]),
            "cycle_id": cycle["id"],
            "definition_id": d["id"],
            "method": "ratio",
            "target": 10,
        },
    )
    await _post(t, f"/api/v1/kpi-assignments/{asg['id']}/measurements", {"value": 3, "measured_at": "2026-03-01"})

    def person(who: str | None, *roles: str) -> dict[str, Any]:
        return {"roles": frozenset(roles or {"employee"}), "employee_id": ids[who] if who else None}

    callers: dict[str, dict[str, Any]] = {
        "hr": person(None, "hr"),
        "alice": person("alice"),
        "lead": person("lead"),  # alice's manager
        "boss": person("boss"),  # her manager's manager
        "bob": person("bob"),  # another employee, alice's reviewer
        "dave": person("dave"),
        "kpi": {"kind": "client", "scopes": frozenset({"kpi:write"})},
        "payroll": {"kind": "client", "scopes": frozenset({"payroll:read"})},
    }

    async def sees(who: str) -> dict[str, Any]:
        async with database.sessions() as session:
            loaders = GqlContext(_ctx(t.org_id, session, **callers[who])).loaders
            return {
                "objective": await loaders.by_id(Objective).load(uuid.UUID(secret["id"])) is not None,
                "key_results": len(await loaders.many_by(KeyResult, "objective_id").load(uuid.UUID(secret["id"]))),
                "key_result": await loaders.by_id(KeyResult).load(uuid.UUID(kr["id"])) is not None,
                "check_ins": len(await loaders.many_by(CheckIn, "key_result_id").load(uuid.UUID(kr["id"]))),
                "evaluation": await loaders.by_id(Evaluation).load(uuid.UUID(ev["id"])) is not None,
                "peer_requests": [
                    str(r.id) for r in await loaders.many_by(PeerRequest, "evaluation_id").load(uuid.UUID(ev["id"]))
                ],
                "measurements": len(await loaders.many_by(KpiMeasurement, "assignment_id").load(uuid.UUID(asg["id"]))),
                "employee": await loaders.by_id(Employee).load(ids["alice"]) is not None,
            }

    everything = {
        "objective": True,
        "key_results": 1,
        "key_result": True,
        "check_ins": 1,
        "evaluation": True,
        "peer_requests": [req["id"]],
        "measurements": 1,
        "employee": True,
    }
    nothing = {
        "objective": False,
        "key_results": 0,
        "key_result": False,
        "check_ins": 0,
        "evaluation": False,
        "peer_requests": [],
        "measurements": 0,
        "employee": True,  # the directory is every person's
    }
    assert await sees("hr") == everything
    assert await sees("lead") == everything
    assert await sees("boss") == everything
    # alice reads her own objective, evaluation and measurements, but not her peer
    # requests' rows: she sees them only anonymised, through her evaluation
    assert await sees("alice") == {**everything, "peer_requests": []}
    # bob answers the request (he reads it whole), and sees nothing else of alice's
    assert await sees("bob") == {**nothing, "peer_requests": [req["id"]]}
    assert await sees("dave") == nothing
    # a `kpi:write` client reads every assignment's measurements, no OKR, no evaluation
    # and no directory; a `payroll:read` client reads the directory
    assert await sees("kpi") == {**nothing, "measurements": 1, "employee": False}
    assert await sees("payroll") == nothing

    # the answers through GraphQL are unchanged: alice still sees bob's request anonymised
    # (no status, no version); lead sees it whole
    query = "query($id: ID!) { evaluation(id: $id) { peerRequests { databaseId reviewerId status version } } }"
    for headers, expected in (
        (t.employee("alice"), {"databaseId": req["id"], "reviewerId": None, "status": None, "version": None}),
        (
            t.employee("lead"),
            {"databaseId": req["id"], "reviewerId": str(ids["bob"]), "status": "REQUESTED", "version": 1},
        ),
    ):
        resp = await t.client.post("/graphql", headers=headers, json={"query": query, "variables": {"id": ev["id"]}})
        body = resp.json()
        assert "errors" not in body, body
        assert body["data"]["evaluation"]["peerRequests"] == [expected]
