"""Helpers of the task-list tests: the caller's tasks over REST, walked page by page."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant

TASKS = "/api/v1/me/tasks"


async def tasks(t: Tenant, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every task of the caller (all pages)."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = await t.client.get(TASKS, headers=headers, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return out


async def kinds(t: Tenant, headers: dict[str, str]) -> set[tuple[str, str]]:
    """(kind, subject id) of each of the caller's tasks."""
    return {(x["kind"], x["subject"]["id"]) for x in await tasks(t, headers)}


def hr_person(t: Tenant, key: str) -> dict[str, str]:
    """An hr user who is also the employee `key`."""
    return t.as_("hr", emp=t.employees[key]["id"])
