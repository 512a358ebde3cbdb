"""The organizations, callers, leak detectors and GraphQL ↔ REST names of the GraphQL
authorization matrix (tests/test_graphql_authz.py).

The shared world is the REST matrices' worlds built into one organization (their
builders, not copies): the OKR world (a published company objective of boss, a public
and a private objective of alice with key results and check-ins), the KPI world (a
definition, a position template, alice's assignment with a measurement), the incentive
world (draft, approved and finalized results of alice, a nomination) and the evaluation
world (alice's evaluation with a peer review submitted by bob, who was asked by lead,
a calibration session with an adjustment, an interview and a review meeting), plus a
department (headed by alice) and position for alice, an organization-wide scoring policy
that counts peer ratings, and one answer enough for alice's anonymous 360 summary. The
team is the conftest one (boss → lead → alice, bob; carol → boss) with dave → erin.

Fresh worlds for allowed mutations are built some seventy times, so they are leaner
and keep the same id names: the team made by one bulk upsert, then the KPI or
evaluation matrix's builder (at the stage the mutation needs), or a lighter OKR,
incentive or directory world holding only what the mutation names.

GraphQL speaks camelCase, enum names and global ids, REST snake_case, strings and UUIDs;
the matrix compares them through one mapping (`rest_name`, `rest_form`, `graphql_form`):
the rows write variables and REST bodies in REST's form, and read both answers in it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLType,
    OperationDefinitionNode,
    parse,
    type_from_ast,
)

from service.kit.models import AuditEvent
from tests.authz_worlds import SharedWorlds
from tests.conftest import Tenant, make_team, new_tenant
from tests.evaluations import test_authz as evaluation_matrix
from tests.evaluations.conftest import act as evaluation_act
from tests.evaluations.conftest import answer, transition
from tests.incentives import conftest as incentives
from tests.incentives import test_authz as incentive_matrix
from tests.incentives.test_authz import PAY_KEYS
from tests.kpi import test_authz as kpi_matrix
from tests.kpi.conftest import count_rows
from tests.okr import test_authz_okr as okr_matrix
from tests.okr.conftest import act as okr_act
from tests.okr.conftest import make_cycle, make_kr, make_objective
from tests.test_scoring_policies import make_policy

# --- callers -------------------------------------------------------------------------------

PERSONS = ("alice", "lead", "boss", "dave", "bob")  # subject, manager, indirect manager, elsewhere, other
SCOPES = ("employees:write", "kpi:write", "payroll:read", "payroll:ack", "webhooks", "scim")
CALLERS = ("admin", "hr", "auditor", *PERSONS, *SCOPES, "other_admin", "anonymous")
STAFF = ("admin", "hr")
MANAGERS = ("lead", "boss")
SEES_ALL_PAY = ("admin", "hr", "payroll:read", "employees:write")  # docs/api.md "Who sees what"
SEES_REVIEWERS = ("admin", "hr", "auditor", *MANAGERS, "bob")  # SPEC 10; bob is the reviewer himself


@dataclass
class World:
    tenant: Tenant
    other: Tenant
    ids: dict[str, str] = field(default_factory=dict)
    pay_values: tuple[str, ...] = ()  # every amount of pay in the organization, as text
    baselines: dict[Hashable, Any] = field(default_factory=dict)


def headers_for(w: World, caller: str) -> dict[str, str]:
    t = w.tenant
    if caller in ("admin", "hr", "auditor"):
        return t.as_(caller)
    if caller in PERSONS:
        return t.employee(caller)
    if caller == "other_admin":
        return w.other.admin
    if caller == "anonymous":
        return {}
    return t.as_scope(caller)


# --- worlds --------------------------------------------------------------------------------

OKR_KEYS = {
    "pub": "obj_pub",
    "priv": "obj_priv",
    "pub_kr": "kr_pub",
    "priv_kr": "kr_priv",
    "cycle": "okr_cycle",
    "company": "obj_company",
}
KPI_KEYS = {
    "cycle": "kpi_cycle",
    "gmv": "kpi_def",
    "nps": "kpi_def2",
    "asg": "kpi_asg",
    "meas": "kpi_meas",
    "tpl": "kpi_tpl",
}
INCENTIVE_KEYS = {"cycle": "inc_cycle", "draft": "res_draft", "approved": "res_approved", "final": "res_final"}
EVALUATION_KEYS = {"cycle": "eval_cycle"}


def adopt(ids: dict[str, str], keys: dict[str, str]) -> dict[str, str]:
    return {keys.get(k, k): v for k, v in ids.items()}


def people(t: Tenant) -> dict[str, str]:
    return {"org": str(t.org_id), **{k: v["id"] for k, v in t.employees.items()}}


async def _post_id(t: Tenant, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    """POST as hr (or `headers`); the new row's id."""
    resp = await t.client.post(path, headers=headers or t.hr, json=body)
    assert resp.status_code in (200, 201), (path, resp.text)
    return resp.json()["id"]


