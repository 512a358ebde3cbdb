"""GraphQL follows the REST API's rules (SPEC section 10, docs/api.md "Who sees what"), for
every Query and every Mutation field and every caller: admin, hr, auditor, alice (the
subject), lead (her manager), boss (her indirect manager), dave (who manages erin), bob
(another employee, and alice's peer reviewer), each integration scope, another
organization's admin and anonymous. The fields come from the live schema: a field
without a row fails `test_every_*_field_has_a_row`.

- Queries: each (field, caller) runs the GraphQL document and its REST twin against one
  shared organization (tests/graphql_authz_world.py, built once per module) and expects
  the same status (a GraphQL domain error's `extensions.status`; a success is 200;
  anonymous gets HTTP 401 on /graphql as on REST) and the same ids: what each caller
  sees. Nested lists that REST serves as routes of their own (an evaluation's peer
  requests and interviews, a calibration's adjustments and distribution, an objective's
  children...) are compared with those routes too. Each row names a witness caller who
  must see something, so a row cannot pass by finding nothing. `me` has no twin for a
  token that names no employee: its expected answer (null) is written per caller.
- Mutations: each (mutation, caller) the REST twin refuses runs both against the shared
  organization and expects the same 4xx and no audit event; the admin probe of the row
  is read before its first case and compared after its last (and after every case of
  a row that writes no audit event). Allowed callers run the mutation on a fresh
  organization and must succeed, change the probe and write an audit event. A fresh
  world costs 0.15 to 0.5 s (more on PostgreSQL) and there are over 160 allowed pairs,
  more than the run time allows, so ONE allowed caller per mutation runs (the least
  privileged one, where a wrong refusal is likeliest: a manager, the subject, the
  reviewer, the client; hr or admin where only they may), except for the directory and
  cycle mutations, whose world costs under 0.1 s: every allowed caller runs those.
  Another organization's admin, allowed in their own organization, runs against the
  shared one, which must not change. Mutations
  that save nothing (`simulate_calibration`) run for every caller on the shared world.
- Every answer, GraphQL and REST, is checked for leaks: pay of anyone but the caller
  (unless hr, admin, `payroll:read` or `employees:write`), bob's id as alice's peer
  reviewer (only hr, admin, auditors, her managers and bob see it), any id or pay of
  this organization in another organization's answer; error messages are checked for
  the same values as text.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from service.evaluations.models import Evaluation
from service.scoring.models import ScoreJob
from tests.evaluations import test_authz as ev
from tests.graphql_authz_world import (
    CALLERS,
    MANAGERS,
    PERSONS,
    STAFF,
    WORLDS,
    World,
    ask_graphql,
    ask_rest,
    audit_count,
    fill,
    foreign_pay,
    graphql_name,
    leaks,
    names_reviewer,
)
from tests.kpi.conftest import count_rows
from tests.org.test_authz_matrix import _new_employee


@pytest.fixture(scope="module", autouse=True)
async def _lean_run(client: Any) -> AsyncIterator[None]:
    """Builds the shared world, and spares the test process a cost that would take
    seconds here: the collector's full passes would walk the app, its schema and the
    world again and again (frozen for the module)."""
    await WORLDS.shared(client)
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


# --- queries ---------------------------------------------------------------------------------

EMP = "id compensation { baseSalaryMinor }"  # a non-null `compensation` is pay (foreign_pay)
# single objects select every nested field that has authorization of its own; lists fewer
OBJ = f"""id visibility status owner {{ {EMP} }} parent {{ id }} children {{ id }} supports {{ id }}
          supporters {{ id }} keyResults {{ id owner {{ {EMP} }} checkIns {{ id }} }}"""
OBJS = f"id visibility owner {{ {EMP} }} children {{ id }} keyResults {{ id }}"
ASG = f"id employee {{ {EMP} }} measurements {{ id value }}"
EVAL = f"""id status selfReview {{ rating comments }} managerReview {{ rating reviewerId }}
           peerFeedback {{ available answered meanRating comments }} calibration {{ final rating }}
           employee {{ {EMP} }} peerRequests {{ id reviewerId status rating comments }} interviews {{ id }}"""
EVALS = f"""id status managerReview {{ rating reviewerId }} peerFeedback {{ answered comments }}
            employee {{ {EMP} }} peerRequests {{ id reviewerId status }}"""
RESULT = f"""id employeeId status kind amountMinor amount amountVisible inputs employee {{ {EMP} }}
             plan {{ id params }} payroll {{ payrollReference }}"""
RESULTS = f"id employeeId amountMinor amount inputs employee {{ {EMP} }}"
SCORE = "employeeId final rating components explanation"


@dataclass(frozen=True)
class Nested:
    """A nested GraphQL list REST serves as a route of its own: when the parent is shown,
    the GraphQL list holds what that route shows the caller (nothing if it refuses)."""

    gql_at: tuple[str, ...]
    rest: str
    rest_at: tuple[str, ...] = ("items",)
    key: str = "id"


@dataclass(frozen=True)
class Query:
    name: str  # the field, or field.variant
    doc: str
    rest: str  # "METHOD path" of the REST twin
    gql_at: tuple[str, ...]  # where the compared items are in `data`
    rest_at: tuple[str, ...] = ()  # ... and in the REST answer
    variables: dict[str, str] = field(default_factory=dict)
    body: Any = None
    key: str = "id"
    nested: tuple[Nested, ...] = ()
    witness: str = "admin"  # a caller who must see something here
    may_be_empty: bool = False
    no_twin: dict[str, int] = field(default_factory=dict)  # callers the twin cannot speak for: their status
    absent_is_null: bool = False  # `node`/`nodes`: what REST refuses with 403/404 is null, not an error

    @property
    def field(self) -> str:
        return self.name.split(".")[0]


def one(name: str, gql_type_args: str, selection: str, rest: str, variables: dict[str, str], **kw: Any) -> Query:
    """A single-object field `name(args) { selection }`."""
    args = ", ".join(f"{a}: ${a}" for a in variables)
    doc = f"query({gql_type_args}) {{ {graphql_name(name.split('.')[0])}({args}) {{ {selection} }} }}"
    return Query(name, doc, rest, (name.split(".")[0],), variables=variables, **kw)


def many(name: str, selection: str, rest: str, args: str = "", **kw: Any) -> Query:
    """A connection `name(args) { nodes { selection } }` against a REST list."""
    f = name.split(".")[0]
    doc = f"{{ {graphql_name(f)}{f'({args})' if args else ''} {{ nodes {{ {selection} }} }} }}"
    return Query(name, doc, rest, (f, "nodes"), ("items",), **kw)


ID = "$id: ID!"
QUERIES = [
    Query(
        "organization",
        "{ organization { id name currency settings { peerFeedbackMinReviewers } } }",
        "GET /api/v1/organization",
        ("organization",),
    ),
    many("departments", f"id name parent {{ id }} head {{ {EMP} }}", "GET /api/v1/departments"),
    one("department", ID, f"id name head {{ {EMP} }}", "GET /api/v1/departments/{dep}", {"id": "{dep}"}),
    many("positions", "id name", "GET /api/v1/positions"),
    one("position", ID, "id name", "GET /api/v1/positions/{pos}", {"id": "{pos}"}),
    many("employees", f"{EMP} manager {{ {EMP} }}", "GET /api/v1/employees?limit=100", "first: 100"),
    one("employee", ID, f"{EMP} manager {{ {EMP} }}", "GET /api/v1/employees/{alice}", {"id": "{alice}"}),
    # the twin is the caller's own employee; a token that names none gets null
    Query(
        "me",
        f"{{ me {{ {EMP} manager {{ {EMP} }} }} }}",
        "GET /api/v1/employees/{me}",
        ("me",),
        witness="alice",
        no_twin=dict.fromkeys(set(CALLERS) - {*PERSONS, "anonymous"}, 200),
    ),
    # the caller's own work: `tasks` answers on the caller's own employee only
    Query(
        "me.tasks",
        "{ me { tasks(first: 100) { nodes { title kind subject { subjectId } links { rest } } } } }",
        "GET /api/v1/me/tasks?limit=100",
        ("me", "tasks", "nodes"),
        ("items",),
        key="title",
        witness="lead",
        no_twin=dict.fromkeys(set(CALLERS) - {*PERSONS, "anonymous"}, 200),
    ),
    # a person's screen: each list on Employee holds what its REST list shows the caller
    Query(
        "employee.screens",
        f"""query($id: ID!, $c: ID!, $e: ID!) {{ employee(id: $id) {{ {EMP}
              objectives {{ id }} objectivesInCycle: objectives(cycleId: $c) {{ id }} keyResults {{ id }}
              kpiAssignments {{ id }} evaluations {{ id }} score(cycleId: $e) {{ employeeId }} }} }}""",
        "GET /api/v1/employees/{alice}",
        ("employee",),
        variables={"id": "{alice}", "c": "{okr_cycle}", "e": "{eval_cycle}"},
        nested=(
            Nested(("employee", "objectives"), "/api/v1/objectives?owner_id={alice}&limit=100"),
            Nested(
                ("employee", "objectives_in_cycle"),
                "/api/v1/objectives?owner_id={alice}&cycle_id={okr_cycle}&limit=100",
            ),
            Nested(("employee", "key_results"), "/api/v1/key-results?owner_id={alice}&limit=100"),
            Nested(("employee", "kpi_assignments"), "/api/v1/kpi-assignments?employee_id={alice}&limit=100"),
            Nested(("employee", "evaluations"), "/api/v1/evaluations?employee_id={alice}&limit=100"),
            Nested(("employee", "score"), "/api/v1/cycles/{eval_cycle}/scores/{alice}", (), "employee_id"),
        ),
    ),
    # bob owns a key result on alice's private objective: only who reads that objective sees it
    Query(
        "employee.key_results",
        f"query($id: ID!) {{ employee(id: $id) {{ {EMP} keyResults {{ id objectiveId }} }} }}",
        "GET /api/v1/employees/{bob}",
        ("employee",),
        variables={"id": "{bob}"},
        nested=(Nested(("employee", "key_results"), "/api/v1/key-results?owner_id={bob}&limit=100"),),
    ),
    Query(
        "employee.reports",
        f"query($id: ID!) {{ employee(id: $id) {{ {EMP} reportsCount reports {{ {EMP} }} }} }}",
        "GET /api/v1/employees/{lead}",
        ("employee",),
        variables={"id": "{lead}"},
        nested=(Nested(("employee", "reports"), "/api/v1/employees?manager_id={lead}&limit=100"),),
    ),
    Query(
        "me.screens",
        f"""query($c: ID!) {{ me {{ {EMP} objectives(cycleId: $c) {{ id }} keyResults {{ id }}
              evaluations {{ id }} reports {{ {EMP} }} }} }}""",
        "GET /api/v1/employees/{me}",
        ("me",),
        variables={"c": "{okr_cycle}"},
        witness="alice",
        no_twin=dict.fromkeys(set(CALLERS) - {*PERSONS, "anonymous"}, 200),
        nested=(
            Nested(("me", "objectives"), "/api/v1/objectives?owner_id={me}&cycle_id={okr_cycle}&limit=100"),
            Nested(("me", "key_results"), "/api/v1/key-results?owner_id={me}&limit=100"),
            Nested(("me", "evaluations"), "/api/v1/evaluations?employee_id={me}&limit=100"),
            Nested(("me", "reports"), "/api/v1/employees?manager_id={me}&limit=100"),
        ),
    ),
    many("cycles", "id status parent { id } children { id }", "GET /api/v1/cycles"),
    one("cycle", ID, "id status children { id }", "GET /api/v1/cycles/{okr_cycle}", {"id": "{okr_cycle}"}),
    many("kpi_definitions", "id code", "GET /api/v1/kpi-definitions"),
    one("kpi_definition", ID, "id code", "GET /api/v1/kpi-definitions/{kpi_def}", {"id": "{kpi_def}"}),
    many("kpi_templates", "id position { id } items { definition { id } }", "GET /api/v1/kpi-templates"),
    one(
        "kpi_template",
        ID,
        "id position { id } items { definition { id } }",
        "GET /api/v1/kpi-templates/{kpi_tpl}",
        {"id": "{kpi_tpl}"},
    ),
    many("kpi_assignments", f"id employee {{ {EMP} }}", "GET /api/v1/kpi-assignments?limit=100", "first: 100"),
    one(
        "kpi_assignment",
        ID,
        ASG,
        "GET /api/v1/kpi-assignments/{kpi_asg}",
        {"id": "{kpi_asg}"},
        nested=(Nested(("kpi_assignment", "measurements"), "/api/v1/kpi-assignments/{kpi_asg}/measurements"),),
    ),
    many("objectives", OBJS, "GET /api/v1/objectives?limit=100", "first: 100"),
    one("objective", ID, OBJ, "GET /api/v1/objectives/{obj_pub}", {"id": "{obj_pub}"}),
    one("objective.private", ID, OBJ, "GET /api/v1/objectives/{obj_priv}", {"id": "{obj_priv}"}),
    one(
        "objective.company",
        ID,
        OBJ,
        "GET /api/v1/objectives/{obj_company}",
        {"id": "{obj_company}"},
        nested=(Nested(("objective", "children"), "/api/v1/objectives?parent_id={obj_company}"),),
    ),
    one(
        "key_result",
        ID,
        f"id owner {{ {EMP} }} checkIns {{ id }} objective {{ id owner {{ {EMP} }} }}",
        "GET /api/v1/key-results/{kr_pub}",
        {"id": "{kr_pub}"},
        nested=(Nested(("key_result", "check_ins"), "/api/v1/key-results/{kr_pub}/check-ins"),),
    ),
    one(
        "key_result.private",
        ID,
        "id checkIns { id } objective { id }",
        "GET /api/v1/key-results/{kr_priv}",
        {"id": "{kr_priv}"},
    ),
    # what the map shows (node_count) follows the caller's visibility of the cycle's objectives
    Query(
        "strategy_map",
        "query($c: ID!) { strategyMap(cycleId: $c) { nodeCount groups { objectives { objective { id } } } } }",
        "GET /api/v1/cycles/{okr_cycle}/strategy-map",
        ("strategy_map",),
        variables={"c": "{okr_cycle}"},
        key="node_count",
    ),
    Query(
        "okr_lint",
        "query($id: ID!) { okrLint(objectiveId: $id) { code severity } }",
        "POST /api/v1/okr-lint",
        ("okr_lint",),
        ("findings",),
        {"id": "{obj_pub}"},
        body={"objective_id": "{obj_pub}"},
        key="code",
        may_be_empty=True,
    ),
    Query(
        "okr_lint.private",
        "query($id: ID!) { okrLint(objectiveId: $id) { code severity } }",
        "POST /api/v1/okr-lint",
        ("okr_lint",),
        ("findings",),
        {"id": "{obj_priv}"},
        body={"objective_id": "{obj_priv}"},
        key="code",
        may_be_empty=True,
    ),
    many("scoring_policies", "id version params", "GET /api/v1/scoring-policies"),
    Query(
        "scoring_policy",
        "query($id: ID!) { scoringPolicy(id: $id, version: 1) { id version params } }",
        "GET /api/v1/scoring-policies/{policy}?version=1",
        ("scoring_policy",),
        variables={"id": "{policy}"},
    ),
    Query(
        "cycle_scores",
        f"query($c: ID!) {{ cycleScores(cycleId: $c, explain: true) {{ nodes {{ {SCORE} }} }} }}",
        "GET /api/v1/cycles/{eval_cycle}/scores?explain=true",
        ("cycle_scores", "nodes"),
        ("items",),
        {"c": "{eval_cycle}"},
        key="employee_id",
    ),
    Query(
        "score",
        f"query($c: ID!, $e: ID!) {{ score(cycleId: $c, employeeId: $e) {{ {SCORE} }} }}",
        "GET /api/v1/cycles/{eval_cycle}/scores/{alice}",
        ("score",),
        (),
        {"c": "{eval_cycle}", "e": "{alice}"},
        key="employee_id",
    ),
    # alice's result is not official in the shared world: the versions are compared empty
    Query(
        "score_versions",
        "query($c: ID!, $e: ID!) { scoreVersions(cycleId: $c, employeeId: $e) "
        "{ employeeId recordVersion final rating } }",
        "GET /api/v1/cycles/{eval_cycle}/scores/{alice}/versions",
        ("score_versions",),
        (),
        {"c": "{eval_cycle}", "e": "{alice}"},
        key="record_version",
        may_be_empty=True,
    ),
    one("score_job", ID, "id status employees", "GET /api/v1/score-jobs/{job}", {"id": "{job}"}),
    many("evaluations", EVALS, "GET /api/v1/evaluations"),
    one(
        "evaluation",
        ID,
        EVAL,
        "GET /api/v1/evaluations/{ev}",
        {"id": "{ev}"},
        nested=(
            Nested(("evaluation", "peer_requests"), "/api/v1/evaluations/{ev}/peer-requests"),
            Nested(("evaluation", "interviews"), "/api/v1/interviews?evaluation_id={ev}"),
        ),
    ),
    Query(
        "evaluation_feedback",
        """query($id: ID!) { evaluationFeedback(evaluationId: $id) { attributed
              nodes { id reviewerId rating comments } summary { available answered meanRating comments } } }""",
        "GET /api/v1/evaluations/{ev}/feedback",
        ("evaluation_feedback", "nodes"),
        ("items",),
        {"id": "{ev}"},
    ),
    many("peer_requests", "id evaluationId reviewerId status rating comments", "GET /api/v1/peer-requests"),
    one("peer_request", ID, "id reviewerId status rating comments", "GET /api/v1/peer-requests/{req}", {"id": "{req}"}),
    many("calibrations", "id employeeIds", "GET /api/v1/calibrations"),
    one(
        "calibration",
        ID,
        """id employeeIds cycle { id } adjustments { nodes { id employeeId delta } }
                             distribution { employees { employeeId final rating } }""",
        "GET /api/v1/calibrations/{cal}",
        {"id": "{cal}"},
        nested=(
            Nested(("calibration", "adjustments", "nodes"), "/api/v1/calibrations/{cal}/adjustments"),
            Nested(
                ("calibration", "distribution", "employees"),
                "/api/v1/calibrations/{cal}/distribution",
                ("employees",),
                "employee_id",
            ),
        ),
    ),
    many("interviews", "id evaluationId", "GET /api/v1/interviews"),
    one("interview", ID, "id evaluationId notes outcome", "GET /api/v1/interviews/{iv}", {"id": "{iv}"}),
    many("review_meetings", "id employeeId", "GET /api/v1/review-meetings"),
    one("review_meeting", ID, "id employeeId summary", "GET /api/v1/review-meetings/{meeting}", {"id": "{meeting}"}),
    # the briefs (service/briefs): the same builders, compared by the brief's kind
    one(
        "team_brief",
        "$departmentId: ID!",
        "kind document markdown",
        "GET /api/v1/departments/{dep}/team-brief",
        {"departmentId": "{dep}"},
        key="kind",
    ),
    one(
        "one_on_one_brief",
        "$employeeId: ID!",
        "kind document markdown",
        "GET /api/v1/employees/{alice}/one-on-one-brief",
        {"employeeId": "{alice}"},
        key="kind",
    ),
    one(
        "interview_brief",
        "$interviewId: ID!",
        "kind document",
        "GET /api/v1/interviews/{iv}/brief",
        {"interviewId": "{iv}"},
        key="kind",
    ),
    one(
        "review_meeting_brief",
        "$reviewMeetingId: ID!",
        "kind document",
        "GET /api/v1/review-meetings/{meeting}/brief",
        {"reviewMeetingId": "{meeting}"},
        key="kind",
    ),
    many("incentive_plans", "id params cycle { id }", "GET /api/v1/incentive-plans"),
    one("incentive_plan", ID, "id params", "GET /api/v1/incentive-plans/{plan_d}", {"id": "{plan_d}"}),
    many("incentive_results", RESULTS, "GET /api/v1/incentive-results?limit=100", "first: 100"),
    one("incentive_result", ID, RESULT, "GET /api/v1/incentive-results/{res_final}", {"id": "{res_final}"}),
    one("incentive_result.draft", ID, RESULT, "GET /api/v1/incentive-results/{res_draft}", {"id": "{res_draft}"}),
    many("nominations", f"id employeeId inputs employee {{ {EMP} }}", "GET /api/v1/nominations"),
    many("development_plans", "id employeeId ownerId items { id status }", "GET /api/v1/development-plans"),
    many("meetings", "id kind attendeeIds", "GET /api/v1/meetings"),
    one(
        "meeting_brief",
        "$meetingId: ID!, $occurrence: DateTime",
        "kind document",
        "GET /api/v1/meetings/{rhythm}/brief?occurrence=2027-01-11T08:00:00Z",
        {"meetingId": "{rhythm}", "occurrence": "2027-01-11T08:00:00Z"},
        key="kind",
    ),
    Query(
        "meeting_occurrences",
        'query($id: ID!) { meetingOccurrences(meetingId: $id, from: "2027-01-01T00:00:00Z", '
        'to: "2027-02-01T00:00:00Z") { meetingId notes } }',
        "GET /api/v1/meetings/{rhythm}/occurrences?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z",
        ("meeting_occurrences",),
        ("items",),
        variables={"id": "{rhythm}"},
        key="meeting_id",
    ),
    Query(
        "meeting_actions",
        "query($id: ID!) { meetingActions(meetingId: $id, first: 5) { nodes { id ownerId status } } }",
        "GET /api/v1/meetings/{rhythm}/actions",
        ("meeting_actions", "nodes"),
        ("items",),
        variables={"id": "{rhythm}"},
    ),
    many("payroll_incentive_results", "id employeeId amountMinor amount", "GET /api/v1/payroll/incentive-results"),
]


def gid(type_name: str, key: str) -> Any:
    """A variable holding the global id of `{key}` (an object of `type_name`)."""
    from service.graphql.nodes import global_id

    return lambda ids: global_id(type_name, ids[key])


NODE = f"id ... on Employee {{ compensation {{ baseSalaryMinor }} manager {{ {EMP} }} }} ... on Objective {{ {OBJ} }}"
QUERIES += [
    Query(
        "node",
        f"query($id: ID!) {{ node(id: $id) {{ {NODE} }} }}",
        "GET /api/v1/employees/{alice}",
        ("node",),
        variables={"id": gid("Employee", "alice")},
        absent_is_null=True,
    ),
    Query(
        "node.private",
        f"query($id: ID!) {{ node(id: $id) {{ {NODE} }} }}",
        "GET /api/v1/objectives/{obj_priv}",
        ("node",),
        variables={"id": gid("Objective", "obj_priv")},
        absent_is_null=True,
    ),
    Query(
        "nodes",
        f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {NODE} }} }}",
        "GET /api/v1/objectives/{obj_priv}",
        ("nodes",),
        variables={"ids": [gid("Objective", "obj_priv")]},
        absent_is_null=True,
    ),
]
QUERY_CASES = [pytest.param(q, c, id=f"{q.name}-{c}") for q in QUERIES for c in CALLERS]


def schema_fields(kind: str) -> frozenset[str]:
    from service.graphql.schema import schema

    return frozenset(schema._schema.type_map[kind].fields)  # type: ignore[union-attr]


def test_every_query_field_has_a_row():
    assert {graphql_name(q.field) for q in QUERIES} == schema_fields("Query")
    assert len({q.name for q in QUERIES}) == len(QUERIES)


def pick(node: Any, path: tuple[str, ...], key: str) -> list[str]:
    """The sorted `key`s of the object or list at `path` (nothing when absent or null)."""
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    if node is None:
        return []
    return sorted(str(item[key]) for item in (node if isinstance(node, list) else [node]) if item is not None)


def twin_of(q: Query, w: World, caller: str) -> tuple[str, str, dict[str, str]]:
    method, path = q.rest.split(" ", 1)
    ids = {**w.ids, "me": w.ids.get(caller, w.ids["alice"])}  # anonymous asks for alice
    return method, fill(path, ids), ids


@pytest.mark.parametrize(("q", "caller"), QUERY_CASES)
async def test_query_answers_as_rest_does(client: Any, q: Query, caller: str):
    w = await WORLDS.shared(client)
    got = await ask_graphql(w, caller, q.doc, fill(q.variables, w.ids))
    assert not leaks(w, caller, got.body), f"{q.name} as {caller} leaked {leaks(w, caller, got.body)}"
    if caller in q.no_twin:
        assert (got.status, got.body["data"]) == (q.no_twin[caller], {q.field: None}), got.body
        return
    method, path, ids = twin_of(q, w, caller)
    rest = await ask_rest(w, caller, method, path, fill(q.body, ids))
    assert not leaks(w, caller, rest.body), f"REST {q.rest} as {caller} leaked {leaks(w, caller, rest.body)}"
    if q.absent_is_null and rest.status in (403, 404):
        assert (got.status, pick(got.body["data"], q.gql_at, q.key)) == (200, []), got.body
        return
    assert got.status == rest.status, f"{q.name} as {caller}: GraphQL {got.status} {got.body}, REST {rest.status}"
    if caller == "anonymous":
        assert got.status == 401
    if got.status != 200:
        assert got.body.get("data") in (None, {}) or got.body["data"].get(q.field) is None, got.body
        return
    seen = pick(got.body["data"], q.gql_at, q.key)
    assert seen == pick(rest.body, q.rest_at, q.key), f"{q.name} as {caller}: GraphQL shows {seen}, REST {rest.body}"
    if caller == q.witness and not q.may_be_empty:
        assert seen, f"{q.name}: {caller} sees nothing, so this row tests nothing"
    for n in q.nested:
        route = await ask_rest(w, caller, "GET", fill(n.rest, ids))
        assert not leaks(w, caller, route.body)
        expected = pick(route.body, n.rest_at, n.key) if route.status == 200 else []
        nested = pick(got.body["data"], n.gql_at, n.key)
        assert nested == expected, (
            f"{q.name} as {caller}: nested {n.gql_at} {nested}, {n.rest} {route.status} {expected}"
        )


# --- mutations -------------------------------------------------------------------------------

EV_STAGES = {
    "fresh": ev.stage_fresh,
    "open": ev.stage_open,
    "self": ev.stage_self,
    "session": ev.stage_session,
    "calibrated": ev.stage_calibrated,
    "finalized": ev.stage_finalized,
    "interview": ev.stage_interview,
    "meeting": ev.stage_meeting,
}
DIRECTORY = ("directory", None)
SHARED = None  # the world of mutations that save nothing


async def score_jobs(w: World) -> int:
    return await count_rows(ScoreJob, ScoreJob.org_id == w.tenant.org_id)


async def evaluations_count(w: World) -> int:
    return await count_rows(Evaluation, Evaluation.org_id == w.tenant.org_id)


@dataclass(frozen=True)
class Mutation:
    name: str  # the Mutation field
    args: str  # the GraphQL arguments, e.g. "id: $id, input: $input"
    types: str  # their declarations, e.g. "$id: ID!, $input: DepartmentInput!"
    selection: str
    variables: dict[str, Any]
    rest: str  # "METHOD path" of the REST twin
    allowed: tuple[str, ...]  # the callers the REST twin allows
    world: tuple[str, Any] | None  # where allowed callers run: (domain, stage), or SHARED
    run_as: tuple[str, ...]  # the allowed callers run there (all of them when the world is cheap)
    probe: str | Callable[[World], Any]  # an admin GET (or a count) that an allowed call changes
    body: Any = "input"  # the REST body: a template, or the name of the variable it equals
    audited: bool = True  # an allowed call writes an audit event (checked by test_allowed_mutation_succeeds)

    @property
    def doc(self) -> str:
        return f"mutation({self.types}) {{ {graphql_name(self.name)}({self.args}) {{ {self.selection} }} }}"

    def rest_body(self, ids: dict[str, str], variables: dict[str, Any]) -> Any:
        if isinstance(self.body, str):
            return variables.get(self.body)
        return fill(self.body, ids)


def m(
    name: str,
    args: dict[str, str],
    selection: str,
    variables: dict[str, Any],
    rest: str,
    allowed: tuple[str, ...],
    world: tuple[str, Any] | None,
    run_as: tuple[str, ...] | None,
    probe: Any,
    **kw: Any,
) -> Mutation:
    """`args` maps each argument to its GraphQL type; `run_as` None runs every allowed caller."""
    return Mutation(
        name,
        ", ".join(f"{graphql_name(a)}: ${a}" for a in args),
        ", ".join(f"${a}: {t}" for a, t in args.items()),
        selection,
        variables,
        rest,
        allowed,
        world,
        allowed if run_as is None else run_as,
        probe,
        **kw,
    )


WRITERS = (*STAFF, "employees:write")
ANYONE_NEW = (*WRITERS, "other_admin")  # creating with no reference is allowed in one's own organization
PLANNERS = (*STAFF, "alice", *MANAGERS)
OKR_MANAGERS = (*STAFF, *MANAGERS)
EV_READERS = (*STAFF, *MANAGERS)
U, S = "ID!", "String"
OBJ_PROBE = "/api/v1/objectives/{obj_pub}"
EV_PROBE = "/api/v1/evaluations/{ev}"
RESULTS_OF = "/api/v1/incentive-results?plan_id="
DEV_MAKERS = (*STAFF, *MANAGERS)  # alice's plan: lead is her manager and its owner
DEVELOPMENT = ("development", "plan")
MEETINGS = ("meetings", None)
MEETING_RECORDERS = (*STAFF, "alice", *MANAGERS)  # lead organizes alice's one-on-one, boss manages both
MEETING_WRITERS = (*STAFF, *MANAGERS)
OCCURRENCE = "/api/v1/meetings/{rhythm}/occurrences/2027-01-11T08:00:00Z"
OCCURRENCES = "/api/v1/meetings/{rhythm}/occurrences?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z"


def objective_action(action: str, allowed: tuple[str, ...], state: str, run_as: str, **extra: Any) -> Mutation:
    args = {"id": U, **{k: "String!" for k in extra}}
    return m(
        f"{action}_objective",
        args,
        "id status",
        {"id": "{obj_pub}", **extra},
        f"POST /api/v1/objectives/{{obj_pub}}/{action}",
        allowed,
        ("okr", state),
        (run_as,),
        OBJ_PROBE,
        body=extra or {},
    )


def evaluation_action(
    name: str, action: str, allowed: tuple[str, ...], stage: str, run_as: str, **extra: Any
) -> Mutation:
    args = {"id": U, **{k: t for k, (t, _) in extra.items()}}
    values = {k: v for k, (_, v) in extra.items()}
    return m(
        name,
        args,
        "id status",
        {"id": "{ev}", **values},
        f"POST /api/v1/evaluations/{{ev}}/{action}",
        allowed,
        ("evaluations", EV_STAGES[stage]),
        (run_as,),
        EV_PROBE,
        body=values or None,
    )


def result_action(name: str, action: str, key: str, state: str, run_as: str = "hr") -> Mutation:
    return m(
        name,
        {"id": U},
        "id employeeId status amountMinor",
        {"id": "{" + key + "}"},
        f"POST /api/v1/incentive-results/{{{key}}}/{action}",
        STAFF,
        ("incentives", state),
        (run_as,),
        "/api/v1/incentive-results/{" + key + "}",
        body=None,
    )


MUTATIONS = [
    # organization and directory (a cheap world: every allowed caller runs)
    m(
        "update_organization",
        {"input": "OrganizationInput!"},
        "id name",
        {"input": {"name": "Renamed Org"}},
        "PATCH /api/v1/organization",
        ("admin", "other_admin"),
        DIRECTORY,
        None,
        "/api/v1/organization",
    ),
    m(
        "create_department",
        {"input": "DepartmentInput!"},
        "id name",
        {"input": {"name": "New dep"}},
        "POST /api/v1/departments",
        ANYONE_NEW,
        DIRECTORY,
        None,
        "/api/v1/departments",
    ),
    m(
        "update_department",
        {"id": U, "input": "DepartmentInput!"},
        "id name",
        {"id": "{dep}", "input": {"name": "Renamed dep"}},
        "PATCH /api/v1/departments/{dep}",
        WRITERS,
        DIRECTORY,
        None,
        "/api/v1/departments/{dep}",
    ),
    m(
        "create_position",
        {"input": "PositionInput!"},
        "id name",
        {"input": {"name": "New pos"}},
        "POST /api/v1/positions",
        ANYONE_NEW,
        DIRECTORY,
        None,
        "/api/v1/positions",
    ),
    m(
        "create_employee",
        {"input": "EmployeeInput!"},
        "id compensation { baseSalaryMinor }",
        {"input": lambda _ids: _new_employee()},
        "POST /api/v1/employees",
        ANYONE_NEW,
        DIRECTORY,
        None,
        "/api/v1/employees?limit=500",
    ),
    m(
        "update_employee",
        {"id": U, "input": "EmployeeInput!"},
        "id givenName compensation { baseSalaryMinor }",
        {"id": "{alice}", "input": {"given_name": "Alicia"}},
        "PATCH /api/v1/employees/{alice}",
        WRITERS,
        DIRECTORY,
        None,
        "/api/v1/employees/{alice}",
    ),
    m(
        "bulk_upsert_employees",
        {"rows": "[EmployeeInput!]!"},
        "employeeId outcome errors",
        {"rows": lambda _ids: [_new_employee(), _new_employee()]},
        "POST /api/v1/employees/bulk",
        ANYONE_NEW,
        DIRECTORY,
        None,
        "/api/v1/employees?limit=500",
        body=lambda _ids: {"rows": [_new_employee()]},
    ),
    # cycles
    m(
        "create_cycle",
        {"input": "CycleInput!"},
        "id",
        {"input": {"name": "H1", "cadence": "custom", "start_date": "2027-01-01", "end_date": "2027-06-30"}},
        "POST /api/v1/cycles",
        (*STAFF, "other_admin"),
        DIRECTORY,
        None,
        "/api/v1/cycles",
    ),
    m(
        "update_cycle",
        {"id": U, "input": "CycleInput!"},
        "id name",
        {"id": "{cycle}", "input": {"name": "Renamed"}},
        "PATCH /api/v1/cycles/{cycle}",
        STAFF,
        DIRECTORY,
        None,
        "/api/v1/cycles/{cycle}",
    ),
    m(
        "transition_cycle",
        {"id": U, "to": "CycleStatus!"},
        "id status",
        {"id": "{cycle}", "to": "active"},
        "POST /api/v1/cycles/{cycle}/transition",
        STAFF,
        DIRECTORY,
        None,
        "/api/v1/cycles/{cycle}",
        body={"to": "active"},
    ),
    m(
        "create_cycle_children",
        {"id": U, "cadence": "CycleChildCadence!"},
        "id",
        {"id": "{cycle}", "cadence": "quarterly"},
        "POST /api/v1/cycles/{cycle}/children",
        STAFF,
        DIRECTORY,
        None,
        "/api/v1/cycles?parent_id={cycle}",
        body={"cadence": "quarterly"},
    ),
    # KPIs
    m(
        "create_kpi_assignment",
        {"input": "KpiAssignmentInput!"},
        f"id employee {{ {EMP} }}",
        {
            "input": {
                "employee_id": "{alice}",
                "cycle_id": "{kpi_cycle}",
                "definition_id": "{kpi_def2}",
                "method": "ratio",
                "target": "1",
            }
        },
        "POST /api/v1/kpi-assignments",
        OKR_MANAGERS,
        ("kpi", None),
        ("boss",),
        "/api/v1/kpi-assignments?employee_id={alice}",
    ),
    m(
        "apply_kpi_templates",
        {"cycle_id": U, "employee_ids": "[ID!]!"},
        "created unmatchedEmployeeIds",
        {"cycle_id": "{kpi_cycle}", "employee_ids": ["{alice}"]},
        "POST /api/v1/kpi-templates/apply",
        OKR_MANAGERS,
        ("kpi", None),
        ("lead",),
        "/api/v1/kpi-assignments?employee_id={alice}",
        body={"cycle_id": "{kpi_cycle}", "employee_ids": ["{alice}"]},
    ),
    m(
        "update_kpi_assignment",
        {"id": U, "input": "KpiAssignmentInput!"},
        "id weight",
        {"id": "{kpi_asg}", "input": {"weight": "3"}},
        "PATCH /api/v1/kpi-assignments/{kpi_asg}",
        OKR_MANAGERS,
        ("kpi", None),
        ("lead",),
        "/api/v1/kpi-assignments/{kpi_asg}",
    ),
    m(
        "record_kpi_measurement",
        {"assignment_id": U, "input": "KpiMeasurementInput!"},
        "id value",
        {"assignment_id": "{kpi_asg}", "input": {"value": "7", "measured_at": "2026-10-03"}},
        "POST /api/v1/kpi-assignments/{kpi_asg}/measurements",
        (*OKR_MANAGERS, "kpi:write"),
        ("kpi", None),
        ("kpi:write",),
        "/api/v1/kpi-assignments/{kpi_asg}/measurements",
    ),
    # OKRs (the shared world's public objective is a draft)
    m(
        "create_objective",
        {"input": "ObjectiveInput!"},
        f"id owner {{ {EMP} }}",
        {"input": {"title": "New", "level": "individual", "owner_id": "{alice}", "cycle_id": "{okr_cycle}"}},
        "POST /api/v1/objectives",
        PLANNERS,
        ("okr", "draft"),
        ("alice",),
        "/api/v1/objectives?owner_id={alice}",
    ),
    m(
        "update_objective",
        {"id": U, "input": "ObjectiveInput!"},
        "id title",
        {"id": "{obj_pub}", "input": {"title": "Renamed"}},
        "PATCH /api/v1/objectives/{obj_pub}",
        PLANNERS,
        ("okr", "draft"),
        ("boss",),
        OBJ_PROBE,
    ),
    objective_action("submit", (*STAFF, "alice"), "draft", "alice"),
    objective_action("approve", OKR_MANAGERS, "submitted", "lead"),
    objective_action("reject", OKR_MANAGERS, "submitted", "boss", comment="not yet"),
    objective_action("publish", PLANNERS, "approved", "alice"),
    objective_action("close", OKR_MANAGERS, "published", "lead"),
    m(
        "create_key_result",
        {"input": "KeyResultInput!"},
        "id",
        {"input": {"objective_id": "{obj_pub}", "title": "New KR", "kind": "boolean"}},
        "POST /api/v1/key-results",
        PLANNERS,
        ("okr", "draft"),
        ("alice",),
        "/api/v1/key-results?objective_id={obj_pub}",
    ),
    m(
        "update_key_result",
        {"id": U, "input": "KeyResultInput!"},
        "id title",
        {"id": "{kr_pub}", "input": {"title": "Renamed KR"}},
        "PATCH /api/v1/key-results/{kr_pub}",
        PLANNERS,
        ("okr", "draft"),
        ("lead",),
        "/api/v1/key-results/{kr_pub}",
    ),
    m(
        "create_check_in",
        {"key_result_id": U, "input": "CheckInInput!"},
        "id",
        {"key_result_id": "{kr_pub}", "input": {"value": "20"}},
        "POST /api/v1/key-results/{kr_pub}/check-ins",
        PLANNERS,
        ("okr", "draft"),
        ("alice",),
        "/api/v1/key-results/{kr_pub}/check-ins",
    ),
    m(
        "create_check_ins",
        {"input": "[CheckInItemInput!]!"},
        "id keyResultId",
        {"input": [{"key_result_id": "{kr_pub}", "value": "20"}]},
        "POST /api/v1/check-ins/bulk",
        PLANNERS,
        ("okr", "draft"),
        ("alice",),
        "/api/v1/key-results/{kr_pub}/check-ins",
        body={"items": [{"key_result_id": "{kr_pub}", "value": "20"}]},
    ),
    # scores
    m(
        "recompute_scores",
        {"cycle_id": U},
        "id status",
        {"cycle_id": "{kpi_cycle}"},
        "POST /api/v1/cycles/{kpi_cycle}/scores/recompute",
        STAFF,
        ("kpi", None),
        ("hr",),
        score_jobs,
        body=None,
    ),
    m(
        "amend_score",
        {"cycle_id": U, "input": "ScoreAmendmentInput!"},
        "previousVersion score { employeeId recordVersion final rating } corrections { action }",
        {"cycle_id": "{eval_cycle}", "input": {"employee_id": "{alice}", "final": "70", "reason": "A KPI was wrong"}},
        "POST /api/v1/cycles/{eval_cycle}/amendments",
        STAFF,
        ("evaluations", EV_STAGES["calibrated"]),
        ("hr",),
        "/api/v1/cycles/{eval_cycle}/scores/{alice}/versions",
    ),
    # evaluations (the shared world's evaluation is reviewed, its cycle in calibration)
    m(
        "create_evaluation",
        {"input": "EvaluationInput!"},
        f"id status employee {{ {EMP} }}",
        {"input": {"employee_id": "{alice}", "cycle_id": "{eval_cycle}"}},
        "POST /api/v1/evaluations",
        EV_READERS,
        ("evaluations", EV_STAGES["fresh"]),
        ("boss",),
        evaluations_count,
    ),
    m(
        "create_evaluations_bulk",
        {"input": "EvaluationBulkInput!"},
        "created evaluationIds",
        {"input": {"cycle_id": "{eval_cycle}", "employee_ids": ["{alice}"]}},
        "POST /api/v1/evaluations/bulk",
        STAFF,
        ("evaluations", EV_STAGES["fresh"]),
        ("hr",),
        evaluations_count,
    ),
    m(
        "update_evaluation",
        {"id": U, "input": "EvaluationInput!"},
        "id selfReview { rating }",
        {"id": "{ev}", "input": {"self_review": {"rating": 3, "comments": "draft"}}},
        "PATCH /api/v1/evaluations/{ev}",
        ("alice",),
        ("evaluations", EV_STAGES["open"]),
        ("alice",),
        EV_PROBE,
    ),
    evaluation_action(
        "submit_self_review", "submit_self", ("alice",), "open", "alice", self_review=("SelfReviewInput", {"rating": 4})
    ),
    evaluation_action(
        "submit_manager_review",
        "submit_manager",
        (*STAFF, "lead"),
        "self",
        "lead",
        manager_review=("ManagerReviewInput", {"rating": 4}),
    ),
    evaluation_action("finalize_evaluation", "finalize", (*STAFF, "lead"), "calibrated", "lead"),
    evaluation_action("acknowledge_evaluation", "acknowledge", ("alice",), "finalized", "alice", comment=(S, "Agreed")),
    m(
        "request_peer_feedback",
        {"evaluation_id": U, "input": "PeerRequestInput!"},
        "id reviewerId status",
        {"evaluation_id": "{ev}", "input": {"reviewer_id": "{carol}"}},
        "POST /api/v1/evaluations/{ev}/peer-requests",
        (*EV_READERS, "alice"),
        ("evaluations", EV_STAGES["open"]),
        ("alice",),
        "/api/v1/evaluations/{ev}/peer-requests",
    ),
    m(
        "submit_peer_feedback",
        {"evaluation_id": U, "input": "FeedbackInput!"},
        "id reviewerId rating",
        {"evaluation_id": "{ev}", "input": {"rating": 4, "comments": "Helpful"}},
        "POST /api/v1/evaluations/{ev}/feedback",
        ("bob",),
        ("evaluations", EV_STAGES["open"]),
        ("bob",),
        "/api/v1/evaluations/{ev}/feedback",
    ),
    m(
        "decline_peer_request",
        {"id": U, "reason": S},
        "id status",
        {"id": "{req}", "reason": "No contact"},
        "POST /api/v1/peer-requests/{req}/decline",
        ("bob",),
        ("evaluations", EV_STAGES["open"]),
        ("bob",),
        "/api/v1/peer-requests/{req}",
        body={"reason": "No contact"},
    ),
    m(
        "create_calibration",
        {"input": "CalibrationInput!"},
        "id employeeIds",
        {"input": {"cycle_id": "{eval_cycle}", "name": "Ops", "employee_ids": ["{alice}"]}},
        "POST /api/v1/calibrations",
        STAFF,
        ("evaluations", EV_STAGES["open"]),
        ("hr",),
        "/api/v1/calibrations?cycle_id={eval_cycle}",
    ),
    m(
        "add_calibration_adjustment",
        {"calibration_id": U, "input": "AdjustmentInput!"},
        "id delta",
        {"calibration_id": "{cal}", "input": {"employee_id": "{alice}", "delta": "-2.5", "reason": "Down"}},
        "POST /api/v1/calibrations/{cal}/adjustments",
        STAFF,
        ("evaluations", EV_STAGES["session"]),
        ("hr",),
        "/api/v1/calibrations/{cal}/adjustments",
    ),
    m(
        "simulate_calibration",
        {"id": U, "adjustments": "[AdjustmentInput!]!"},
        "employees { employeeId final }",
        {"id": "{cal}", "adjustments": [{"employee_id": "{alice}", "delta": "5"}]},
        "POST /api/v1/calibrations/{cal}/simulate",
        STAFF,
        SHARED,
        (),
        "/api/v1/calibrations/{cal}/distribution",
        body={"adjustments": [{"employee_id": "{alice}", "delta": "5"}]},
    ),
    m(
        "finalize_calibration",
        {"id": U},
        "id status",
        {"id": "{cal}"},
        "POST /api/v1/calibrations/{cal}/finalize",
        STAFF,
        ("evaluations", EV_STAGES["session"]),
        ("admin",),
        "/api/v1/calibrations/{cal}",
        body=None,
    ),
    m(
        "create_interview",
        {"input": "InterviewInput!"},
        "id",
        {"input": {"evaluation_id": "{ev}", "plan": "Plan"}},
        "POST /api/v1/interviews",
        EV_READERS,
        ("evaluations", EV_STAGES["open"]),
        ("boss",),
        "/api/v1/interviews?evaluation_id={ev}",
    ),
    m(
        "update_interview",
        {"id": U, "input": "InterviewInput!"},
        "id notes",
        {"id": "{iv}", "input": {"notes": "Noted"}},
        "PATCH /api/v1/interviews/{iv}",
        EV_READERS,
        ("evaluations", EV_STAGES["interview"]),
        ("lead",),
        "/api/v1/interviews/{iv}",
    ),
    m(
        "acknowledge_interview",
        {"id": U, "comment": S},
        "id status",
        {"id": "{iv}", "comment": "Signed"},
        "POST /api/v1/interviews/{iv}/acknowledge",
        ("alice",),
        ("evaluations", EV_STAGES["finalized"]),
        ("alice",),
        "/api/v1/interviews/{iv}",
        body={"comment": "Signed"},
    ),
    m(
        "create_review_meeting",
        {"input": "ReviewMeetingInput!"},
        "id",
        {"input": {"subject": {"kind": "evaluation", "id": "{ev}"}, "gap": "Conversion below target"}},
        "POST /api/v1/review-meetings",
        EV_READERS,
        ("evaluations", EV_STAGES["open"]),
        ("boss",),
        "/api/v1/review-meetings?subject_id={ev}",
    ),
    m(
        "update_review_meeting",
        {"id": U, "input": "ReviewMeetingInput!"},
        "id",
        {"id": "{meeting}", "input": {"cause_analysis": "Traffic dropped"}},
        "PATCH /api/v1/review-meetings/{meeting}",
        EV_READERS,
        ("evaluations", EV_STAGES["meeting"]),
        ("lead",),
        "/api/v1/review-meetings/{meeting}",
    ),
    m(
        "prefill_review_meeting",
        {"id": U},
        "id resultData",
        {"id": "{meeting}"},
        "POST /api/v1/review-meetings/{meeting}/prefill",
        EV_READERS,
        ("evaluations", EV_STAGES["meeting"]),
        ("lead",),
        "/api/v1/review-meetings/{meeting}",
        body=None,
    ),
    # incentives
    m(
        "create_incentive_plan",
        {"input": "IncentivePlanInput!"},
        "id params",
        {"input": {"name": "New", "kind": "short_term_bonus", "cycle_id": "{inc_cycle}"}},
        "POST /api/v1/incentive-plans",
        STAFF,
        ("incentives", "draft"),
        ("hr",),
        "/api/v1/incentive-plans",
    ),
    m(
        "update_incentive_plan",
        {"id": U, "input": "IncentivePlanInput!"},
        "id name",
        {"id": "{plan_d}", "input": {"name": "Renamed"}},
        "PATCH /api/v1/incentive-plans/{plan_d}",
        STAFF,
        ("incentives", "draft"),
        ("admin",),
        "/api/v1/incentive-plans/{plan_d}",
    ),
    m(
        "run_incentive_plan",
        {"id": U},
        "planId created replaced totalMinor resultIds",
        {"id": "{plan_d}"},
        "POST /api/v1/incentive-plans/{plan_d}/run",
        STAFF,
        ("incentives", "draft"),
        ("hr",),
        RESULTS_OF + "{plan_d}",
        body=None,
    ),
    m(
        "approve_incentive_plan_results",
        {"id": U},
        "count resultIds",
        {"id": "{plan_d}"},
        "POST /api/v1/incentive-plans/{plan_d}/approve",
        STAFF,
        ("incentives", "draft"),
        ("hr",),
        RESULTS_OF + "{plan_d}",
        body=None,
    ),
    m(
        "finalize_incentive_plan_results",
        {"id": U},
        "count resultIds",
        {"id": "{plan_a}"},
        "POST /api/v1/incentive-plans/{plan_a}/finalize",
        STAFF,
        ("incentives", "approved"),
        ("admin",),
        RESULTS_OF + "{plan_a}",
        body=None,
    ),
    result_action("approve_incentive_result", "approve", "res_draft", "draft"),
    result_action("finalize_incentive_result", "finalize", "res_approved", "approved", "admin"),
    result_action("decline_incentive_result", "decline", "res_draft", "draft"),
    m(
        "adjust_incentive_result",
        {"id": U, "input": "IncentiveAdjustmentInput!"},
        "id employeeId amountMinor",
        {"id": "{res_final}", "input": {"amount_minor": 10, "reason": "fix"}},
        "POST /api/v1/incentive-results/{res_final}/adjust",
        STAFF,
        ("incentives", "final"),
        ("hr",),
        RESULTS_OF + "{plan_f}",
    ),
    m(
        "decide_nomination",
        {"id": U, "decision": "NominationDecision!", "comment": S},
        "id status",
        {"id": "{nomination}", "decision": "decline", "comment": "not this year"},
        "POST /api/v1/nominations/{nomination}/decline",
        STAFF,
        ("incentives", "nomination"),
        ("hr",),
        "/api/v1/nominations/{nomination}",
        body={"comment": "not this year"},
    ),
    # development plans (alice's, followed by lead; the nomination is alice's draft one)
    m(
        "create_development_plan",
        {"input": "DevelopmentPlanInput!"},
        "id ownerId",
        {"input": {"employee_id": "{alice}", "title": "Lead the Q1 launch"}},
        "POST /api/v1/development-plans",
        DEV_MAKERS,
        DEVELOPMENT,
        ("boss",),
        "/api/v1/development-plans?employee_id={alice}",
    ),
    m(
        "update_development_plan",
        {"id": U, "input": "DevelopmentPlanInput!"},
        "id goals",
        {"id": "{dplan}", "input": {"goals": ["Present at the offsite"]}},
        "PATCH /api/v1/development-plans/{dplan}",
        DEV_MAKERS,
        DEVELOPMENT,
        ("lead",),
        "/api/v1/development-plans/{dplan}",
    ),
    m(
        "add_development_plan_item",
        {"plan_id": U, "input": "DevelopmentItemInput!"},
        "id status",
        {"plan_id": "{dplan}", "input": {"kind": "mentoring", "title": "Weekly 1:1"}},
        "POST /api/v1/development-plans/{dplan}/items",
        DEV_MAKERS,
        DEVELOPMENT,
        ("boss",),
        "/api/v1/development-plans/{dplan}",
    ),
    m(
        "update_development_plan_item",
        {"id": U, "input": "DevelopmentItemInput!"},
        "id status completedAt",
        {"id": "{ditem}", "input": {"status": "done"}},
        "PATCH /api/v1/development-plans/{dplan}/items/{ditem}",
        (*DEV_MAKERS, "alice"),
        DEVELOPMENT,
        ("alice",),
        "/api/v1/development-plans/{dplan}",
    ),
    m(
        "create_nomination_development_plan",
        {"nomination_id": U},
        "id nominationId",
        {"nomination_id": "{nomination}"},
        "POST /api/v1/nominations/{nomination}/development-plan",
        DEV_MAKERS,
        DEVELOPMENT,
        ("lead",),
        "/api/v1/nominations/{nomination}",
        body=None,
    ),
    # meetings (lead's weekly one-on-one with alice; the action is alice's)
    m(
        "schedule_meeting",
        {"input": "MeetingInput!"},
        "id attendeeIds",
        {
            "input": {
                "kind": "one_on_one",
                "title": "Mid-week catch-up",
                "attendee_ids": ["{lead}", "{alice}"],
                "starts_at": "2027-01-06T10:00:00Z",
            }
        },
        "POST /api/v1/meetings",
        MEETING_RECORDERS,
        MEETINGS,
        ("boss",),
        "/api/v1/meetings?attendee_id={alice}",
    ),
    m(
        "update_meeting",
        {"id": U, "input": "MeetingInput!"},
        "id title",
        {"id": "{rhythm}", "input": {"title": "Weekly 1:1"}},
        "PATCH /api/v1/meetings/{rhythm}",
        MEETING_WRITERS,
        MEETINGS,
        ("lead",),
        "/api/v1/meetings/{rhythm}",
    ),
    m(
        "hold_meeting_occurrence",
        {"meeting_id": U, "start": "DateTime!", "input": "OccurrenceInput"},
        "status notes",
        {"meeting_id": "{rhythm}", "start": "2027-01-11T08:00:00Z", "input": {"notes": "Went well"}},
        f"POST {OCCURRENCE}/held",
        MEETING_RECORDERS,
        MEETINGS,
        ("alice",),
        OCCURRENCES,
    ),
    m(
        "cancel_meeting_occurrence",
        {"meeting_id": U, "start": "DateTime!", "input": "OccurrenceInput"},
        "status",
        {"meeting_id": "{rhythm}", "start": "2027-01-11T08:00:00Z", "input": {"notes": "Offsite"}},
        f"POST {OCCURRENCE}/cancel",
        MEETING_RECORDERS,
        MEETINGS,
        ("lead",),
        OCCURRENCES,
    ),
    m(
        "add_meeting_action",
        {"meeting_id": U, "start": "DateTime!", "input": "MeetingActionInput!"},
        "id status",
        {
            "meeting_id": "{rhythm}",
            "start": "2027-01-11T08:00:00Z",
            "input": {"owner_id": "{lead}", "title": "Book the offsite", "due_date": "2027-01-20"},
        },
        f"POST {OCCURRENCE}/actions",
        MEETING_RECORDERS,
        MEETINGS,
        ("boss",),
        "/api/v1/meetings/{rhythm}/actions",
    ),
    m(
        "update_meeting_action",
        {"id": U, "input": "MeetingActionInput!"},
        "id status",
        {"id": "{maction}", "input": {"status": "done"}},
        "PATCH /api/v1/meeting-actions/{maction}",
        MEETING_RECORDERS,  # the owner (alice) closes it
        MEETINGS,
        ("alice",),
        "/api/v1/meeting-actions/{maction}",
    ),
    m(
        "acknowledge_incentive_result",
        {"id": U, "payroll_reference": "String!"},
        "payrollReference",
        {"id": "{res_final}", "payroll_reference": "PR-1"},
        "POST /api/v1/payroll/incentive-results/{res_final}/ack",
        (*STAFF, "payroll:ack"),
        ("incentives", "final"),
        ("payroll:ack",),
        "/api/v1/incentive-results/{res_final}",
        body={"payroll_reference": "PR-1"},
    ),
]
SHARED_CASES = [
    pytest.param(mu, c, id=f"{mu.name}-{c}")
    for mu in MUTATIONS
    for c in CALLERS
    if mu.world is SHARED or c not in mu.allowed
]
FRESH_CASES = [
    pytest.param(mu, c, id=f"{mu.name}-{c}") for mu in MUTATIONS if mu.world is not SHARED for c in mu.run_as
]


def test_every_mutation_field_has_a_row():
    assert {graphql_name(mu.name) for mu in MUTATIONS} == schema_fields("Mutation")
    assert len({mu.name for mu in MUTATIONS}) == len(MUTATIONS)
    for mu in MUTATIONS:
        assert set(mu.allowed) <= set(CALLERS) and set(mu.run_as) <= set(mu.allowed), mu.name
        assert mu.run_as or mu.world is SHARED, f"{mu.name}: no allowed caller runs it"


async def probe(w: World, mu: Mutation) -> Any:
    if callable(mu.probe):
        return await mu.probe(w)
    resp = await w.tenant.client.get(fill(mu.probe, w.ids), headers=w.tenant.admin)
    return resp.status_code, resp.json()


@pytest.mark.parametrize(("mu", "caller"), SHARED_CASES)
async def test_refused_mutation_is_refused_alike_and_changes_nothing(client: Any, mu: Mutation, caller: str):
    """Each case checks the audit log (an audited change writes to it in the same
    transaction, so a refused call leaves it as it was); the row's admin probe is read
    before its first case, compared after each case of the unaudited row and, for every
    row, after its last case by the next test."""
    w = await WORLDS.shared(client)
    if mu.name not in w.baselines:
        w.baselines[mu.name] = await probe(w, mu)
    if "audit" not in w.baselines:
        w.baselines["audit"] = await audit_count(w)
    variables = fill(mu.variables, w.ids)
    method, path = mu.rest.split(" ", 1)
    rest = await ask_rest(w, caller, method, fill(path, w.ids), mu.rest_body(w.ids, variables))
    assert not leaks(w, caller, rest.body), f"REST {mu.rest} as {caller} leaked {leaks(w, caller, rest.body)}"
    if caller in mu.allowed:  # a mutation that saves nothing
        assert rest.status == 200, f"REST {mu.rest} refused {caller}: {rest.body}"
    else:
        assert rest.status >= 400, f"REST {mu.rest} allowed {caller}: {rest.body}"
    got = await ask_graphql(w, caller, mu.doc, variables)
    assert not leaks(w, caller, got.body), f"{mu.name} as {caller} leaked {leaks(w, caller, got.body)}"
    assert got.status == rest.status, (
        f"{mu.name} as {caller}: GraphQL {got.status} {got.body}, REST {rest.status} {rest.body}"
    )
    if got.status != 200:
        assert got.body.get("data") is None, got.body
    assert await audit_count(w) == w.baselines["audit"], f"{mu.name} as {caller} wrote an audit event"
    if not mu.audited:
        assert await probe(w, mu) == w.baselines[mu.name], f"{mu.name} as {caller} changed the organization"


@pytest.mark.parametrize("mu", [pytest.param(mu, id=mu.name) for mu in MUTATIONS])
async def test_refused_mutations_left_the_probe_as_it_was(client: Any, mu: Mutation):
    w = await WORLDS.shared(client)
    now = await probe(w, mu)
    assert now == w.baselines.get(mu.name, now), f"a refused {mu.name} changed the organization"


@pytest.mark.parametrize(("mu", "caller"), FRESH_CASES)
async def test_allowed_mutation_succeeds(client: Any, mu: Mutation, caller: str):
    """On a fresh organization; another organization's admin acts in their own, so they
    run against the shared one, which must stay as it was."""
    foreign = caller == "other_admin"
    w = await WORLDS.for_case(client, shares=foreign, key=None if foreign else mu.world)
    before = await probe(w, mu), await audit_count(w)
    got = await ask_graphql(w, caller, mu.doc, fill(mu.variables, w.ids))
    assert got.status == 200 and got.body["data"][mu.name] is not None, f"{mu.name} as {caller}: {got.body}"
    assert not leaks(w, caller, got.body), f"{mu.name} as {caller} leaked {leaks(w, caller, got.body)}"
    probed, audited = await probe(w, mu), await audit_count(w)
    if foreign:
        assert (probed, audited) == before, f"{mu.name} as {caller} changed another organization"
    else:
        assert probed != before[0], f"{mu.name} as {caller} answered 200 but changed nothing"
        assert (audited > before[1]) == mu.audited, f"{mu.name} as {caller}: audit events {before[1]} → {audited}"


# --- the detectors themselves ----------------------------------------------------------------------


def test_foreign_pay_knows_whose_pay_it_is():
    alice, bob = "a-id", "b-id"
    assert foreign_pay({"id": alice, "given_name": "A", "compensation": {"base_salary_minor": 1}}, alice) is None
    assert foreign_pay({"nodes": [{"id": bob, "compensation": {"base_salary_minor": 1}}]}, alice)
    assert foreign_pay({"employee_id": alice, "inputs": {"money": {}}}, alice) is None
    assert foreign_pay({"employee_id": bob, "inputs": {"money": {}}}, alice)
    assert foreign_pay(
        {"employee_id": alice, "employee": {"id": bob, "compensation": {"currency": "USD", "base_salary_minor": 2}}},
        alice,
    )
    assert foreign_pay({"total_minor": 5}, None) and foreign_pay({"amount_minor": 5}, alice)
    assert foreign_pay({"id": bob, "compensation": None, "amount_minor": None}, alice) is None
    assert foreign_pay({"id": bob, "compensation": {"base_salary_minor": None}}, alice)  # shown at all


def test_reviewer_detector_looks_everywhere():
    assert names_reviewer({"data": {"evaluation": {"peer_requests": [{"reviewer_id": "b"}]}}}, "b")
    assert not names_reviewer({"items": [{"id": "b", "reviewer_id": None}]}, "b")
