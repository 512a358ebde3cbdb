"""Employee ↔ SCIM User and Department ↔ SCIM Group, both ways, without I/O.

Reading: a User is built from the employee row, its SCIM sidecar (if any) and its
department's name. An empty name or e-mail in the organization model is an unassigned
attribute, and an `external_id` starting with `scim:` (the key the service generates for
a User provisioned without `employeeNumber`) is an unassigned `employeeNumber`.

Writing: a User's attributes become `UserValues`, in the organization model's terms; the
storage validates and applies them. See docs/scim.md for the whole table.

Versions: a User's ETag is `W/"<employee version>"`, followed by `-<department version>`
when the employee has a department, since the department's name is part of the User. A
Group's ETag is `W/"<department version>-<member digest>"`: members join and leave by
changes to employee rows, so the digest (their count and latest change) makes the ETag
change with the member list, wherever the change was made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidValueException, Meta, PreconditionFailedException, Resource
from scim2_server.conditions import opaque_tag

from service.org.models import Department, Employee
from service.scim.models import ScimGroup, ScimUser
from service.scim.schema import (
    GROUP_EXTENSION_SCHEMA,
    DepartmentTree,
    Email,
    EnterpriseUser,
    GroupMember,
    Manager,
    Name,
    ParentGroup,
)

GENERATED_KEY_PREFIX = "scim:"
TERMINATED = "terminated"


def comparison_key(value: str) -> str:
    """The form in which user names are compared: NFC, lower case (scim2-models' default)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).lower())


def generated_key(employee_id: uuid.UUID) -> str:
    return f"{GENERATED_KEY_PREFIX}{employee_id}"


def parse_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


MAX_OFFSET = 2**31 - 1  # a startIndex past any table: an empty page, not an overflow


def bounded_offset(request: Any) -> int:
    """The SQL offset of a search's `startIndex` (RFC 7644 section 3.4.2.4: below 1 means
    1); a huge one (`99999999999999999999`) reads past every row instead of overflowing
    the database's integer."""
    return min(max(int(request.start_index_0 or 0), 0), MAX_OFFSET)


def check_version(current: str, expected: str | None) -> None:
    if expected is not None and opaque_tag(current) != opaque_tag(expected):
        raise PreconditionFailedException(detail="the resource changed since it was read")


# --- users ----------------------------------------------------------------------------


@dataclass
class UserRow:
    employee: Employee
    sidecar: ScimUser | None
    department_name: str | None
    department_version: int | None

    @property
    def user_name(self) -> str:
        return self.sidecar.user_name if self.sidecar is not None else self.employee.email

    @property
    def version(self) -> str:
        emp = self.employee
        if emp.department_id is not None and self.department_version is not None:
            return f'W/"{emp.version}-{self.department_version}"'
        return f'W/"{emp.version}"'


@dataclass
class UserValues:
    """What a SCIM User says, in the organization model's terms ("" or None: unassigned)."""

    user_name: str
    given_name: str
    family_name: str
    email: str
    email_type: str | None
    email_primary: bool | None
    display_name: str | None
    active: bool | None
    external_id: str | None
    employee_number: str | None
    department: str | None
    manager: str | None


def user_resource(model: type[Resource[Any]], row: UserRow) -> Resource[Any]:
    emp, side = row.employee, row.sidecar
    name = Name(given_name=emp.given_name or None, family_name=emp.family_name or None)
    email_type = side.email_type if side is not None else Email.Type.work.value
    email_primary = side.email_primary if side is not None else True
    enterprise = EnterpriseUser(
        employee_number=None if emp.external_id.startswith(GENERATED_KEY_PREFIX) else emp.external_id,
        department=row.department_name or None,
        manager=Manager(value=str(emp.manager_id), ref=f"Users/{emp.manager_id}")
        if emp.manager_id is not None
        else None,
    )
    fields: dict[str, Any] = {
        "id": str(emp.id),
        "external_id": side.external_id if side is not None else None,
        "user_name": row.user_name,
        "name": name if (name.given_name or name.family_name) else None,
        "display_name": side.display_name if side is not None else None,
        "active": None if side is not None and side.active_unassigned else emp.status != TERMINATED,
        "emails": [Email(value=emp.email, type=email_type, primary=email_primary)] if emp.email else None,
        "meta": Meta(resource_type="User", created=emp.created_at, last_modified=emp.updated_at, version=row.version),
    }
    if enterprise.employee_number or enterprise.department or enterprise.manager:
        fields[EnterpriseUser.__name__] = enterprise
    return model(**fields)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _optional(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _chosen_email(emails: list[Email] | None) -> Email | None:
    entries = [e for e in emails or [] if _text(e.value)]
    return (
        next((e for e in entries if e.primary), None)
        or next((e for e in entries if e.type is not None and str(_enum(e.type)) == "work"), None)
        or (entries[0] if entries else None)
    )


def _enum(value: Any) -> Any:
    return getattr(value, "value", value)


def user_values(resource: Resource[Any]) -> UserValues:
    name = getattr(resource, "name", None)
    email = _chosen_email(getattr(resource, "emails", None))
    enterprise = getattr(resource, EnterpriseUser.__name__, None)
    manager = getattr(enterprise, "manager", None)
    return UserValues(
        user_name=_text(resource.user_name),  # type: ignore[attr-defined]
        given_name=_text(getattr(name, "given_name", None)),
        family_name=_text(getattr(name, "family_name", None)),
        email=_text(email.value) if email else "",
        email_type=_optional(_enum(email.type)) if email and email.type is not None else None,
        email_primary=email.primary if email else None,
        display_name=_optional(getattr(resource, "display_name", None)),
        active=getattr(resource, "active", None),
        external_id=_optional(resource.external_id),
        employee_number=_optional(getattr(enterprise, "employee_number", None)),
        department=_optional(getattr(enterprise, "department", None)),
        manager=_optional(getattr(manager, "value", None)),
    )


LIMITS = {
    "user_name": 320,
    "given_name": 200,
    "family_name": 200,
    "email": 320,
    "email_type": 40,
    "display_name": 400,
    "external_id": 200,
    "employee_number": 200,
    "department": 200,
}


def check_lengths(values: Any, attribute_names: dict[str, str]) -> None:
    for field, limit in LIMITS.items():
        value = getattr(values, field, None)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidValueException(detail=f"{attribute_names.get(field, field)} is longer than {limit} characters")


# --- groups ---------------------------------------------------------------------------


@dataclass
class GroupRow:
    department: Department
    sidecar: ScimGroup | None
    member_count: int
    member_stamp: dt.datetime | None
    members: list[uuid.UUID] | None = None  # None when the members were not loaded
    parent_id: uuid.UUID | None = None  # the parent department's id, when it is a Group

    @property
    def version(self) -> str:
        stamp = self.member_stamp.isoformat() if self.member_stamp is not None else "-"
        digest = hashlib.sha256(f"{self.member_count}:{stamp}".encode()).hexdigest()[:12]
        return f'W/"{self.department.version}-{digest}"'


@dataclass
class GroupValues:
    display_name: str
    external_id: str | None
    members: list[str] | None
    speaks_tree: bool  # whether the request says anything of the department tree
    parent: str | None


def group_resource(model: type[Resource[Any]], row: GroupRow) -> Resource[Any]:
    dep = row.department
    members = None
    if row.members:
        members = [GroupMember(value=str(m), ref=f"Users/{m}", type="User") for m in row.members]
    # The provider's Group model: `display_name` and `members` are fields of it, not of Resource.
    fields: dict[str, Any] = {
        "id": str(dep.id),
        "external_id": row.sidecar.external_id if row.sidecar is not None else None,
        "display_name": dep.name,
        "members": members,
        "meta": Meta(resource_type="Group", created=dep.created_at, last_modified=dep.updated_at, version=row.version),
    }
    if row.parent_id is not None:
        fields[DepartmentTree.__name__] = DepartmentTree(
            parent=ParentGroup(value=str(row.parent_id), ref=f"Groups/{row.parent_id}")
        )
    return model(**fields)


def group_values(resource: Resource[Any]) -> GroupValues:
    members = getattr(resource, "members", None)
    tree = getattr(resource, DepartmentTree.__name__, None)
    listed = any(str(s).lower() == GROUP_EXTENSION_SCHEMA.lower() for s in resource.schemas or [])
    return GroupValues(
        display_name=_text(resource.display_name),  # type: ignore[attr-defined]
        external_id=_optional(resource.external_id),
        members=None if members is None else [m.value for m in members if m.value],
        speaks_tree=tree is not None or listed,
        parent=_optional(getattr(getattr(tree, "parent", None), "value", None)),
    )
