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

from service.principal import Principal


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


def relation_to(principal: Principal, subject_id: uuid.UUID | None, reports: frozenset[uuid.UUID]) -> Relation:
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


def read_own_view(p: Principal) -> Decision:
    """Who the caller is and what waits for them (`/me`, `/me/tasks`): any token; a client
    learns its scopes, and has no tasks."""
    return Decision.ALLOW


# --- organization -------------------------------------------------------------------


def read_organization(p: Principal) -> Decision:
    return _allow(is_person(p) or bool(p.scopes))


def update_organization(p: Principal) -> Decision:
    return _allow(p.has_role("admin"))


def export_organization(p: Principal) -> Decision:
    """The whole organization, every person's data in it: its own admin only."""
    return _allow(p.has_role("admin"))


def delete_organization(p: Principal) -> Decision:
    """No role acts across organizations, so only the organization's own admin deletes
    it; importing one is a deployment operator's command (docs/operations.md)."""
    return _allow(p.has_role("admin"))


# --- directory: departments, positions, employees ------------------------------------

DIRECTORY_READ_SCOPES = ("employees:write", "payroll:read", "scim")


def read_directory(p: Principal) -> Decision:
    return _allow(is_person(p) or p.has_scope(*DIRECTORY_READ_SCOPES))


def write_directory(p: Principal) -> Decision:
    """Create and change departments, positions and employees (HRIS sync included)."""
    return _allow(is_staff(p) or p.has_scope("employees:write"))


def scim_provision(p: Principal) -> Decision:
    """SCIM (/scim/v2): an identity provider's client with the `scim` scope provisions the
    employees and departments of its organization. No person, not even an admin, speaks
    SCIM: a token without the scope is refused (403), never silently narrowed."""
    return _allow(p.has_scope("scim"))


def see_compensation(p: Principal, relation: Relation) -> bool:
    """Pay is for hr, admin, payroll clients and the employee themself; never a manager
    as such and never an auditor."""
    return is_staff(p) or p.has_scope("payroll:read", "employees:write") or (is_person(p) and relation is Relation.SELF)


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


def export_subject_data(p: Principal) -> Decision:
    """Everything held about one person (an access request, docs/data-protection.md):
    hr and admin, who answer such requests; not the person themself, whose request goes
    through them, and never a client."""
    return _allow(is_staff(p))


def erase_subject_data(p: Principal) -> Decision:
    """Pseudonymize a person after the retention period: admin only."""
    return _allow(p.has_role("admin"))


def read_audit_log(p: Principal) -> Decision:
    return _allow(p.has_role("admin", "auditor"))


# --- cycles -------------------------------------------------------------------------------


def read_cycles(p: Principal) -> Decision:
    return _allow(is_person(p) or p.has_scope("kpi:write", "payroll:read"))


def manage_cycles(p: Principal) -> Decision:
    return _allow(is_staff(p))


# --- OKRs: objectives, key results, check-ins -----------------------------------------
# Relations are to the objective's owner (and, for check-ins, to the key result's owner).
# Public objectives are readable by every person of the organization (alignment needs
# them); private ones like any subject data (owner, the owner's managers, hr, admin,
# auditor; a key result's owner does not see a private objective of someone else).
# Integration clients have no OKR scope.


def read_objectives(p: Principal) -> Decision:
    """List objectives or lint a draft: any person; no client scope covers OKRs."""
    return _allow(is_person(p))


def read_objective(p: Principal, relation: Relation, visibility: str) -> Decision:
    if not is_person(p):
        return Decision.HIDE
    if visibility == "public":
        return Decision.ALLOW
    return read_subject(p, relation)


def write_objective(p: Principal, relation: Relation) -> Decision:
    """Create or edit an objective and its key results: the owner, the owner's managers,
    hr/admin. Auditors and everyone else are refused (visibility is checked first)."""
    if not is_person(p):
        return Decision.FORBID
    return _allow(is_staff(p) or relation in (Relation.SELF, Relation.MANAGER))