async def _evaluation_part(t: Tenant, other: Tenant) -> dict[str, str]:
    """Alice's evaluation reviewed (bob answered lead's peer request first), the cycle in
    calibration with an open session over alice holding one adjustment, an interview and
    a review meeting."""
    w = evaluation_matrix.World(tenant=t, other=other, ids=people(t))
    await evaluation_matrix.stage_self(w)
    ev = {"id": w.ids["ev"]}
    await answer(t, ev, "bob", 2, "Misses deadlines")
    await evaluation_act(t, ev, "submit_manager", t.employee("lead"), manager_review={"rating": 4})
    await transition(t, {"id": w.ids["cycle"]}, "calibration")
    cal = await _post_id(
        t, "/api/v1/calibrations", {"cycle_id": w.ids["cycle"], "name": "Session", "employee_ids": [w.ids["alice"]]}
    )
    await _post_id(
        t,
        f"/api/v1/calibrations/{cal}/adjustments",
        {"employee_id": w.ids["alice"], "delta": "-1", "reason": "Calibrated down"},
    )
    await evaluation_matrix._interview(w)
    meeting = await _post_id(
        t,
        "/api/v1/review-meetings",
        {"subject": {"kind": "evaluation", "id": w.ids["ev"]}, "summary": "Q4 review"},
        t.employee("lead"),
    )
    return adopt({**w.ids, "cal": cal, "meeting": meeting}, EVALUATION_KEYS)


async def _development_part(t: Tenant, ids: dict[str, str]) -> dict[str, str]:
    """Alice's development plan (followed by lead, her manager) with one item, following
    up the evaluation's review meeting."""
    return await _alice_plan(t, review_meeting_id=ids["meeting"])


async def _alice_plan(t: Tenant, **fields: Any) -> dict[str, str]:
    """Alice's active plan with one training item: its id (`dplan`) and the item's (`ditem`)."""
    resp = await t.client.post(
        "/api/v1/development-plans",
        headers=t.hr,
        json={
            "employee_id": t.employees["alice"]["id"],
            "title": "Grow into a lead role",
            "status": "active",
            "items": [{"kind": "training", "title": "Negotiation course", "due_date": "2027-02-01"}],
            **fields,
        },
    )
    assert resp.status_code == 201, resp.text
    return {"dplan": resp.json()["id"], "ditem": resp.json()["items"][0]["id"]}


MEETING_START = "2027-01-11T08:00:00Z"  # an occurrence of the one-on-one below


async def _meeting_part(t: Tenant) -> dict[str, str]:
    """Lead's weekly one-on-one with alice (`rhythm`) and a follow-up action alice owns
    (`maction`), decided in its `MEETING_START` occurrence."""
    from tests.meetings.conftest import schedule

    meeting = await schedule(t, headers=t.employee("lead"))
    resp = await t.client.post(
        f"/api/v1/meetings/{meeting['id']}/occurrences/{MEETING_START}/actions",
        headers=t.employee("lead"),
        json={"owner_id": t.employees["alice"]["id"], "title": "Send the pricing memo", "due_date": "2027-01-15"},
    )
    assert resp.status_code == 201, resp.text
    return {"rhythm": meeting["id"], "maction": resp.json()["id"]}


