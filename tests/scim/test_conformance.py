"""The SCIM endpoint against two independent conformance suites, over a real socket:
scim2-tester (discovery, CRUD and PATCH add/replace/remove of every attribute the schemas
announce) and scim-sanity's probe (lifecycles, search, paging incl. count=0, errors)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.conftest import Tenant


def _run_scim2_tester(base_url: str, token: str) -> list:
    with httpx2.Client(base_url=base_url + "/", timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        return check_server(SyncSCIMClient(http))


async def test_scim2_tester_reports_no_error(live_server: str, tenant: Tenant) -> None:
    token = tenant.token(scopes=["scim"], sub="pc_scim2_tester")
    results = await asyncio.to_thread(_run_scim2_tester, live_server, token)
    statuses = Counter(r.status.name for r in results)
    print(f"scim2-tester: {len(results)} checks, {dict(statuses)}")
    failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    assert not failed, "\n".join(f"{r.resource_type} {r.title}: {r.reason}" for r in failed)
    assert statuses["SUCCESS"] >= 60  # the suite really ran: discovery, both types, CRUD, PATCH


async def test_scim_sanity_probe_reports_no_failure(live_server: str, tenant: Tenant) -> None:
    token = tenant.token(scopes=["scim"], sub="pc_scim_sanity")
    executable = shutil.which("scim-sanity", path=str(Path(sys.executable).parent))
    command = [executable] if executable else [sys.executable, "-m", "scim_sanity"]
    process = await asyncio.create_subprocess_exec(
        *command,
        "probe",
        live_server,
        "--token",
        token,
        "--i-accept-side-effects",
        "--json-output",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    report = json.loads(out)
    print("scim-sanity:", report["summary"])
    failed = [r for r in report["results"] if r["status"].upper() in ("FAIL", "ERROR")]
    assert not failed, json.dumps(failed, indent=1) + err.decode()
    assert process.returncode == 0
    assert report["summary"]["passed"] >= 20