OBJECTIVE_ACTORS: dict[str, frozenset[Relation]] = {
    "submit": frozenset({Relation.SELF}),
    "approve": frozenset({Relation.MANAGER}),
    "reject": frozenset({Relation.MANAGER}),
    "publish": frozenset({Relation.SELF, Relation.MANAGER}),
    "close": frozenset({Relation.MANAGER}),
}


def objective_action(p: Principal, relation: Relation, action: str) -> Decision:
    """The workflow: the owner submits; their direct or indirect manager approves,
    rejects and closes; owner or manager publishes; hr/admin may act for anyone, except
    that nobody approves or rejects their own objective (four eyes)."""
    if not is_person(p):
        return Decision.FORBID
    if action in ("approve", "reject") and relation is Relation.SELF:
        return Decision.FORBID
    return _allow(is_staff(p) or relation in OBJECTIVE_ACTORS.get(action, frozenset()))


def grade_key_result(p: Principal, relation: Relation) -> Decision:
    """A manual grade: the owner's manager or hr (admin does everything hr does)."""
    return _allow(is_person(p) and (is_staff(p) or relation is Relation.MANAGER))


def check_in(p: Principal, owner_relation: Relation, kr_owner_relation: Relation) -> Decision:
    """Report progress: the objective's owner, the key result's owner, their managers,
    hr/admin."""
    if not is_person(p):
        return Decision.FORBID
    close = (Relation.SELF, Relation.MANAGER)
    return _allow(is_staff(p) or owner_relation in close or kr_owner_relation in close)


# --- scoring policies and scores ---------------------------------------------------------------


def read_scoring_policies(p: Principal) -> Decision:
    return _allow(p.has_role("admin", "hr", "auditor"))


def manage_scoring_policies(p: Principal) -> Decision:
    return _allow(p.has_role("admin"))


def recompute_scores(p: Principal) -> Decision:
    return _allow(is_staff(p))


def read_score_jobs(p: Principal) -> Decision:
    """A recompute's progress: those who may start one, and auditors."""
    return _allow(reads_everything(p), Decision.HIDE)


def amend_scores(p: Principal) -> Decision:
    """Amending an official result (the score of record): hr/admin, not managers."""
    return _allow(is_staff(p))


def amend_score(p: Principal, relation: Relation) -> Decision:
    """...and never one's own score."""
    return _allow(is_staff(p) and relation is not Relation.SELF)


# --- KPIs: definitions, templates, assignments, measurements --------------------------------
# Relations are to the assignment's subject employee. `kpi:write` clients (BI, data
# pipelines) read the library and assignments and record measurements, nothing else.


def read_kpi_library(p: Principal) -> Decision:
    """KPI definitions: every person, and ingestion clients (they address rows by code)."""
    return _allow(is_person(p) or p.has_scope("kpi:write"))


def read_kpi_templates(p: Principal) -> Decision:
    return _allow(is_person(p))


def manage_kpi_library(p: Principal) -> Decision:
    """Create and change definitions and position templates."""
    return _allow(is_staff(p))


def list_kpi_assignments(p: Principal) -> Decision:
    """The collection; its rows are filtered by `read_kpi_assignment`."""
    return _allow(is_person(p) or p.has_scope("kpi:write"))


def read_kpi_assignment(p: Principal, relation: Relation) -> Decision:
    if p.has_scope("kpi:write"):
        return Decision.ALLOW
    return read_subject(p, relation)


def manage_kpi_assignment(p: Principal, relation: Relation) -> Decision:
    """Create, change or delete an assignment (also by applying a template): hr/admin for
    anyone, a direct or indirect manager for their reports; never the subject themself."""
    if is_person(p) and (is_staff(p) or relation is Relation.MANAGER):
        return Decision.ALLOW
    return Decision.FORBID if read_kpi_assignment(p, relation).allowed else Decision.HIDE


