"""POST /api/v1/employees/bulk: upsert by external_id with a per-row outcome, managers
by external id (also rows of the same call), cycle checks over the whole batch, the
all-or-nothing mode and the size limit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from service.config import get_settings
from tests.conftest import Tenant

URL = "/api/v1/employees/bulk"


def row(ext: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "email": f"{ext}@example.com",
        "given_name": ext.title(),
        "family_name": "Bulk",
        **fields,
    }


async def bulk(
    t: Tenant,
    rows: list[dict[str, Any]],
    atomic: bool | None = None,
    headers: dict[str, str] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    params = {"atomic": str(atomic).lower()} if atomic is not None else {}
    resp = await t.client.post(URL, json={"rows": rows}, params=params, headers=headers or t.hr)
    assert resp.status_code == status, resp.text
    return resp.json()


def outcomes(result: dict[str, Any]) -> list[str]:
    return [r["outcome"] for r in result["results"]]


async def by_ext(t: Tenant) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await t.client.get("/api/v1/employees", headers=t.hr, params=params)).json()
        out.update({e["external_id"]: e for e in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def test_every_outcome_in_one_call(tenant):
    first = await bulk(tenant, [row("keep"), row("change")])
    assert outcomes(first) == ["created", "created"]
    ids = {r["external_id"]: r["id"] for r in first["results"]}

    result = await bulk(
        tenant, [row("keep"), row("change", given_name="Changed"), row("fresh"), row("broken", email="not-an-email")]
    )
    assert outcomes(result) == ["unchanged", "updated", "created", "error"]
    assert (result["created"], result["updated"], result["unchanged"], result["errors"]) == (1, 1, 1, 1)
    res = result["results"]
    assert [r["index"] for r in res] == [0, 1, 2, 3]
    assert res[0]["id"] == ids["keep"] and res[1]["id"] == ids["change"]
    assert res[2]["id"] and res[2]["id"] not in ids.values()
    assert res[3]["id"] is None and res[3]["external_id"] == "broken"
    assert res[3]["errors"][0]["loc"] == ["body", "rows", 3, "email"]
    assert all(r["errors"] == [] for r in res[:3])

    stored = await by_ext(tenant)
    assert set(stored) == {"keep", "change", "fresh"}
    assert stored["change"]["given_name"] == "Changed"


async def test_resending_gives_unchanged(tenant):
    rows = [
        row(
            "a",
            hire_date="2024-01-15",
            compensation={"base_salary_minor": 100, "currency": "USD", "target_bonus_pct": "12.5"},
        ),
        row("b", manager_external_id="a", status="on_leave"),
        row("c", manager_external_id="b"),
    ]
    assert outcomes(await bulk(tenant, rows)) == ["created"] * 3
    before = await by_ext(tenant)
    again = await bulk(tenant, rows)
    assert outcomes(again) == ["unchanged"] * 3
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert await by_ext(tenant) == before  # not even updated_at moved


async def test_upsert_keeps_fields_left_out(tenant):
    dep = (await tenant.client.post("/api/v1/departments", json={"name": "Ops"}, headers=tenant.hr)).json()
    await bulk(
        tenant, [row("a", department_id=dep["id"], hire_date="2020-01-01", compensation={"base_salary_minor": 500})]
    )
    result = await bulk(tenant, [row("a", given_name="Renamed")])
    assert outcomes(result) == ["updated"]
    a = (await by_ext(tenant))["a"]
    assert a["given_name"] == "Renamed" and a["department_id"] == dep["id"] and a["hire_date"] == "2020-01-01"
    assert a["compensation"]["base_salary_minor"] == 500


async def test_an_update_row_names_only_what_changes(tenant):
    """The outside probe's row: a termination sent as external_id, status and date only."""
    await bulk(tenant, [row("W202", hire_date="2021-03-01")])
    result = await bulk(tenant, [{"external_id": "W202", "status": "terminated", "termination_date": "2026-12-05"}])
    assert outcomes(result) == ["updated"], result
    w = (await by_ext(tenant))["W202"]
    assert (w["status"], w["termination_date"], w["email"], w["given_name"]) == (
        "terminated",
        "2026-12-05",
        "W202@example.com",
        "W202",
    )
    # what an update cannot do: null a required field, end before the stored hire date
    bad = await bulk(
        tenant, [{"external_id": "W202", "email": None}, {"external_id": "W202x"}]
    )  # a new employee needs the create fields
    assert outcomes(bad) == ["error", "error"]
    assert ["body", "rows", 0, "email"] in [e["loc"] for e in bad["results"][0]["errors"]]
    missing = {e["loc"][-1] for e in bad["results"][1]["errors"]}
    assert missing == {"email", "given_name", "family_name"}
    early = await bulk(tenant, [{"external_id": "W202", "termination_date": "2020-01-01"}])
    assert ["body", "rows", 0, "termination_date"] in [e["loc"] for e in early["results"][0]["errors"]]
    assert (await by_ext(tenant))["W202"]["termination_date"] == "2026-12-05"