async def meetings_world(client: httpx.AsyncClient) -> World:
    """The shared world's meeting and action, in a team of boss, lead and alice."""
    t = await fast_team(client, "boss", "lead", "alice")
    return World(tenant=t, other=await new_tenant(client, "Other Org"), ids={**people(t), **await _meeting_part(t)})


async def development_world(client: httpx.AsyncClient) -> World:
    """Alice's development plan (as in the shared world, without the meeting) and a draft
    nomination of hers without a plan."""
    from tests.development.conftest import nominations

    t = await fast_team(client, "boss", "lead", "alice")
    cycle = await make_cycle(t)
    ids = {**people(t), "dev_cycle": cycle["id"], **await _alice_plan(t)}
    [ids["nomination"]] = await nominations(t, cycle, "alice", status="draft")
    return World(tenant=t, other=await new_tenant(client, "Other Org"), ids=ids)


async def _pay_values(t: Tenant) -> tuple[str, ...]:
    values: set[str] = set()
    for path in ("/api/v1/employees?limit=500", "/api/v1/incentive-results?limit=500"):
        for item in (await t.client.get(path, headers=t.hr)).json()["items"]:
            comp = item.get("compensation") or {}
            for v in (*comp.values(), item.get("amount_minor")):
                if isinstance(v, int) and v >= 1000:  # shorter numbers would match anything
                    values.add(str(v))
    return tuple(sorted(values))


async def build_shared(client: httpx.AsyncClient) -> World:
    t = await make_team(await new_tenant(client))
    other = await new_tenant(client, "Other Org")
    policy = await make_policy(t, {"kind": "organization"}, peer_weight="0.25")
    ids = {"policy": policy["id"]}
    ids.update(adopt((await okr_matrix.build_world(t, other)).ids, OKR_KEYS))
    ids.update(adopt((await kpi_matrix.build_world(t, other)).ids, KPI_KEYS))
    # work waiting for alice's managers (`me { tasks }`): an objective of hers to approve
    todo = await make_objective(t, {"id": ids["okr_cycle"]}, "alice", title="Open two stores")
    await make_kr(t, todo, title="Open the Lyon store")
    await make_kr(t, todo, title="Open the Lille store")
    await okr_act(t, todo, "submit", t.employee("alice"))
    ids["obj_submitted"] = todo["id"]
    ids.update(adopt((await incentive_matrix.build_world(t, other)).ids, INCENTIVE_KEYS))
    ids.update(await _evaluation_part(t, other))
    ids.update(await _development_part(t, ids))
    ids.update(await _meeting_part(t))
    ids["dep"] = await _post_id(t, "/api/v1/departments", {"name": "E-commerce", "head_id": ids["alice"]})
    settings = await t.client.patch(
        "/api/v1/organization",
        headers=t.admin,  # alice sees her anonymous summary
        json={"settings": {"peer_feedback_min_reviewers": 1}},
    )
    assert settings.status_code == 200, settings.text
    await incentives.set_employee(t, "alice", department_id=ids["dep"], position_id=ids["pos"])
    job = await t.client.post(f"/api/v1/cycles/{ids['eval_cycle']}/scores/recompute", headers=t.hr)
    assert job.status_code == 200, job.text
    ids.update(job=job.json()["id"], cycle=ids["okr_cycle"], **people(t))
    return World(tenant=t, other=other, ids=ids, pay_values=await _pay_values(t))


# the conftest team (tests/conftest.py make_team): manager and pay of each
TEAM: dict[str, tuple[str | None, dict[str, Any] | None]] = {
    "boss": (None, {"base_salary_minor": 20000000, "currency": "USD", "target_bonus_pct": "20"}),
    "lead": ("boss", None),
    "alice": ("lead", {"base_salary_minor": 9000000, "currency": "USD"}),
    "bob": ("lead", None),
    "carol": ("boss", None),
    "dave": (None, None),
}