def record_kpi_measurement(p: Principal, relation: Relation) -> Decision:
    """Report an actual: hr/admin, the subject's managers, `kpi:write` clients; the
    subject may read their own actuals but not report them."""
    if p.has_scope("kpi:write") or (is_person(p) and (is_staff(p) or relation is Relation.MANAGER)):
        return Decision.ALLOW
    return Decision.FORBID if read_kpi_assignment(p, relation).allowed else Decision.HIDE


def bulk_ingest_kpi_measurements(p: Principal) -> Decision:
    """Bulk ingestion is for data pipelines and hr/admin; managers use the single routes."""
    return _allow(is_staff(p) or p.has_scope("kpi:write"))


# --- webhooks ----------------------------------------------------------------------------------


def read_webhooks(p: Principal) -> Decision:
    """Subscriptions and their delivery logs: admin, `webhooks` clients, and auditors
    (read-only; signing secrets are never shown after creation, to anyone)."""
    return _allow(p.has_role("admin", "auditor") or p.has_scope("webhooks"))


def manage_webhooks(p: Principal) -> Decision:
    """Create, change, delete, rotate secrets, redeliver: admin or a `webhooks` client."""
    return _allow(p.has_role("admin") or p.has_scope("webhooks"))


# --- evaluations, 360 feedback, calibration, interviews, review meetings -----------------------
# Relations are to the evaluated employee. For their own evaluation everyone is an
# employee: an hr or admin person never reviews, calibrates or finalizes themself, and
# reads their own 360 feedback anonymised like anyone else. The manager review and the
# finalization belong to the direct manager (or hr/admin); managers further up read.
# No integration scope covers evaluations.


def _refuse(p: Principal, relation: Relation) -> Decision:
    """403 for someone who may see the evaluation, 404 for anyone else."""
    return Decision.FORBID if read_subject(p, relation).allowed else Decision.HIDE


def read_evaluation(p: Principal, relation: Relation) -> Decision:
    return read_subject(p, relation) if is_person(p) else Decision.HIDE


def list_evaluations(p: Principal) -> Decision:
    """The collection (and the other evaluation collections); rows are filtered by
    `read_evaluation`."""
    return _allow(is_person(p))


def create_evaluation(p: Principal, relation: Relation) -> Decision:
    """Open an evaluation: hr/admin for anyone, a manager for their subtree."""
    if is_person(p) and (is_staff(p) or relation is Relation.MANAGER):
        return Decision.ALLOW
    return _refuse(p, relation)


def bulk_create_evaluations(p: Principal) -> Decision:
    return _allow(is_staff(p))


def write_self_review(p: Principal, relation: Relation) -> Decision:
    """Write and submit the self review, and acknowledge: the employee only."""
    if is_person(p) and relation is Relation.SELF:
        return Decision.ALLOW
    return _refuse(p, relation)


acknowledge_evaluation = write_self_review


def write_manager_review(p: Principal, relation: Relation, direct_manager: bool) -> Decision:
    """Write and submit the manager review, and finalize: the direct manager or hr/admin,
    never for oneself. Indirect managers, auditors and the subject see it but may not. (A
    direct manager is one of the subject's managers: the relation says so too, which lets
    the rule be read without knowing that.)"""
    manages = direct_manager and relation is Relation.MANAGER
    if is_person(p) and relation is not Relation.SELF and (is_staff(p) or manages):
        return Decision.ALLOW
    return _refuse(p, relation)


finalize_evaluation = write_manager_review


def see_self_review(p: Principal, relation: Relation, submitted: bool) -> bool:
    """The employee and hr/admin/auditors see the draft; managers once it is submitted."""
    if relation is Relation.SELF or reads_everything(p):
        return True
    return relation is Relation.MANAGER and submitted


def see_manager_review(p: Principal, relation: Relation, submitted: bool) -> bool:
    """Managers and hr/admin/auditors see the draft; the employee once it is submitted
    (from then on it counts in their score, which they see)."""
    if relation is Relation.SELF:
        return submitted
    return reads_everything(p) or relation is Relation.MANAGER