async def test_manager_external_id_within_the_call(tenant):
    await tenant.add_employee("boss")
    boss_ext = tenant.employees["boss"]["external_id"]
    # "report" names a manager that appears later in the same call; "lead" an existing one.
    result = await bulk(tenant, [row("report", manager_external_id="lead"), row("lead", manager_external_id=boss_ext)])
    assert outcomes(result) == ["created", "created"]
    stored = await by_ext(tenant)
    assert stored["report"]["manager_id"] == stored["lead"]["id"]
    assert stored["lead"]["manager_id"] == tenant.employees["boss"]["id"]


async def test_manager_id_of_existing_employee(tenant):
    boss = await tenant.add_employee("boss")
    result = await bulk(tenant, [row("a", manager_id=boss["id"])])
    assert outcomes(result) == ["created"]
    assert (await by_ext(tenant))["a"]["manager_id"] == boss["id"]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"manager_external_id": "ghost"}, "manager_external_id"),
        ({"manager_id": str(uuid.uuid4())}, "manager_id"),
        ({"department_id": str(uuid.uuid4())}, "department_id"),
        ({"position_id": str(uuid.uuid4())}, "position_id"),
        ({"manager_external_id": "x", "manager_id": str(uuid.uuid4())}, "manager_external_id"),
        ({"status": "retired"}, "status"),
        ({"salary": 5}, "salary"),
        ({"hire_date": "2024-02-01", "termination_date": "2024-01-01"}, None),
    ],
)
async def test_bad_row_is_an_error_and_others_apply(tenant, fields, loc):
    result = await bulk(tenant, [row("good"), row("bad", **fields)])
    assert outcomes(result) == ["created", "error"]
    errors = result["results"][1]["errors"]
    assert errors and all(e["loc"][:3] == ["body", "rows", 1] for e in errors)
    if loc:
        assert ["body", "rows", 1, loc] in [e["loc"] for e in errors]
    assert set(await by_ext(tenant)) == {"good"}


async def test_duplicate_external_ids_in_one_call(tenant):
    result = await bulk(tenant, [row("dup", given_name="First"), row("other"), row("dup", given_name="Second")])
    assert outcomes(result) == ["created", "created", "error"]
    assert result["results"][2]["errors"][0]["loc"] == ["body", "rows", 2, "external_id"]
    stored = await by_ext(tenant)
    assert stored["dup"]["given_name"] == "First" and len(stored) == 2


async def test_cycle_inside_the_batch_is_refused(tenant):
    result = await bulk(tenant, [row("a", manager_external_id="b"), row("b", manager_external_id="a"), row("c")])
    assert outcomes(result) == ["error", "error", "created"]
    assert "cycle" in str(result["results"][0]["errors"])
    assert set(await by_ext(tenant)) == {"c"}


async def test_self_manager_in_batch_is_refused(tenant):
    result = await bulk(tenant, [row("me", manager_external_id="me")])
    assert outcomes(result) == ["error"]
    assert await by_ext(tenant) == {}


async def test_cycle_through_existing_rows_is_refused(tenant):
    await bulk(tenant, [row("top"), row("mid", manager_external_id="top"), row("low", manager_external_id="mid")])
    result = await bulk(tenant, [row("top", manager_external_id="low")])
    assert outcomes(result) == ["error"]
    assert (await by_ext(tenant))["top"]["manager_id"] is None
    # Turning the chain around in one call is fine: low on top, top at the bottom.
    result = await bulk(
        tenant,
        [row("low", manager_id=None), row("mid", manager_external_id="low"), row("top", manager_external_id="mid")],
    )
    assert outcomes(result) == ["updated", "updated", "updated"]
    stored = await by_ext(tenant)
    assert stored["low"]["manager_id"] is None
    assert stored["mid"]["manager_id"] == stored["low"]["id"]
    assert stored["top"]["manager_id"] == stored["mid"]["id"]


async def test_row_whose_manager_row_fails_is_an_error_too(tenant):
    """A row naming, as its manager, a new row of the same call that is itself refused
    cannot be applied either; the rest of the call still is."""
    result = await bulk(
        tenant,
        [
            row("boss", department_id=str(uuid.uuid4())),
            row("report", manager_external_id="boss"),
            row("deeper", manager_external_id="report"),
            row("fine"),
        ],
    )
    assert outcomes(result) == ["error", "error", "error", "created"]
    assert result["results"][1]["errors"][0]["loc"] == ["body", "rows", 1, "manager_external_id"]
    assert set(await by_ext(tenant)) == {"fine"}