async def fast_team(client: httpx.AsyncClient, *keys: str) -> Tenant:
    """The conftest team (or the named part of it) in a fresh organization, made by one
    bulk upsert rather than six creates: fresh worlds are built some seventy times."""
    t = await new_tenant(client)
    tag = uuid.uuid4().hex[:6]
    keys = keys or tuple(TEAM)
    rows = [
        {
            "external_id": f"{k}-{tag}",
            "email": f"{k}@example.com",
            "given_name": k.title(),
            "family_name": "Test",
            **({"manager_external_id": f"{TEAM[k][0]}-{tag}"} if TEAM[k][0] else {}),
            **({"compensation": TEAM[k][1]} if TEAM[k][1] else {}),
        }
        for k in keys
    ]
    resp = await t.client.post("/api/v1/employees/bulk", headers=t.hr, json={"rows": rows})
    assert resp.status_code == 200 and resp.json()["errors"] == 0, resp.text
    for key, row in zip(keys, resp.json()["results"], strict=True):
        t.employees[key] = {"id": row["id"], "external_id": row["external_id"]}
    return t


async def okr_world(client: httpx.AsyncClient, state: str) -> World:
    """Lighter than the OKR matrix's world: alice's public objective with two key results,
    walked to `state`."""
    t = await fast_team(client, "boss", "lead", "alice")
    cycle = await make_cycle(t)
    obj = await make_objective(t, cycle, "alice", title="Alice public")  # a company objective needs no parent
    kr = await make_kr(t, obj)
    await make_kr(t, obj, title="Second")
    for step in okr_matrix.STEPS[state]:
        await okr_act(t, obj, step)
    ids = {**people(t), "okr_cycle": cycle["id"], "cycle": cycle["id"], "obj_pub": obj["id"], "kr_pub": kr["id"]}
    return World(tenant=t, other=await new_tenant(client, "Other Org"), ids=ids)


async def incentive_world(client: httpx.AsyncClient, state: str) -> World:
    """Lighter than the incentive matrix's world: one plan run on alice's score (final
    100), her result walked to `state`; every plan and result key names these two."""
    t = await fast_team(client, "boss", "lead", "alice")
    cycle = await incentives.quarter(t)
    await incentives.give_scores(t, cycle, {"alice": 100})
    await incentives.set_employee(t, "alice", compensation=incentives.comp(123457))
    plan = await incentives.make_plan(t, cycle, name="Plan")
    await incentives.run(t, plan)
    result = incentives.by_employee(t, await incentives.results_of(t, plan))["alice"]
    for action in {"draft": (), "approved": ("approve",), "final": ("approve", "finalize")}[state]:
        result = await incentives.act(t, result, action)
    ids = {
        **people(t),
        "inc_cycle": cycle["id"],
        **dict.fromkeys(("plan_d", "plan_a", "plan_f"), plan["id"]),
        **dict.fromkeys(("res_draft", "res_approved", "res_final"), result["id"]),
    }
    return World(tenant=t, other=await new_tenant(client, "Other Org"), ids=ids)


async def _fresh(client: httpx.AsyncClient, key: Hashable) -> World:
    if key is None:
        return await build_shared(client)
    domain, stage = key  # type: ignore[misc]
    if domain == "okr":
        return await okr_world(client, stage)
    if domain == "development":
        return await development_world(client)
    if domain == "meetings":
        return await meetings_world(client)
    if domain == "incentives" and stage != "nomination":
        return await incentive_world(client, stage)
    if domain == "directory":  # what the directory and cycle mutations name, and nothing else
        t = await new_tenant(client)
        dep = await _post_id(t, "/api/v1/departments", {"name": "Ops"})
        await t.add_employee("alice", compensation={"base_salary_minor": 7000000, "currency": "USD"})
        cycle = await make_cycle(t, status=None)
        return World(
            tenant=t, other=await new_tenant(client, "Other Org"), ids={**people(t), "dep": dep, "cycle": cycle["id"]}
        )
    team, other = await fast_team(client), await new_tenant(client, "Other Org")
    if domain == "evaluations":  # the evaluation matrix's world at `stage`
        built = await evaluation_matrix.base(team, other)
        await stage(built)
        return World(tenant=team, other=other, ids=adopt(built.ids, EVALUATION_KEYS))
    builder, keys = {
        "kpi": (kpi_matrix.build_world, KPI_KEYS),
        "incentives": (incentive_matrix.build_world, INCENTIVE_KEYS),
    }[domain]
    built = await builder(team, other)
    return World(tenant=team, other=other, ids=adopt({**built.ids, **people(team)}, keys))