def request_peer_feedback(p: Principal, relation: Relation) -> Decision:
    """Ask a colleague for 360 feedback: the employee, their managers, hr/admin."""
    if is_person(p) and (is_staff(p) or relation in (Relation.SELF, Relation.MANAGER)):
        return Decision.ALLOW
    return _refuse(p, relation)


PEER_ATTRIBUTED = "attributed"
PEER_ANONYMOUS = "anonymous"


def peer_feedback_access(p: Principal, relation: Relation) -> str | None:
    """How 360 feedback about the subject is shown: attributed (reviewer, rating and
    comments of each answer) to managers and hr/admin/auditors; anonymous (aggregates
    only, see `anonymous_feedback_visible`) to the employee, whatever their roles;
    nothing to anyone else."""
    if relation is Relation.SELF:
        return PEER_ANONYMOUS if is_person(p) else None
    if reads_everything(p) or relation is Relation.MANAGER:
        return PEER_ATTRIBUTED
    return None


def read_peer_feedback(p: Principal, relation: Relation) -> bool:
    """Whether the caller sees the 360 feedback about the subject in any form."""
    return peer_feedback_access(p, relation) is not None


def anonymous_feedback_visible(answered: int, min_reviewers: int) -> bool:
    """The employee sees the aggregate only once enough reviewers answered
    (`peer_feedback_min_reviewers`, default 3)."""
    return answered >= max(1, min_reviewers)


def read_peer_request(p: Principal, relation: Relation, is_reviewer: bool) -> Decision:
    """A single request: its reviewer, and those who see attributed feedback. The subject
    sees requests only anonymised, through their evaluation."""
    if is_person(p) and is_reviewer:
        return Decision.ALLOW
    if peer_feedback_access(p, relation) == PEER_ATTRIBUTED:
        return Decision.ALLOW
    return Decision.HIDE


def answer_peer_request(p: Principal, relation: Relation, is_reviewer: bool) -> Decision:
    """Submit or decline 360 feedback: the requested reviewer only."""
    if is_person(p) and is_reviewer:
        return Decision.ALLOW
    return _refuse(p, relation)


def read_calibrations(p: Principal) -> Decision:
    return _allow(p.has_role("admin", "hr", "auditor"))


def manage_calibrations(p: Principal) -> Decision:
    """Sessions, simulations and finalization: hr/admin."""
    return _allow(is_staff(p))


def adjust_calibration(p: Principal, relation: Relation) -> Decision:
    """A calibration adjustment: hr/admin, never on their own score."""
    return _allow(is_staff(p) and relation is not Relation.SELF)


def manage_interview(p: Principal, relation: Relation) -> Decision:
    """Plan and record a performance interview: the employee's managers or hr/admin,
    never for oneself."""
    if is_person(p) and relation is not Relation.SELF and (is_staff(p) or relation is Relation.MANAGER):
        return Decision.ALLOW
    return _refuse(p, relation)


acknowledge_interview = write_self_review


def read_review_meeting(p: Principal, relation: Relation | None) -> Decision:
    """A meeting about a person (an evaluation's employee, an objective's owner) reads
    like their other subject data; a cycle's meeting is for hr/admin/auditors."""
    if relation is None:
        return _allow(reads_everything(p), Decision.HIDE)
    return read_subject(p, relation)


def read_team_brief(p: Principal) -> Decision:
    """A team's brief (docs/briefs.md): any person; what it lists is filtered by what the
    caller may read elsewhere (public or own and reports' objectives, own and reports'
    KPIs). No client scope covers OKRs."""
    return _allow(is_person(p))


def read_person_brief(p: Principal, relation: Relation) -> Decision:
    """A one-on-one brief about an employee reads like their other subject data: the
    employee, their managers, hr/admin/auditors; hidden from everyone else and from
    clients."""
    return read_subject(p, relation) if is_person(p) else Decision.HIDE