async def test_row_whose_manager_row_is_in_a_cycle_is_an_error(tenant):
    result = await bulk(
        tenant,
        [row("a", manager_external_id="b"), row("b", manager_external_id="a"), row("c", manager_external_id="a")],
    )
    assert outcomes(result) == ["error", "error", "error"]
    assert await by_ext(tenant) == {}


async def test_atomic_with_one_bad_row_applies_nothing(tenant):
    await bulk(tenant, [row("existing")])
    resp = await tenant.client.post(
        URL,
        params={"atomic": "true"},
        headers=tenant.hr,
        json={"rows": [row("existing", given_name="Changed"), row("new1"), row("bad", email="nope"), row("new2")]},
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert [e["loc"] for e in body["errors"]] == [["body", "rows", 2, "email"]]
    assert [r["outcome"] for r in body["results"]][2] == "error"
    stored = await by_ext(tenant)
    assert set(stored) == {"existing"} and stored["existing"]["given_name"] == "Existing"


async def test_atomic_with_good_rows_applies_all(tenant):
    result = await bulk(tenant, [row("a"), row("b", manager_external_id="a")], atomic=True)
    assert outcomes(result) == ["created", "created"]
    assert set(await by_ext(tenant)) == {"a", "b"}


async def test_atomic_cycle_applies_nothing(tenant):
    resp = await tenant.client.post(
        URL,
        params={"atomic": "true"},
        headers=tenant.hr,
        json={"rows": [row("ok"), row("a", manager_external_id="b"), row("b", manager_external_id="a")]},
    )
    assert resp.status_code == 422
    assert {e["loc"][2] for e in resp.json()["errors"]} == {1, 2}
    assert await by_ext(tenant) == {}


async def test_too_many_rows_is_422(tenant, monkeypatch):
    monkeypatch.setattr(get_settings(), "bulk_max_employee_rows", 3)
    resp = await tenant.client.post(URL, json={"rows": [row(f"r{i}") for i in range(4)]}, headers=tenant.hr)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "rows"]
    assert await by_ext(tenant) == {}
    ok = await bulk(tenant, [row(f"r{i}") for i in range(3)])
    assert ok["created"] == 3


async def test_default_limit_is_ten_thousand():
    assert get_settings().bulk_max_employee_rows == 10000


@pytest.mark.parametrize("payload", [{"rows": []}, {"rows": "x"}, {"rows": [1, 2]}, {}, {"rows": [{}], "x": 1}])
async def test_malformed_request_is_422(tenant, payload):
    resp = await tenant.client.post(URL, json=payload, headers=tenant.hr)
    assert resp.status_code == 422
    assert await by_ext(tenant) == {}


async def test_two_thousand_rows(tenant):
    rows = [row(f"big-{i:05d}", manager_external_id=f"big-{i // 10:05d}" if i else None) for i in range(2000)]
    for r in rows:
        if r["manager_external_id"] is None:
            del r["manager_external_id"]
    rows.reverse()  # every report comes before its manager
    result = await bulk(tenant, rows)
    assert result["created"] == 2000 and result["errors"] == 0
    stored = await by_ext(tenant)
    assert len(stored) == 2000
    assert stored["big-00123"]["manager_id"] == stored["big-00012"]["id"]
    again = await bulk(tenant, rows)
    assert again["unchanged"] == 2000
    rows[0]["family_name"] = "Moved"
    last = await bulk(tenant, rows)
    assert (last["updated"], last["unchanged"]) == (1, 1999)


async def test_bulk_is_audited_with_the_client_as_actor(tenant):
    client = tenant.as_scope("employees:write")
    result = await bulk(tenant, [row("a", compensation={"base_salary_minor": 4200000})], headers=client)
    emp_id = result["results"][0]["id"]
    events = (
        await tenant.client.get("/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": emp_id})
    ).json()["items"]
    assert [e["action"] for e in events] == ["employee.upserted"]
    assert events[0]["actor_kind"] == "client" and events[0]["actor"].startswith("client:")
    assert events[0]["after"]["compensation"] == "redacted"
    assert "4200000" not in str(events)


async def test_compensation_needs_a_pay_writer(tenant):
    """Only writers reach bulk at all; compensation rides along for them."""
    result = await bulk(tenant, [row("a", compensation={"base_salary_minor": 1, "currency": "EUR"})])
    assert outcomes(result) == ["created"]
    assert (await by_ext(tenant))["a"]["compensation"]["currency"] == "EUR"
    refused = await tenant.client.post(URL, json={"rows": [row("b")]}, headers=tenant.auditor)
    assert refused.status_code == 403
    assert set(await by_ext(tenant)) == {"a"}
