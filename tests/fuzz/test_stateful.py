"""Stateful runs: sequences of calls where an answer feeds the next request (an id from a
POST used by a GET, PATCH or action), following the links schemathesis infers from the
document (a field `id` of `EmployeeRead` is `employee_id` of `/employees/{employee_id}`)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings

from tests.fuzz.conftest import DERANDOMIZE, MAX_EXAMPLES
from tests.fuzz.test_openapi import schema
from tests.fuzz.world import World

STATEFUL_SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
    max_examples=MAX_EXAMPLES,
    stateful_step_count=8,
)


def run_as(headers: dict[str, str]) -> int:
    """Runs the state machine; answers how many links it could follow."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

    links = len(Workflow.bundles) if hasattr(Workflow, "bundles") else 0
    Workflow.run(settings=STATEFUL_SETTINGS)
    return links


def test_stateful_as_hr(world: World) -> None:
    assert run_as(world.hr) > 0


def test_stateful_as_employee(world: World) -> None:
    assert run_as(world.employee) > 0