def write_review_meeting(p: Principal, kind: str, relation: Relation | None) -> Decision:
    """Record a review meeting: hr/admin for any subject (never on their own
    evaluation); the person's managers for evaluations and objectives; an objective's
    owner for their objective."""
    if not is_person(p):
        return Decision.HIDE
    if kind == "cycle" or relation is None:
        return _allow(is_staff(p))  # every person sees the cycle itself
    if kind == "objective":
        allowed = is_staff(p) or relation in (Relation.SELF, Relation.MANAGER)
    else:
        allowed = relation is Relation.MANAGER or (is_staff(p) and relation is not Relation.SELF)
    if allowed:
        return Decision.ALLOW
    return Decision.FORBID if read_review_meeting(p, relation).allowed else Decision.HIDE


# --- incentives: plans, results, nominations, payroll ----------------------------------------
# Relations are to the result's employee. Amounts are pay: hr/admin, payroll clients and
# the employee themself see them; a manager as such never does, nor an auditor. An
# employee sees their own results once finalized (drafts and approvals are HR's working
# state); managers see their reports' results in every state, without amounts.


def read_incentive_plans(p: Principal) -> Decision:
    """Plans (name, kind, cycle, currency): every person, and payroll clients."""
    return _allow(is_person(p) or p.has_scope("payroll:read"))


def see_incentive_plan_params(p: Principal) -> bool:
    """Pools and rates: hr/admin, auditors and payroll clients."""
    return p.has_role("admin", "hr", "auditor") or p.has_scope("payroll:read")


def manage_incentives(p: Principal) -> Decision:
    """Create and change plans, run them, approve, finalize, decline, adjust: hr/admin."""
    return _allow(is_staff(p))


def list_incentive_results(p: Principal) -> Decision:
    """The collection; its rows are filtered by `read_incentive_result`."""
    return _allow(is_person(p) or p.has_scope("payroll:read"))


def read_incentive_result(p: Principal, relation: Relation, status: str, has_amount: bool) -> Decision:
    if reads_everything(p):
        return Decision.ALLOW
    if p.has_scope("payroll:read"):
        return _allow(status == "finalized" and has_amount, Decision.HIDE)
    if is_person(p) and (relation is Relation.MANAGER or (relation is Relation.SELF and status == "finalized")):
        return Decision.ALLOW
    return Decision.HIDE


def see_incentive_amount(p: Principal, relation: Relation) -> bool:
    return is_staff(p) or p.has_scope("payroll:read", "payroll:ack") or (is_person(p) and relation is Relation.SELF)


def act_on_incentive_result(p: Principal, relation: Relation, status: str, has_amount: bool) -> Decision:
    if is_staff(p):
        return Decision.ALLOW
    return Decision.FORBID if read_incentive_result(p, relation, status, has_amount).allowed else Decision.HIDE


def pull_payroll(p: Principal) -> Decision:
    """The payroll feed of finalized results: `payroll:read` clients and hr/admin."""
    return _allow(is_staff(p) or p.has_scope("payroll:read"))


def acknowledge_payroll(p: Principal) -> Decision:
    """Record payroll's reference for a finalized result: `payroll:ack` clients, hr/admin."""
    return _allow(is_staff(p) or p.has_scope("payroll:ack"))


# --- development plans ---------------------------------------------------------------------
# Relations are to the plan's employee; `is_owner` says the caller is the plan's owner (who
# follows it with the employee, whoever they report to). No integration scope covers plans.


def list_development_plans(p: Principal) -> Decision:
    """The collection; its rows are filtered by `read_development_plan`."""
    return _allow(is_person(p))


def read_development_plan(p: Principal, relation: Relation, is_owner: bool) -> Decision:
    """The employee, their managers, the plan's owner, hr/admin and auditors."""
    if not is_person(p):
        return Decision.HIDE
    if reads_everything(p) or relation in (Relation.SELF, Relation.MANAGER) or is_owner:
        return Decision.ALLOW
    return Decision.HIDE


