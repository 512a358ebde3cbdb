"""Schemathesis against the app's own OpenAPI document, in process, with every check."""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from service.web.app import create_app
from tests.fuzz.conftest import DERANDOMIZE, FULL_RUN, MAX_EXAMPLES, fuzz_app
from tests.fuzz.world import World

schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app(create_app()))
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
)
# Every built-in check runs (only max_response_time is off: timing is the benchmarks' job).
# Two expected-status lists are widened, each by a status the API contract prescribes:
# - a body over the size limit is rejected with 413 (a rejection, just not in the default list);
# - well-formed data may still break a rule a JSON Schema cannot state (a reference to a row
#   that does not exist or is not visible, end before start, an opaque cursor that does not
#   decode): the contract answers those with 422 naming the field (API.md, "bad input");
# - an `If-Match` header naming another version than the stored one is well-formed and
#   answered 412 (the precondition failed, as API.md prescribes).
# The coverage phase (boundary values of every parameter, each missing required part)
# sends many requests per operation whatever `max_examples` is: `make fuzz` runs it, the
# suite's bounded run keeps to the examples and fuzzing phases.
schema.config.phases.coverage.enabled = FULL_RUN
_checks = schema.config.checks
_checks.negative_data_rejection.expected_statuses = [*_checks.negative_data_rejection.expected_statuses, "413"]
_checks.positive_data_acceptance.expected_statuses = [
    *_checks.positive_data_acceptance.expected_statuses,
    "422",
    "412",
]

FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
    max_examples=MAX_EXAMPLES,
)


def aim(case: Any, world: World) -> None:
    """Half of the well-formed ids become ids of real resources, so the fuzzers reach past
    the 404 (which half depends on the generated id, so a failure replays)."""
    for name, value in list((case.path_parameters or {}).items()):
        known = world.ids.get(name)
        if not known or not isinstance(value, str):
            continue
        try:
            generated = uuid.UUID(value)
        except ValueError:
            continue
        if generated.int % 2 == 0:
            case.path_parameters[name] = known[generated.int % len(known)]


@schema.parametrize()
@FUZZ_SETTINGS
def test_rest_as_hr(case: Any, world: World) -> None:
    aim(case, world)
    case.call_and_validate(headers=world.hr)


@schema.parametrize()
@FUZZ_SETTINGS
def test_rest_as_employee(case: Any, world: World) -> None:
    aim(case, world)
    case.call_and_validate(headers=world.employee)
