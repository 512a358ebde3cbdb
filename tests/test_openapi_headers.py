"""The headers the OpenAPI document declares (service/web/openapi_contract.py) are the
headers the API sends: `ETag` on the reads of every resource changed under `If-Match`,
`Link: rel="next"` on list pages (service/web/links.py), `Idempotency-Key` on POSTs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.graphql_authz_world import WORLDS, fill

# A path parameter -> the shared world's object it names (tests/graphql_authz_world.py)
IDS = {
    "employee_id": "alice",
    "department_id": "dep",
    "position_id": "pos",
    "cycle_id": "okr_cycle",
    "definition_id": "kpi_def",
    "template_id": "kpi_tpl",
    "assignment_id": "kpi_asg",
    "objective_id": "obj_pub",
    "key_result_id": "kr_pub",
    "policy_id": "policy",
    "job_id": "job",
    "evaluation_id": "ev",
    "request_id": "req",
    "calibration_id": "cal",
    "interview_id": "iv",
    "meeting_id": "meeting",
    "plan_id": "plan_d",
    "result_id": "res_final",
    "nomination_id": "nomination",
    "development_plan_id": "dplan",
}


def single_reads(document: dict[str, Any]) -> list[tuple[str, bool]]:
    """(path, declares ETag) of every GET of one resource the world has an id for."""
    out = []
    for path, item in document["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if "get" not in item or not path.startswith("/api/") or len(params) != 1 or params[0] not in IDS:
            continue
        response = item["get"]["responses"]["200"]
        if response["content"]["application/json"]["schema"].get("$ref", "").endswith("Page"):
            continue
        out.append((path, "ETag" in response.get("headers", {})))
    return out


async def test_declared_etags_are_the_etags_sent(app: Any, client: Any):
    document = app.openapi()
    w = await WORLDS.shared(client)
    reads = single_reads(document)
    assert len(reads) >= 15 and any(declared for _, declared in reads)
    ids = {param: "{" + key + "}" for param, key in IDS.items()}
    wrong = []
    for path, declared in reads:
        url = fill(path.format(**ids), w.ids)
        resp = await client.get(url, headers=w.tenant.admin)
        assert resp.status_code == 200, (url, resp.text)
        if ("etag" in resp.headers) != declared:
            wrong.append((path, declared))
    assert wrong == [], wrong


async def test_list_pages_link_to_the_next_page_until_the_last(tenant: Tenant):
    for key in ("ann", "bob", "cid"):
        await tenant.add_employee(key)
    c = tenant.client
    first = await c.get("/api/v1/employees", params={"limit": 2, "sort": "given_name"}, headers=tenant.hr)
    assert first.status_code == 200
    body = first.json()
    link = first.headers["link"]
    assert re.fullmatch(r'</api/v1/employees\?limit=2&sort=given_name&cursor=[\w-]+>; rel="next"', link), link
    assert link.endswith(f'cursor={body["next_cursor"]}>; rel="next"')
    nxt = await c.get(link[1 : link.index(">")], headers=tenant.hr)
    assert [e["given_name"] for e in nxt.json()["items"]] == ["Cid"]
    assert "link" not in nxt.headers and nxt.json()["next_cursor"] is None
    # a single resource, a CSV export and an error carry none
    one = await c.get(f"/api/v1/employees/{tenant.employees['ann']['id']}", headers=tenant.hr)
    assert "link" not in one.headers
    csv = await c.get("/api/v1/employees", params={"limit": 1}, headers={**tenant.hr, "Accept": "text/csv"})
    assert csv.status_code == 200 and "link" not in csv.headers
    assert "link" not in (await c.get("/api/v1/employees?limit=0", headers=tenant.hr)).headers


@pytest.mark.parametrize("header", ["Link", "X-Request-ID"])
def test_list_pages_declare_their_headers(app: Any, header: str):
    response = app.openapi()["paths"]["/api/v1/employees"]["get"]["responses"]["200"]
    assert header in response["headers"]


def test_every_post_behind_a_token_declares_idempotency(app: Any):
    document = app.openapi()
    posts = [(p, item["post"]) for p, item in document["paths"].items() if "post" in item]
    for path, op in posts:
        names = {p["name"] for p in op.get("parameters", [])}
        success = next(r for c, r in op["responses"].items() if c.startswith("2"))
        expected = path != "/oauth/token"
        assert ("Idempotency-Key" in names) == expected, path
        assert ("Idempotent-Replayed" in success["headers"]) == expected, path


def test_the_payroll_feed_declares_its_resume_cursor(app: Any):
    ok = app.openapi()["paths"]["/api/v1/payroll/incentive-results"]["get"]["responses"]["200"]
    assert "X-Resume-Cursor" in ok["headers"] and "text/csv" in ok["content"]
