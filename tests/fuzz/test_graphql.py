"""Schemathesis against `/graphql`: queries and mutations generated from the schema the
app serves, sent in process with an HR token and an employee token."""

from __future__ import annotations

from typing import Any

import schemathesis
from graphql import introspection_from_schema
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.graphql import nodes
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.graphql.schema import schema as graphql_schema
from service.web.app import create_app
from tests.fuzz.conftest import DERANDOMIZE, GRAPHQL_MAX_EXAMPLES, fuzz_app
from tests.fuzz.world import World

# The service's own scalars (service/graphql/common.py): decimal strings, and odd ones too
# ("NaN", exponents, garbage); integers of any size for minor units; small JSON values.
schemathesis.graphql.scalar(
    "DecimalString",
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
        st.sampled_from(["NaN", "Infinity", "-0", "1E+30", "1e-30", "", "abc"]),
    ).map(nodes.String),
)
schemathesis.graphql.scalar("MinorUnits", st.integers(min_value=-(2**70), max_value=2**70).map(nodes.Int))
schemathesis.graphql.scalar(
    "JSON", st.one_of(st.text(max_size=20).map(nodes.String), st.integers().map(nodes.Int), st.just(nodes.Null))
)

# The introspection result of the schema the router serves (the same object), so the
# fuzzer's schema is known at collection time, before any token exists.
schema = schemathesis.graphql.from_dict(introspection_from_schema(graphql_schema._schema))
schema.app = fuzz_app(create_app())
schema.location = "/graphql"
schema.config.generation.update(max_examples=GRAPHQL_MAX_EXAMPLES)


def errors_are_domain_errors(ctx: Any, response: Any, case: Any) -> None:
    """The service's GraphQL error contract (service/graphql/schema.py): an error raised
    while resolving a field is a domain error carrying `extensions.status` 4xx and `code`,
    like the REST problem; anything unexpected is masked as status 500, code `internal`.
    A 4xx is the right answer to a fuzzed id that does not exist or is not visible, so
    this check fails on server errors only: an HTTP 5xx, a masked internal error (which
    also covers a non-null field resolved to null), or a resolver error without a status.
    It takes the place of schemathesis' generic GraphQL classification, which reads
    Apollo's and graphql-java's error codes and treats every other resolver error as a
    server error."""
    assert response.status_code < 500, f"HTTP {response.status_code}"
    payload = response.json()
    assert isinstance(payload, dict), "a GraphQL answer is a JSON object"
    for error in payload.get("errors") or []:
        if "path" not in error:
            continue  # the query itself was refused (validation, depth, aliases, tokens)
        ext = error.get("extensions") or {}
        status = ext.get("status")
        assert isinstance(status, int) and 400 <= status < 500 and ext.get("code"), (
            f"server error at {error.get('path')}: {error.get('message')} {ext}"
        )


VALIDATE = {
    "excluded_checks": [not_a_server_error, positive_data_acceptance],
    "additional_checks": [errors_are_domain_errors],
}

FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
    max_examples=GRAPHQL_MAX_EXAMPLES,
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_graphql_as_hr(case: Any, world: World) -> None:
    case.call_and_validate(headers=world.hr, **VALIDATE)


@schema.parametrize()
@FUZZ_SETTINGS
def test_graphql_as_employee(case: Any, world: World) -> None:
    case.call_and_validate(headers=world.employee, **VALIDATE)
