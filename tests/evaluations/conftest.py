"""Helpers of the evaluation tests: a cycle, evaluations and their workflow walked
through the API by the callers allowed to walk it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.kpi.conftest import make_cycle, outbox_events  # noqa: F401  (re-exported helpers)

E = "/api/v1/evaluations"


async def transition(t: Tenant, cycle: dict[str, Any], to: str) -> dict[str, Any]:
    resp = await t.client.post(f"/api/v1/cycles/{cycle['id']}/transition", headers=t.hr, json={"to": to})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def open_evaluation(
    t: Tenant, employee: str, cycle: dict[str, Any], headers: dict[str, str] | None = None, expect: int = 201
) -> dict[str, Any]:
    resp = await t.client.post(
        E, headers=headers or t.hr, json={"employee_id": t.employees[employee]["id"], "cycle_id": cycle["id"]}
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


async def act(
    t: Tenant, evaluation: dict[str, Any], action: str, headers: dict[str, str], expect: int = 200, **body: Any
) -> dict[str, Any]:
    resp = await t.client.post(f"{E}/{evaluation['id']}/{action}", headers=headers, json=body or None)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def get(t: Tenant, path: str, headers: dict[str, str] | None = None, expect: int = 200) -> Any:
    resp = await t.client.get(path, headers=headers or t.hr)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def reviewed(
    t: Tenant, employee: str, cycle: dict[str, Any], manager: str, self_rating: int = 4, manager_rating: int = 4
) -> dict[str, Any]:
    """An evaluation with the self review and the manager review submitted."""
    ev = await open_evaluation(t, employee, cycle)
    await act(t, ev, "submit_self", t.employee(employee), self_review={"rating": self_rating, "comments": "ok"})
    return await act(t, ev, "submit_manager", t.employee(manager), manager_review={"rating": manager_rating})


async def ask(
    t: Tenant,
    evaluation: dict[str, Any],
    reviewer: str,
    headers: dict[str, str] | None = None,
    expect: int = 201,
    **extra: Any,
) -> dict[str, Any]:
    resp = await t.client.post(
        f"{E}/{evaluation['id']}/peer-requests",
        headers=headers or t.hr,
        json={"reviewer_id": t.employees[reviewer]["id"], **extra},
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


async def answer(
    t: Tenant, evaluation: dict[str, Any], reviewer: str, rating: int, comments: str | None = None, expect: int = 201
) -> dict[str, Any]:
    resp = await t.client.post(
        f"{E}/{evaluation['id']}/feedback", headers=t.employee(reviewer), json={"rating": rating, "comments": comments}
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


@pytest.fixture
async def review_cycle(team: Tenant) -> dict[str, Any]:
    return await make_cycle(team, status="review")
