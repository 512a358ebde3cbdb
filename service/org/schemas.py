"""REST models of the organization module."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from service.kit.money import is_currency
from service.kit.schemas import EMAIL_RE, DecimalStr, Input, Output, checked_by_service
from service.org.levels import LEVEL_MAX_LENGTH, SUGGESTED_LEVELS, normalize_level

EmployeeStatus = Literal["active", "on_leave", "terminated"]
Name = Annotated[str, Field(min_length=1, max_length=200)]
FISCAL_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


def _level_target(v: str) -> str:
    normalized = normalize_level(v)
    if not normalized:
        raise ValueError("a level is needed (blank after trimming)")
    return normalized


# A level that scoring policies and KPI templates target: free text like a position's
# level, stored normalized (service/org/levels.py), so a position matches it whatever
# spelling of the same level it uses.
LevelTarget = Annotated[str, Field(min_length=1, max_length=LEVEL_MAX_LENGTH), AfterValidator(_level_target)]
LEVEL_VOCABULARY = ", ".join(f"`{v}`" for v in SUGGESTED_LEVELS)


def _currency(v: str | None) -> str | None:
    if v is not None and not is_currency(v):
        raise ValueError("not an ISO 4217 currency code")
    return v


class OrgSettings(Input):
    """The organization's rules for OKRs, 360 feedback and webhooks."""

    okr_max_objectives: int = Field(5, ge=1, le=50, description="At most this many objectives per owner and cycle")
    okr_min_krs: int = Field(
        2, ge=0, le=50, description="At least this many key results per objective before it is submitted"
    )
    okr_max_krs: int = Field(5, ge=1, le=50, description="At most this many key results per objective")
    peer_feedback_min_reviewers: int = Field(
        3,
        ge=1,
        le=50,
        description="360 feedback is shown to the evaluated employee only once this many reviewers answered",
    )
    webhooks_allow_private: bool = Field(
        False, description="Whether webhook URLs may point to private or loopback addresses"
    )
    check_in_cadence_days: int = Field(
        7, ge=1, le=92, description="Days between the check-ins a key result's owner owes (SPEC: weekly)"
    )
    retention_days_after_termination: int = Field(
        2555,
        ge=0,
        le=36500,
        description="Days after an employee's termination date before their personal data may be erased "
        "(pseudonymized); the retention job erases everyone past it (docs/data-protection.md)",
    )

    @model_validator(mode="after")
    def _krs(self) -> OrgSettings:
        if self.okr_min_krs > self.okr_max_krs:
            raise ValueError("okr_min_krs must not exceed okr_max_krs")
        return self


class OrgSettingsPatch(Input):
    """The settings to change; those left out keep their value."""

    described_like = (OrgSettings,)

    okr_max_objectives: int | None = Field(None, ge=1, le=50)
    okr_min_krs: int | None = Field(None, ge=0, le=50)
    okr_max_krs: int | None = Field(None, ge=1, le=50)
    peer_feedback_min_reviewers: int | None = Field(None, ge=1, le=50)
    webhooks_allow_private: bool | None = None
    check_in_cadence_days: int | None = Field(None, ge=1, le=92)
    retention_days_after_termination: int | None = Field(None, ge=0, le=36500)


class OrganizationRead(Output):
    """The caller's organization (the tenant): its name, currency, time zone, fiscal year and settings."""

    id: uuid.UUID
    name: str
    currency: str
    timezone: str = Field(description="The IANA time zone dates are reckoned in (`Europe/Berlin`)")
    fiscal_year_start: str = Field(description="The first day of the fiscal year, `MM-DD`")
    settings: OrgSettings = Field(description="The organization's rules")
    created_at: dt.datetime
    updated_at: dt.datetime


class OrganizationUpdate(Input):
    described_like = (OrganizationRead,)

    name: Name | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    timezone: str | None = Field(None, max_length=64)
    fiscal_year_start: str | None = Field(None, description="MM-DD")
    settings: OrgSettingsPatch | None = Field(None, description="The rules to change; the others keep their value")

    _cur = field_validator("currency")(_currency)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                zoneinfo.ZoneInfo(v)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError("unknown IANA time zone") from exc
        return v

    @field_validator("fiscal_year_start")
    @classmethod
    def _fy(cls, v: str | None) -> str | None:
        if v is not None and not FISCAL_RE.match(v):
            raise ValueError("must be MM-DD")
        return v


class DepartmentCreate(Input):
    name: Name
    parent_id: uuid.UUID | None = None
    head_id: uuid.UUID | None = None


class DepartmentUpdate(Input):
    name: Name | None = None
    parent_id: uuid.UUID | None = None
    head_id: uuid.UUID | None = None


class DepartmentRead(Output):
    """A unit of the organization; departments form a tree (`parent_id`)."""

    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    head_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PositionRead(Output):
    """A job an employee holds; KPI templates attach to positions."""

    id: uuid.UUID
    name: str
    level: str | None = Field(
        description=f"The job's level, free text (suggested: {LEVEL_VOCABULARY}; or a ladder of its own, `L3`); "
        "scoring policies and KPI templates that target a level match it normalized (null: none)"
    )
    job_family: str | None = Field(description="The family of related jobs it belongs to (`Engineering`)")
    created_at: dt.datetime
    updated_at: dt.datetime


class PositionCreate(Input):
    described_like = (PositionRead,)

    name: Name
    level: str | None = Field(None, max_length=LEVEL_MAX_LENGTH)
    job_family: str | None = Field(None, max_length=100)