def create_development_plan(p: Principal, relation: Relation) -> Decision:
    """Make a plan for someone (directly or from their nomination): hr/admin for anyone,
    a manager for their subtree; the employee sees their own plans but does not make them."""
    if is_person(p) and (is_staff(p) or relation is Relation.MANAGER):
        return Decision.ALLOW
    return Decision.FORBID if read_development_plan(p, relation, False).allowed else Decision.HIDE


def write_development_plan(p: Principal, relation: Relation, is_owner: bool) -> Decision:
    """Change a plan and its items, add items: hr/admin, the employee's managers, the
    owner. The employee reads it (and moves their items along: `update_development_item`)."""
    if is_person(p) and (is_staff(p) or relation is Relation.MANAGER or is_owner):
        return Decision.ALLOW
    return Decision.FORBID if read_development_plan(p, relation, is_owner).allowed else Decision.HIDE


def update_development_item(p: Principal, relation: Relation, is_owner: bool, status_only: bool) -> Decision:
    """Change an item: whoever writes the plan; the employee too, when the change is the
    item's `status` alone (they report their progress)."""
    if is_person(p) and relation is Relation.SELF and status_only:
        return Decision.ALLOW
    return write_development_plan(p, relation, is_owner)


# --- meetings --------------------------------------------------------------------------------
# Relations are to the meeting's attendees: SELF when the caller attends, MANAGER when an
# attendee is in the caller's reporting subtree (the managers above a one-on-one's pair or
# a team's members), OTHER otherwise. `is_organizer` says the caller organizes it. No
# integration scope covers meetings.


def list_meetings(p: Principal) -> Decision:
    """The collection; its rows are filtered by `read_meeting`."""
    return _allow(is_person(p))


def read_meeting(p: Principal, relation: Relation) -> Decision:
    """Its attendees, the managers above them, hr/admin and auditors."""
    if is_person(p) and (reads_everything(p) or relation in (Relation.SELF, Relation.MANAGER)):
        return Decision.ALLOW
    return Decision.HIDE


def schedule_meeting(p: Principal, relation: Relation) -> Decision:
    """Schedule a meeting: hr/admin; an employee who attends it or manages an attendee
    (a manager schedules their team's stand-up, either of a pair their one-on-one)."""
    if is_person(p) and (is_staff(p) or relation in (Relation.SELF, Relation.MANAGER)):
        return Decision.ALLOW
    return Decision.FORBID


def write_meeting(p: Principal, relation: Relation, is_organizer: bool) -> Decision:
    """Change a meeting (its time, recurrence, attendees, status): hr/admin, its
    organizer, the managers above its attendees. An attendee reads it and records its
    occurrences (`record_meeting`)."""
    if is_person(p) and (is_staff(p) or relation is Relation.MANAGER or is_organizer):
        return Decision.ALLOW
    return Decision.FORBID if read_meeting(p, relation).allowed else Decision.HIDE


def record_meeting(p: Principal, relation: Relation, is_organizer: bool) -> Decision:
    """Record an occurrence as held (notes, decisions) or cancelled, and add its
    follow-up actions: whoever changes the meeting, and its attendees."""
    if is_person(p) and relation is Relation.SELF:
        return Decision.ALLOW
    return write_meeting(p, relation, is_organizer)


def update_meeting_action(
    p: Principal, relation: Relation, is_organizer: bool, is_owner: bool, status_only: bool
) -> Decision:
    """Change a follow-up action: whoever changes the meeting; its owner too, when the
    change is the action's `status` alone (they close it). Other attendees add actions
    but leave the others' alone."""
    if is_person(p) and is_owner and status_only:
        return Decision.ALLOW
    return write_meeting(p, relation, is_organizer)


def manage_calendar_feed(p: Principal) -> Decision:
    """Make, rotate or revoke one's own calendar feed: a person with an employee record."""
    return _allow(is_person(p) and p.employee_id is not None)