WORLDS: SharedWorlds[World] = SharedWorlds(_fresh)


async def audit_count(w: World) -> int:
    return await count_rows(AuditEvent, AuditEvent.org_id == w.tenant.org_id)


# --- GraphQL and REST names ------------------------------------------------------------------------
# Written once: a GraphQL name is REST's in camelCase, but for these. An object's `id` is its
# global id in GraphQL (`databaseId` its REST id); references that REST names `id` inside a
# small object are named for what they reference in GraphQL.
RENAMED = {"databaseId": "id"}  # GraphQL field -> REST field, anywhere
INPUT_RENAMED = {("SubjectInput", "id"): "subjectId"}  # (GraphQL input type, REST field) -> GraphQL field


def graphql_name(rest: str) -> str:
    head, *rest_parts = rest.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest_parts)


def rest_name(graphql: str) -> str:
    return RENAMED.get(graphql) or re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), graphql)


def rest_form(node: Any) -> Any:
    """A GraphQL answer's data in REST's names: snake_case keys, `databaseId` as `id`, and
    an object's global `id` as the UUID it names (so the leak detectors, which read REST's
    names and look for UUIDs, read GraphQL answers too). Enum values stay as GraphQL names
    them: no comparison reads them."""
    from service.graphql.nodes import decode

    if isinstance(node, list):
        return [rest_form(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "id" and isinstance(value, str) and (decoded := decode(value)) is not None:
            value = str(decoded[1].id)
        out[rest_name(key)] = rest_form(value)
    return out


def graphql_form(doc: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Variables written in REST's form (snake_case input fields, REST's enum strings) as
    the operation's variable types take them, read from the live schema."""
    from service.graphql.schema import schema

    op = next(d for d in parse(doc).definitions if isinstance(d, OperationDefinitionNode))
    types = {v.variable.name.value: type_from_ast(schema._schema, v.type) for v in op.variable_definitions or ()}
    return {name: _graphql_value(types[name], value) if name in types else value for name, value in variables.items()}


def _graphql_value(t: GraphQLType | None, value: Any) -> Any:
    if isinstance(t, GraphQLNonNull):
        t = t.of_type
    if value is None:
        return None
    if isinstance(t, GraphQLList):
        return [_graphql_value(t.of_type, v) for v in value] if isinstance(value, list) else value
    if isinstance(t, GraphQLEnumType):
        return next((name for name, v in t.values.items() if v.value == value), value)
    if isinstance(t, GraphQLInputObjectType) and isinstance(value, dict):
        out = {}
        for key, v in value.items():
            name = INPUT_RENAMED.get((t.name, key), graphql_name(key))
            out[name] = _graphql_value(t.fields[name].type if name in t.fields else None, v)
        return out
    return value


# --- calls -------------------------------------------------------------------------------------


def fill(value: Any, ids: dict[str, str]) -> Any:
    """A template with "{key}" placeholders (and callables of the ids) made concrete."""
    if callable(value):
        return fill(value(ids), ids)
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@dataclass
class Answer:
    status: int  # HTTP status; for GraphQL the first error's extensions.status, else 200
    body: Any


async def ask_graphql(w: World, caller: str, doc: str, variables: dict[str, Any]) -> Answer:
    """The operation with `variables` given in REST's form; the answer's data in REST's
    form too (`rest_form`)."""
    resp = await w.tenant.client.post(
        "/graphql", headers=headers_for(w, caller), json={"query": doc, "variables": graphql_form(doc, variables)}
    )
    body = resp.json()
    if resp.status_code != 200:
        return Answer(resp.status_code, body)
    errors = body.get("errors") or []
    statuses = [(e.get("extensions") or {}).get("status") for e in errors]
    assert all(isinstance(s, int) for s in statuses), f"an error without a status (a broken document?): {body}"
    return Answer(statuses[0] if statuses else 200, {**body, "data": rest_form(body.get("data"))})


async def ask_rest(w: World, caller: str, method: str, path: str, body: Any = None) -> Answer:
    kwargs: dict[str, Any] = {"headers": headers_for(w, caller)}
    if body is not None:
        kwargs["json"] = body
    resp = await w.tenant.client.request(method, path, **kwargs)
    payload = resp.json() if resp.content else None
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return Answer(200 if resp.status_code in (200, 201, 202, 204) else resp.status_code, payload)


# --- leaks -------------------------------------------------------------------------------------

PAY = (*PAY_KEYS, "compensation")  # an employee's compensation object, shown at all, is pay


def foreign_pay(node: Any, own: str | None, owner: str | None = None) -> str | None:
    """Where a document holds pay that is not `own` employee's (any pay when `own` is
    None): a pay key with a value, owned by the nearest enclosing object's employee (its
    `employee_id`, or its `id` when it is an employee)."""
    if isinstance(node, list):
        return next((found for v in node if (found := foreign_pay(v, own, owner))), None)
    if not isinstance(node, dict):
        return None
    if "employee_id" in node:
        owner = node["employee_id"]
    elif "given_name" in node or "compensation" in node:
        owner = node.get("id")
    for key, value in node.items():
        if key in PAY and value is not None and (own is None or owner != own):
            return f"{key} of {owner}"
        if found := foreign_pay(value, own, owner):
            return found
    return None


def names_reviewer(node: Any, reviewer: str) -> bool:
    if isinstance(node, list):
        return any(names_reviewer(v, reviewer) for v in node)
    if isinstance(node, dict):
        return node.get("reviewer_id") == reviewer or any(names_reviewer(v, reviewer) for v in node.values())
    return False


def error_text(body: Any) -> str:
    """The messages of a GraphQL answer's errors, or a problem document (REST)."""
    if isinstance(body, dict) and "errors" in body and "data" in body:
        return json.dumps(body["errors"])
    if isinstance(body, dict) and "status" in body and "title" in body:
        return json.dumps({k: v for k, v in body.items() if k != "instance"})
    return ""


def leaks(w: World, caller: str, body: Any) -> list[str]:
    """What this answer shows that the caller may not see: pay, bob as alice's peer
    reviewer, or (to another organization's admin) any id of this organization; error
    messages are checked for the same values as text."""
    found: list[str] = []
    if caller not in (*SEES_ALL_PAY, "other_admin"):  # who sees the pay of their own organization
        where = foreign_pay(body, w.ids.get(caller) if caller in PERSONS else None)
        if where:
            found.append(f"pay: {where}")
    bob = w.ids.get("bob")
    hides_reviewer = caller not in SEES_REVIEWERS and bob is not None
    if hides_reviewer and names_reviewer(body, bob):
        found.append("bob as the peer reviewer")
    messages = error_text(body)
    if caller not in SEES_ALL_PAY:
        found += [f"pay {v} in an error message" for v in w.pay_values if v in messages]
    if hides_reviewer and bob in messages:
        found.append("bob's id in an error message")
    if caller == "other_admin":
        shown = json.dumps({k: v for k, v in body.items() if k != "instance"} if isinstance(body, dict) else body)
        found += [f"{key} of this organization" for key, value in w.ids.items() if value in shown]
        found += [f"pay {v} of this organization" for v in w.pay_values if v in shown]
    return found
