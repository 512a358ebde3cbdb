"""Baseline apps for bench/http_load.py: the same employee row read by primary key, with less
and less machinery, served by the same uvicorn (one worker, uvloop, httptools); and the
floor of the list of employees.

- `starlette_raw`: Starlette + a raw asyncpg pool, the row as JSON (the floor);
- `starlette_list`: Starlette + the same pool, `GET /api/v1/employees?limit=N` as the
  service reads its first page: the keyset query of the organization's employees in id
  order (N + 1 rows, to know whether more follow), the columns the answer shows (pay
  included, as an hr caller sees it), serialized with the standard library's `json` into
  the service's page shape (`items`, `next_cursor`): the floor of the list;
- `fastapi_raw`: bare FastAPI + the same pool;
- `fastapi_typical`: FastAPI + asyncpg + a JWT header dependency (PyJWT, HS256) + a
  Pydantic response model;
- `fastapi_orm`: FastAPI + SQLAlchemy ORM `session.get` + the JWT dependency + the
  response model: the typical stack.

Each reads `BENCH_DATABASE_URL` (a plain postgresql:// URL), `BENCH_ORG_ID` and
`JWT_SECRET` from the environment:

    BENCH_DATABASE_URL=... BENCH_ORG_ID=... uvicorn bench.baselines:starlette_raw --factory
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import uuid
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import jwt
from fastapi import Depends, FastAPI, Header, HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.org.schemas import EmployeeRead

SQL = (
    "SELECT id, external_id, email, given_name, family_name, department_id, position_id, manager_id, "
    "status, hire_date, termination_date, version, created_at, updated_at "
    "FROM employees WHERE org_id = $1 AND id = $2"
)
LIST_SQL = (
    "SELECT id, external_id, email, given_name, family_name, department_id, position_id, manager_id, "
    "status, hire_date, termination_date, created_at, updated_at, "
    "base_salary_minor, comp_currency, target_bonus_pct, target_bonus_minor "
    "FROM employees WHERE org_id = $1 ORDER BY id LIMIT $2"
)
PAY = ("base_salary_minor", "comp_currency", "target_bonus_pct", "target_bonus_minor")


def _url() -> str:
    return os.environ["BENCH_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")


def _org() -> uuid.UUID:
    return uuid.UUID(os.environ["BENCH_ORG_ID"])


def _jsonable(row: asyncpg.Record) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, (uuid.UUID, dt.date, Decimal)) else v) for k, v in row.items()}


class _Pool:
    pool: asyncpg.Pool | None = None


@asynccontextmanager
async def _lifespan(_app: Any):
    _Pool.pool = await asyncpg.create_pool(_url(), min_size=32, max_size=32)
    yield
    await _Pool.pool.close()


async def _row(employee_id: uuid.UUID) -> asyncpg.Record | None:
    assert _Pool.pool is not None
    return await _Pool.pool.fetchrow(SQL, _org(), employee_id)


def starlette_raw() -> Starlette:
    async def employee(request: Request) -> JSONResponse:
        row = await _row(uuid.UUID(request.path_params["employee_id"]))
        if row is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse(_jsonable(row))

    return Starlette(routes=[Route("/api/v1/employees/{employee_id}", employee)], lifespan=_lifespan)


def _list_item(row: asyncpg.Record) -> dict[str, Any]:
    item = _jsonable(row)
    pay = {k: item.pop(k) for k in PAY}
    item["compensation"] = {
        "base_salary_minor": pay["base_salary_minor"],
        "currency": pay["comp_currency"],
        "target_bonus_pct": pay["target_bonus_pct"],
        "target_bonus_minor": pay["target_bonus_minor"],
    }
    return item


def starlette_list() -> Starlette:
    async def employees(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "50"))
        assert _Pool.pool is not None
        rows = await _Pool.pool.fetch(LIST_SQL, _org(), limit + 1)
        cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            raw = json.dumps({"id": str(rows[-1]["id"])}).encode()
            cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        body = {"items": [_list_item(r) for r in rows], "next_cursor": cursor}
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    return Starlette(routes=[Route("/api/v1/employees", employees)], lifespan=_lifespan)


def fastapi_raw() -> FastAPI:
    app = FastAPI(lifespan=_lifespan)

    @app.get("/api/v1/employees/{employee_id}")
    async def employee(employee_id: uuid.UUID) -> Any:
        row = await _row(employee_id)
        if row is None:
            raise HTTPException(404)
        return JSONResponse(_jsonable(row))

    return app


# The service's own response model of the row (its compensation left unset here).
EmployeeOut = EmployeeRead


def _claims(authorization: str = Header()) -> dict[str, Any]:
    try:
        return jwt.decode(
            authorization.removeprefix("Bearer "),
            os.environ["JWT_SECRET"],
            algorithms=["HS256"],
            audience=os.environ.get("JWT_AUDIENCE", "perf-api"),
            issuer=os.environ.get("JWT_ISSUER", "perf-service"),
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(401) from exc


def fastapi_typical() -> FastAPI:
    app = FastAPI(lifespan=_lifespan)

    @app.get("/api/v1/employees/{employee_id}", response_model=EmployeeOut)
    async def employee(employee_id: uuid.UUID, _claims: dict[str, Any] = Depends(_claims)) -> Any:
        row = await _row(employee_id)
        if row is None:
            raise HTTPException(404)
        return dict(row)

    return app


def fastapi_orm() -> FastAPI:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from service.org.models import Employee

    engine = create_async_engine(_url().replace("postgresql://", "postgresql+asyncpg://"), pool_size=32, max_overflow=0)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: Any):
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/v1/employees/{employee_id}", response_model=EmployeeOut)
    async def employee(employee_id: uuid.UUID, _claims: dict[str, Any] = Depends(_claims)) -> Any:
        async with sessions() as session:
            row = await session.get(Employee, (_org(), employee_id))
            if row is None:
                raise HTTPException(404)
            return EmployeeOut.model_validate(row, from_attributes=True)

    return app