class PositionUpdate(Input):
    described_like = (PositionRead,)

    name: Name | None = None
    level: str | None = Field(None, max_length=LEVEL_MAX_LENGTH)
    job_family: str | None = Field(None, max_length=100)


class Compensation(Input):
    """Pay. `target_bonus_pct` is a percentage of base salary (10 means 10 %);
    `target_bonus_minor` a fixed amount; an amount wins when both are set."""

    base_salary_minor: int | None = Field(None, ge=0, le=10**15)
    currency: str | None = Field(None, min_length=3, max_length=3)
    target_bonus_pct: Decimal | None = Field(
        None,
        ge=0,
        le=1000,
        max_digits=12,
        decimal_places=6,
        description="The target bonus as a percentage of base salary, 0 to 1000 (10 means 10 %)",
    )
    target_bonus_minor: int | None = Field(None, ge=0, le=10**15)

    _cur = field_validator("currency")(_currency)


class CompensationRead(Output):
    """Pay, shown only to those who may see it (hr, admin, payroll clients and the employee)."""

    base_salary_minor: int | None = Field(description="The yearly base salary in minor units (cents)")
    currency: str | None
    target_bonus_pct: DecimalStr | None = Field(
        description="The target bonus as a percentage of base salary (10 means 10 %)"
    )
    target_bonus_minor: int | None = Field(
        description="The target bonus as a fixed amount in minor units; wins over the percentage when both are set"
    )


class EmployeeRead(Output):
    """A person of the organization, as the HRIS knows them."""

    id: uuid.UUID
    external_id: str
    email: str = Field(description="The work email address")
    given_name: str = Field(description="The given (first) name")
    family_name: str = Field(description="The family (last) name")
    department_id: uuid.UUID | None
    position_id: uuid.UUID | None
    manager_id: uuid.UUID | None
    status: EmployeeStatus = Field(description="Whether they are active, on leave or terminated")
    hire_date: dt.date | None = Field(description="The first day of employment")
    termination_date: dt.date | None = Field(description="The last day of employment (null while employed)")
    created_at: dt.datetime
    updated_at: dt.datetime
    compensation: CompensationRead | None = Field(
        None, description="present only for hr, admin, payroll clients and the employee"
    )


def _email(v: str | None) -> str | None:
    if v is not None and not EMAIL_RE.match(v):
        raise ValueError("not an email address")
    return v


class EmployeeFields(Input):
    described_like = (EmployeeRead,)

    email: str | None = Field(None, max_length=320)
    given_name: Name | None = None
    family_name: Name | None = None
    department_id: uuid.UUID | None = None
    position_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    status: EmployeeStatus | None = None
    hire_date: dt.date | None = None
    termination_date: dt.date | None = None
    compensation: Compensation | None = Field(
        None,
        description="Pay: only hr, admin and clients with `employees:write` may set it; fields left out keep "
        "their value",
    )

    _em = field_validator("email")(_email)

    @model_validator(mode="after")
    def _dates(self) -> Any:
        if self.hire_date and self.termination_date and self.termination_date < self.hire_date:
            raise ValueError("termination_date is before hire_date")
        return self


class EmployeeCreate(EmployeeFields):
    external_id: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    given_name: Name
    family_name: Name
    status: EmployeeStatus = "active"


class EmployeeUpdate(EmployeeFields):
    external_id: str | None = Field(None, min_length=1, max_length=200)


class BulkEmployeeRow(EmployeeFields):
    """A row of `POST /employees/bulk`: `external_id` and the fields it sets. A row that
    creates an employee needs the fields a create needs (`external_id`, `email`,
    `given_name`, `family_name`); a row that updates one names only what changes, and what
    it leaves out keeps its stored value. `manager_external_id` may name another row of
    the same call."""

    external_id: str = Field(min_length=1, max_length=200)
    manager_external_id: str | None = Field(None, min_length=1, max_length=200)


class BulkEmployeeRequest(Input):
    """Employees to upsert by `external_id`. Each row is validated on its own (as a
    `BulkEmployeeRow`), so a bad row is answered with its errors and, unless `atomic`, the
    others are still applied."""

    rows: list[Annotated[dict[str, Any], checked_by_service(BulkEmployeeRow)]] = Field(min_length=1)


class BulkRowResult(Output):
    """What a bulk upsert did with one row."""

    index: int
    external_id: str | None
    id: uuid.UUID | None
    outcome: Literal["created", "updated", "unchanged", "error"]
    errors: list[dict[str, Any]] = []


class BulkEmployeeResponse(Output):
    """What a bulk upsert of employees did: one result a row, and the counts."""

    results: list[BulkRowResult] = Field(description="One result a row, in the rows' order")
    created: int
    updated: int
    unchanged: int
    errors: int


class PersonRef(Output):
    """An employee by id and name."""

    described_like = (EmployeeRead,)

    id: uuid.UUID
    given_name: str
    family_name: str


class MeRead(Output):
    """Who is calling: `GET /api/v1/me`."""

    kind: Literal["person", "client"]
    organization_id: uuid.UUID
    employee: EmployeeRead | None = Field(
        description="the caller's employee, as GET /employees/{id} shows it to them; null when the token names none"
    )
    roles: list[str] = Field(description="a person's roles (sorted); empty for an integration client")
    scopes: list[str] = Field(description="an integration client's scopes (sorted); empty for a person")
    manager: PersonRef | None = Field(description="the employee's manager (id and name), or null")
    reports_count: int = Field(description="how many employees report directly to the caller's employee")
