"""Examples of the main request bodies, by operation id, added to each operation's
`requestBody` as OpenAPI media-type `examples` (`{name: {summary, value}}`): where
Redocly shows them as request samples and checks them against the schema
(`no-invalid-media-type-examples`), and where generators leave them alone.

They live here rather than on the models so that a model shared by several operations
(or retyped) keeps one definition, and so that tests/test_openapi_examples.py can check
every one with the very body type its route validates with: an example that stops
matching its model fails there, and one naming an unknown operation, or one without a
JSON body, stops the document from being built."""

from __future__ import annotations

from typing import Any

# Ids of the examples: UUIDv7s, as the API makes them.
EMPLOYEE = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d01"
MANAGER = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d02"
DEPARTMENT = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d03"
POSITION = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d04"
CYCLE = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d05"
OBJECTIVE = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d06"
KEY_RESULT = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d07"
KEY_RESULT_2 = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d08"
DEFINITION = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d09"
ASSIGNMENT = "0190f5a2-7c1e-7b3a-9d4e-5f6a7b8c9d0a"


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "create_employee": {
        "employee": _example(
            "An employee with department, position, manager and pay",
            {
                "external_id": "HR-1042",
                "email": "ada.lovelace@example.com",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "department_id": DEPARTMENT,
                "position_id": POSITION,
                "manager_id": MANAGER,
                "hire_date": "2024-03-01",
                "compensation": {"base_salary_minor": 7200000, "currency": "EUR", "target_bonus_pct": "10"},
            },
        )
    },
    "bulk_upsert_employees": {
        "rows": _example(
            "Two employees by HRIS id: a manager, and a report who names them by `manager_external_id`",
            {
                "rows": [
                    {
                        "external_id": "HR-1001",
                        "email": "grace.hopper@example.com",
                        "given_name": "Grace",
                        "family_name": "Hopper",
                        "hire_date": "2019-09-01",
                    },
                    {
                        "external_id": "HR-1043",
                        "email": "alan.turing@example.com",
                        "given_name": "Alan",
                        "family_name": "Turing",
                        "manager_external_id": "HR-1001",
                        "status": "on_leave",
                    },
                ]
            },
        )
    },
    "create_cycle": {
        "year": _example(
            "A fiscal year (split it into quarters with `POST /cycles/{id}/children`)",
            {"name": "FY 2026", "cadence": "annual", "start_date": "2026-01-01", "end_date": "2026-12-31"},
        )
    },
    "create_objective": {
        "with_key_results": _example(
            "A team objective with a metric, a milestone and a yes/no key result, created together",
            {
                "title": "Make onboarding effortless",
                "level": "team",
                "owner_id": EMPLOYEE,
                "department_id": DEPARTMENT,
                "cycle_id": CYCLE,
                "type": "aspirational",
                "parent_id": OBJECTIVE,
                "weight": "2",
                "visibility": "public",
                "key_results": [
                    {
                        "title": "Cut time to first value from 14 to 3 days",
                        "kind": "metric",
                        "start": "14",
                        "target": "3",
                        "unit": "days",
                        "due_date": "2026-09-30",
                    },
                    {
                        "title": "Ship the guided setup",
                        "kind": "milestone",
                        "milestones": [
                            {"title": "Design approved", "weight": "1"},
                            {"title": "Beta with 10 customers", "weight": "2"},
                            {"title": "General availability", "weight": "2"},
                        ],
                    },
                    {"title": "Retire the legacy setup wizard", "kind": "boolean"},
                ],
            },
        )
    },
    "create_check_in": {
        "metric": _example(
            "A metric key result's weekly check-in",
            {"value": "9", "confidence": 7, "status": "on_track", "note": "Two new templates shipped this week"},
        ),
        "milestone": _example("A milestone marked done", {"milestone": 0, "done": True, "confidence": 8}),
    },
    "create_check_ins": {
        "weekly": _example(
            "The week's check-ins of two key results, all or nothing",
            {
                "items": [
                    {"key_result_id": KEY_RESULT, "value": "9", "confidence": 7, "status": "on_track"},
                    {"key_result_id": KEY_RESULT_2, "done": True, "note": "Legacy wizard switched off"},
                ]
            },
        )
    },
    "create_kpi_definition": {
        "nps": _example(
            "A customer KPI averaged over the cycle",
            {
                "code": "NPS",
                "name": "Net promoter score",
                "unit": "points",
                "direction": "higher_is_better",
                "aggregation": "avg",
                "perspective": "customer",
                "description": "Monthly NPS survey of active customers",
            },
        )
    },
    "create_kpi_assignment": {
        "banded": _example(
            "A banded KPI: threshold, target and stretch, rewardable above target",
            {
                "employee_id": EMPLOYEE,
                "cycle_id": CYCLE,
                "definition_id": DEFINITION,
                "method": "banded",
                "weight": "2",
                "threshold": "30",
                "target": "45",
                "stretch": "60",
                "rewardable": True,
            },
        )
    },
    "create_kpi_measurement": {
        "monthly": _example(
            "A month's value, idempotent on `source_key`",
            {"value": "48.5", "measured_at": "2026-03-31", "source": "survey-tool", "source_key": "nps-2026-03"},
        )
    },
    "ingest_kpi_measurements_bulk": {
        "feed": _example(
            "Two measurements: one by assignment, one by employee, KPI code and cycle",
            {
                "rows": [
                    {
                        "assignment_id": ASSIGNMENT,
                        "value": "48.5",
                        "measured_at": "2026-03-31",
                        "source_key": "nps-2026-03",
                    },
                    {
                        "employee_external_id": "HR-1042",
                        "kpi_code": "NPS",
                        "cycle_id": CYCLE,
                        "value": "51",
                        "measured_at": "2026-04-30",
                        "source": "survey-tool",
                        "source_key": "nps-2026-04",
                    },
                ]
            },
        )
    },
    "create_evaluation": {
        "evaluation": _example("An employee's evaluation for a cycle", {"employee_id": EMPLOYEE, "cycle_id": CYCLE})
    },
    "create_scoring_policy": {
        "department": _example(
            "A department's policy: KPI-heavy weights, 360 feedback counted, an advisory distribution, summed KPI "
            "targets prorated for mid-quarter hires",
            {
                "name": "Sales 2026",
                "scope": {"kind": "department", "id": DEPARTMENT},
                "w_kpi": "0.5",
                "w_okr": "0.3",
                "w_eval": "0.2",
                "okr_par_aspirational": "0.7",
                "peer_weight": "0.2",
                "kpi_proration": "prorate_target",
                "bands": [
                    {"rating": "S", "min": "110"},
                    {"rating": "A", "min": "95"},
                    {"rating": "B", "min": "80"},
                    {"rating": "C", "min": "60"},
                    {"rating": "D", "min": "0"},
                ],
                "distribution": {
                    "mode": "advisory",
                    "bands": [
                        {"rating": "S", "pct": "0.1"},
                        {"rating": "A", "pct": "0.2"},
                        {"rating": "B", "pct": "0.5"},
                        {"rating": "C", "pct": "0.15"},
                        {"rating": "D", "pct": "0.05"},
                    ],
                },
            },
        )
    },
    "create_incentive_plan": {
        "short_term_bonus": _example(
            "A yearly bonus by rating, within a pool, for employees of at least 90 days",
            {
                "name": "Bonus FY 2026",
                "kind": "short_term_bonus",
                "cycle_id": CYCLE,
                "currency": "EUR",
                "params": {
                    "basis": "rating",
                    "multipliers": {"S": "1.5", "A": "1.2", "B": "1", "C": "0.5", "D": "0"},
                    "pool_minor": 50000000,
                    "eligibility": {"statuses": ["active"], "min_tenure_days": 90},
                },
            },
        ),
        "short_term_bonus_kpi": _example(
            "A quarterly bonus on the KPI component alone, by KPI band",
            {
                "name": "Sales KPI bonus Q4",
                "kind": "short_term_bonus",
                "cycle_id": CYCLE,
                "params": {
                    "basis": "kpi_points",
                    "kpi_bands": [
                        {"label": "exceeds", "min": "110", "multiplier": "1.5"},
                        {"label": "meets", "min": "100", "multiplier": "1.0"},
                        {"label": "partial", "min": "80", "multiplier": "0.5"},
                    ],
                    "earning_code": "KPI_BONUS",
                },
            },
        ),
        "okr_breakthrough": _example(
            "Nominations for a promotion track",
            {
                "name": "Breakthroughs FY 2026",
                "kind": "okr_breakthrough",
                "cycle_id": CYCLE,
                "params": {"min_objective_score": "0.8", "ratings": ["S"], "nomination_kind": "promotion_track"},
            },
        ),
    },
    "create_webhook": {
        "subscription": _example(
            "Employee and score events to one endpoint",
            {
                "url": "https://hooks.example.com/perf",
                "events": ["employee.upserted", "score.updated", "score.amended"],
                "description": "People analytics sync",
            },
        )
    },
}


def add_examples(document: dict[str, Any]) -> dict[str, Any]:
    """Each operation of `EXAMPLES` gets its examples on its JSON request body."""
    operations = {
        operation.get("operationId"): operation
        for item in document.get("paths", {}).values()
        for operation in item.values()
    }
    for operation_id, examples in EXAMPLES.items():
        operation = operations.get(operation_id)
        if operation is None:
            raise RuntimeError(f"openapi_examples names {operation_id!r}, which is no operation")
        media = ((operation.get("requestBody") or {}).get("content") or {}).get("application/json")
        if media is None:
            raise RuntimeError(f"the operation {operation_id!r} of openapi_examples takes no JSON body")
        media["examples"] = examples
    return document
