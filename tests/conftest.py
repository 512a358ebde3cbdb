"""Test fixtures. The database is created fresh for each run and migrated with Alembic
(never create_all). Isolation comes from tenancy: every test makes its own
organization, so tests never see each other's rows and still exercise real commits."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests import citus

# TEST_CITUS_URL (tests/citus.py) runs the PostgreSQL suite on a Citus coordinator.
BACKEND = "postgresql" if citus.enabled() else os.environ.get("TEST_DB", "sqlite")
_tmp = tempfile.mkdtemp(prefix="perf-test-")
os.environ["DATA_DIR"] = _tmp
os.environ["JWT_SECRET"] = "test-secret-" + "x" * 40
os.environ["LOG_LEVEL"] = os.environ.get("TEST_LOG_LEVEL", "WARNING")
# No automatic refresh rounds: a server or worker a test starts would otherwise store the
# cycles of every other test's organization in the background (their tests call
# service.scoring.jobs.refresh themselves, with a limit of their own).
os.environ["SCORE_REFRESH_PER_ROUND"] = "0"
# Nor retention rounds: a worker a test starts would erase other tests' terminated people
# once their organization's retention is over (tests/privacy call it for their own).
os.environ["RETENTION_INTERVAL_SECONDS"] = "0"
_PG_DB: str | None = None

if BACKEND == "postgresql":
    import asyncpg

    _admin = citus.CITUS_URL or os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    _admin = _admin.replace("postgresql+asyncpg://", "postgresql://")
    _PG_DB = f"perf_test_{uuid.uuid4().hex[:12]}"

    async def _create() -> None:
        if citus.enabled():  # on the coordinator and every worker, with the extension
            await citus.create_database(_PG_DB)
            return
        conn = await asyncpg.connect(_admin)
        await conn.execute(f'CREATE DATABASE "{_PG_DB}"')
        await conn.close()

    asyncio.run(_create())
    base = _admin.rsplit("/", 1)[0]
    os.environ["DATABASE_URL"] = base.replace("postgresql://", "postgresql+asyncpg://") + "/" + _PG_DB
else:
    os.environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{_tmp}/test.db"

from service.migrate import upgrade  # noqa: E402

upgrade(os.environ["DATABASE_URL"])

import httpx  # noqa: E402
from sqlalchemy import event  # noqa: E402

from service.auth.tokens import issue_token  # noqa: E402
from service.db import database  # noqa: E402
from service.org.models import DEFAULT_ORG_SETTINGS, Organization  # noqa: E402
from service.types import new_id  # noqa: E402
from service.web.app import create_app  # noqa: E402
from tests.webhooks.contract import outbox_problems  # noqa: E402


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _PG_DB is None:
        return

    async def _drop() -> None:
        if citus.enabled():
            await citus.drop_database(_PG_DB)
            return
        conn = await asyncpg.connect(_admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{_PG_DB}" WITH (FORCE)')
        await conn.close()

    asyncio.run(_drop())


def pytest_report_header(config: Any) -> str:
    kind = f"{BACKEND} on Citus" if citus.enabled() else BACKEND
    return f"database backend: {kind} ({os.environ['DATABASE_URL'].split('@')[-1]})"


@pytest.fixture(scope="session")
def app() -> Any:
    return create_app()


@pytest.fixture(scope="session", autouse=True)
async def _dispose_pool() -> AsyncIterator[None]:
    """Close the pooled connections at the end, on the loop that opened them."""
    yield
    await database.dispose()


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@contextmanager
def statement_hook(fn: Callable[[str], None]) -> Iterator[None]:
    """Calls `fn(statement)` before every statement the app's engine sends (it may raise,
    as a failing database would)."""

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        fn(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Tenant:
    """A fresh organization with token helpers for every kind of caller."""

    org_id: uuid.UUID
    client: httpx.AsyncClient
    employees: dict[str, dict[str, Any]] = field(default_factory=dict)

    def token(
        self,
        roles: list[str] | None = None,
        emp: uuid.UUID | str | None = None,
        sub: str | None = None,
        scopes: list[str] | None = None,
        **kw: Any,
    ) -> str:
        return issue_token(
            org_id=self.org_id,
            sub=sub or f"user-{uuid.uuid4().hex[:8]}",
            roles=roles if scopes is None else None,
            scopes=scopes,
            employee_id=emp,
            **kw,
        )

    def as_(self, *roles: str, emp: uuid.UUID | str | None = None) -> dict[str, str]:
        return bearer(self.token(list(roles), emp=emp))

    def as_scope(self, *scopes: str) -> dict[str, str]:
        return bearer(self.token(scopes=list(scopes), sub=f"pc_{uuid.uuid4().hex[:8]}"))

    @property
    def admin(self) -> dict[str, str]:
        return self.as_("admin")

    @property
    def hr(self) -> dict[str, str]:
        return self.as_("hr")

    @property
    def auditor(self) -> dict[str, str]:
        return self.as_("auditor")

    def employee(self, key: str) -> dict[str, str]:
        return self.as_("employee", emp=self.employees[key]["id"])

    async def add_employee(self, key: str, manager: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {
            "external_id": f"{key}-{uuid.uuid4().hex[:6]}",
            "email": f"{key}@example.com",
            "given_name": key.title(),
            "family_name": "Test",
            **fields,
        }
        if manager:
            body["manager_id"] = self.employees[manager]["id"]
        resp = await self.client.post("/api/v1/employees", json=body, headers=self.hr)
        assert resp.status_code == 201, resp.text
        self.employees[key] = resp.json()
        return resp.json()


async def make_org(name: str = "Test Org", currency: str = "USD") -> uuid.UUID:
    org_id = new_id()
    async with database.sessions() as session:
        session.add(
            Organization(
                id=org_id,
                name=name,
                currency=currency,
                timezone="UTC",
                fiscal_year_start="01-01",
                settings=dict(DEFAULT_ORG_SETTINGS),
            )
        )
        await session.commit()
    return org_id


async def new_tenant(client: httpx.AsyncClient, name: str = "Test Org") -> Tenant:
    return Tenant(org_id=await make_org(name), client=client)


async def make_team(tenant: Tenant) -> Tenant:
    """boss → lead → (alice, bob); carol reports to boss directly; dave has no manager."""
    await tenant.add_employee(
        "boss", compensation={"base_salary_minor": 20000000, "currency": "USD", "target_bonus_pct": "20"}
    )
    await tenant.add_employee("lead", manager="boss")
    await tenant.add_employee("alice", manager="lead", compensation={"base_salary_minor": 9000000, "currency": "USD"})
    await tenant.add_employee("bob", manager="lead")
    await tenant.add_employee("carol", manager="boss")
    await tenant.add_employee("dave")
    return tenant


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> AsyncIterator[Tenant]:
    """A fresh organization; afterwards, every event the test made it emit must match the
    payload schema documented in openapi/openapi.json `webhooks`."""
    t = await new_tenant(client)
    yield t
    assert await outbox_problems(t.org_id) == []


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient) -> AsyncIterator[Tenant]:
    t = await new_tenant(client, "Other Org")
    yield t
    assert await outbox_problems(t.org_id) == []


@pytest.fixture
async def team(tenant: Tenant) -> Tenant:
    return await make_team(tenant)
