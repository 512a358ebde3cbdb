"""The demo organization of `make run`: a retail company moving online.

Loading is idempotent: the demo organization has a fixed id, and when it exists the
command only prints fresh tokens.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from service.auth.tokens import issue_token
from service.db import database
from service.org.models import DEFAULT_ORG_SETTINGS, Department, Employee, Organization, Position

DEMO_ORG_ID = uuid.UUID("0190a000-0000-7000-8000-00000000d3e0")


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_ORG_ID, name)


DEPARTMENTS = [
    ("exec", "Executive", None),
    ("ecom", "E-commerce", "exec"),
    ("ops", "Store Operations", "exec"),
    ("fin", "Finance", "exec"),
    ("people", "People & HR", "exec"),
    ("ecom-growth", "E-commerce Growth", "ecom"),
    ("ecom-fulfil", "E-commerce Fulfilment", "ecom"),
]
POSITIONS = [
    ("ceo", "Chief Executive Officer", "executive", "leadership"),
    ("head", "Head of Department", "senior_manager", "leadership"),
    ("lead", "Team Lead", "lead", "operations"),
    ("ecom-spec", "E-commerce Operations Specialist", "staff", "e-commerce"),
    ("store-mgr", "Store Manager", "manager", "retail"),
    ("analyst", "Financial Analyst", "staff", "finance"),
    ("hrbp", "HR Business Partner", "staff", "people"),
]
# key, given, family, department, position, manager, salary (USD cents), bonus %
EMPLOYEES = [
    ("E001", "Grace", "Hopper", "exec", "ceo", None, 30_000_000, 40),
    ("E002", "Ada", "Lovelace", "ecom", "head", "E001", 18_000_000, 25),
    ("E003", "Linus", "Pauling", "ops", "head", "E001", 16_000_000, 20),
    ("E004", "Katherine", "Johnson", "fin", "head", "E001", 17_000_000, 20),
    ("E005", "Frances", "Allen", "people", "head", "E001", 15_000_000, 20),
    ("E006", "Alan", "Kay", "ecom-growth", "lead", "E002", 11_000_000, 15),
    ("E007", "Barbara", "Liskov", "ecom-fulfil", "lead", "E002", 10_500_000, 15),
    ("E008", "Mei", "Chen", "ecom-growth", "ecom-spec", "E006", 7_200_000, 10),
    ("E009", "Tomas", "Novak", "ecom-growth", "ecom-spec", "E006", 6_900_000, 10),
    ("E010", "Aisha", "Bello", "ecom-fulfil", "ecom-spec", "E007", 6_800_000, 10),
    ("E011", "Diego", "Ramos", "ecom-fulfil", "ecom-spec", "E007", 6_600_000, 10),
    ("E012", "Hannah", "Schmidt", "ops", "store-mgr", "E003", 8_000_000, 12),
    ("E013", "Kenji", "Tanaka", "ops", "store-mgr", "E003", 7_900_000, 12),
    ("E014", "Olga", "Petrova", "fin", "analyst", "E004", 7_500_000, 10),
    ("E015", "Samuel", "Okafor", "people", "hrbp", "E005", 7_000_000, 10),
]


async def _store_scores(session: Any) -> None:
    """Store every demo cycle's scores, so the API answers score lists from stored rows
    from the start (docs/scoring.md, "Stored scores")."""
    from service.auth.context import Ctx
    from service.cycles.models import Cycle
    from service.principal import Principal
    from service.scoring.scores import recompute_cycle

    ctx = Ctx(
        session=session, principal=Principal(sub="demo", org_id=DEMO_ORG_ID, kind="person", roles=frozenset({"hr"}))
    )
    cycles = (
        await session.execute(select(Cycle).where(Cycle.org_id == DEMO_ORG_ID).order_by(Cycle.start_date))
    ).scalars()
    for cycle in list(cycles):
        await recompute_cycle(ctx, cycle)
    await session.commit()


async def load_demo() -> dict[str, Any]:
    async with database.sessions() as session:
        if await session.get(Organization, DEMO_ORG_ID) is None:
            session.add(
                Organization(
                    id=DEMO_ORG_ID,
                    name="Northwind Retail (demo)",
                    currency="USD",
                    timezone="America/New_York",
                    fiscal_year_start="01-01",
                    settings=dict(DEFAULT_ORG_SETTINGS),
                )
            )
            await session.flush()
            for key, name, parent in DEPARTMENTS:
                session.add(
                    Department(
                        org_id=DEMO_ORG_ID,
                        id=_id("dep:" + key),
                        name=name,
                        parent_id=_id("dep:" + parent) if parent else None,
                    )
                )
                await session.flush()
            for key, name, level, family in POSITIONS:
                session.add(
                    Position(org_id=DEMO_ORG_ID, id=_id("pos:" + key), name=name, level=level, job_family=family)
                )
            await session.flush()
            for ext, given, family, dep, pos, mgr, salary, pct in EMPLOYEES:
                session.add(
                    Employee(
                        org_id=DEMO_ORG_ID,
                        id=_id("emp:" + ext),
                        external_id=ext,
                        email=f"{given.lower()}.{family.lower()}@northwind.example",
                        given_name=given,
                        family_name=family,
                        department_id=_id("dep:" + dep),
                        position_id=_id("pos:" + pos),
                        manager_id=_id("emp:" + mgr) if mgr else None,
                        status="active",
                        hire_date=dt.date(2021, 3, 1),
                        base_salary_minor=salary,
                        comp_currency="USD",
                        target_bonus_pct=Decimal(pct),
                    )
                )
                await session.flush()
            heads = {
                "exec": "E001",
                "ecom": "E002",
                "ops": "E003",
                "fin": "E004",
                "people": "E005",
                "ecom-growth": "E006",
                "ecom-fulfil": "E007",
            }
            for dep_key, ext in heads.items():
                dep_row = await session.get(Department, (DEMO_ORG_ID, _id("dep:" + dep_key)))
                assert dep_row is not None  # added above
                dep_row.head_id = _id("emp:" + ext)
            from service.demo_extensions import load_extensions
            from service.models import load_hooks

            load_hooks()  # the `demo` command runs without the app, which registers the hooks
            await load_extensions(session, DEMO_ORG_ID, _id)
            await session.commit()
            await _store_scores(session)
    await database.dispose()
    day = 24 * 3600
    return {
        "org_id": str(DEMO_ORG_ID),
        "tokens": {
            "admin": issue_token(org_id=DEMO_ORG_ID, sub="admin@northwind.example", roles=["admin"], ttl=day),
            "hr": issue_token(
                org_id=DEMO_ORG_ID,
                sub="frances.allen@northwind.example",
                roles=["hr", "employee"],
                employee_id=_id("emp:E005"),
                ttl=day,
            ),
            "manager": issue_token(
                org_id=DEMO_ORG_ID,
                sub="ada.lovelace@northwind.example",
                roles=["employee"],
                employee_id=_id("emp:E002"),
                ttl=day,
            ),
            "employee": issue_token(
                org_id=DEMO_ORG_ID,
                sub="mei.chen@northwind.example",
                roles=["employee"],
                employee_id=_id("emp:E008"),
                ttl=day,
            ),
            "auditor": issue_token(org_id=DEMO_ORG_ID, sub="auditor@northwind.example", roles=["auditor"], ttl=day),
        },
        "try": "curl -H 'Authorization: Bearer <hr token>' http://127.0.0.1:8000/api/v1/employees",
    }
