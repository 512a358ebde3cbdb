"""Who may see and do what (SPEC section 10), as pure functions.

Every answer is a `Decision`: ALLOW, FORBID (they may see it but not do this: 403) or
HIDE (they may not know it exists: 404). Callers supply facts they looked up (the
relation between the caller and the subject employee); this module does no I/O, so the
whole role model can be read and tested here.

Role model:
- admin: everything, including organization settings and integration clients.
- hr: every employee's data, cycles, calibration, incentives, compensation.
- auditor: read-only on everything including the audit log; never compensation (the
  SPEC names who sees pay, and auditors are not among them) and never writes.
- employee: their own data; the organization's directory (names, departments,
  positions, managers: what alignment and peer requests need); never others' pay.
- manager (derived, not a role claim): anyone whose reporting subtree contains the
  subject acts as manager for that subject's OKRs, KPIs, evaluations and scores.
- integration clients: scopes only; a client never holds a role.
"""

from __future__ import annotations

import enum
import uuid

from service.auth.principal import Principal


class Decision(enum.Enum):
    ALLOW = "allow"
    FORBID = "forbid"
    HIDE = "hide"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


class Relation(enum.Enum):
    """How the caller stands to a subject employee."""

    SELF = "self"
    MANAGER = "manager"  # the subject is in the caller's reporting subtree
    OTHER = "other"


def relation_to(principal: Principal, subject_id: uuid.UUID | None,
                reports: frozenset[uuid.UUID]) -> Relation:
    if subject_id is not None and principal.employee_id == subject_id:
        return Relation.SELF
    if subject_id is not None and subject_id in reports:
        return Relation.MANAGER
    return Relation.OTHER


def _allow(cond: bool, otherwise: Decision = Decision.FORBID) -> Decision:
    return Decision.ALLOW if cond else otherwise


def is_person(p: Principal) -> bool:
    return not p.is_client


def is_staff(p: Principal) -> bool:
    """admin or hr: may read and change people data of the whole organization."""
    return p.has_role("admin", "hr")


def reads_everything(p: Principal) -> bool:
    return p.has_role("admin", "hr", "auditor")


# --- organization -------------------------------------------------------------------

def read_organization(p: Principal) -> Decision:
    return _allow(is_person(p) or bool(p.scopes))


def update_organization(p: Principal) -> Decision:
    return _allow(p.has_role("admin"))


# --- directory: departments, positions, employees ------------------------------------

DIRECTORY_READ_SCOPES = ("employees:write", "payroll:read", "scim")


def read_directory(p: Principal) -> Decision:
    return _allow(is_person(p) or p.has_scope(*DIRECTORY_READ_SCOPES))


def write_directory(p: Principal) -> Decision:
    """Create and change departments, positions and employees (HRIS sync included)."""
    return _allow(is_staff(p) or p.has_scope("employees:write"))


def see_compensation(p: Principal, relation: Relation) -> bool:
    """Pay is for hr, admin, payroll clients and the employee themself; never a manager
    as such and never an auditor."""
    return (is_staff(p) or p.has_scope("payroll:read", "employees:write")
            or (is_person(p) and relation is Relation.SELF))


def write_compensation(p: Principal) -> bool:
    return is_staff(p) or p.has_scope("employees:write")


# --- subject data (OKRs, KPIs, evaluations, scores of an employee) -------------------

def read_subject(p: Principal, relation: Relation) -> Decision:
    if reads_everything(p) or relation in (Relation.SELF, Relation.MANAGER):
        return Decision.ALLOW
    return Decision.HIDE


def manage_subject(p: Principal, relation: Relation) -> Decision:
    """Act as the subject's manager (approve, grade, review): direct or indirect manager,
    or hr/admin acting for anyone."""
    if is_staff(p) or relation is Relation.MANAGER:
        return Decision.ALLOW
    return read_subject(p, relation) if read_subject(p, relation) is Decision.HIDE else Decision.FORBID


# --- administration -------------------------------------------------------------------

def manage_integration_clients(p: Principal) -> Decision:
    return _allow(p.has_role("admin"))


def read_audit_log(p: Principal) -> Decision:
    return _allow(p.has_role("admin", "auditor"))


# --- cycles -------------------------------------------------------------------------------

def read_cycles(p: Principal) -> Decision:
    return _allow(is_person(p) or p.has_scope("kpi:write", "payroll:read"))


def manage_cycles(p: Principal) -> Decision:
    return _allow(is_staff(p))
