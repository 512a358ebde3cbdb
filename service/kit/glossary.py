"""The words the API's documents share: a field of this name means the same thing
wherever it appears, in a REST model (`kit.schemas.Input`/`Output` fill a field's
description from here when it has none of its own) and in GraphQL (the same text,
through `service.graphql.common.described`). A model that means something more
specific says so in its own `Field(description=...)`, which wins."""

from __future__ import annotations

FIELDS: dict[str, str] = {
    # identity and bookkeeping
    "id": "The object's id, a UUID",
    "created_at": "When it was created (RFC 3339, UTC)",
    "updated_at": "When it last changed (RFC 3339, UTC)",
    "version": "The version counter, raised by every change; the ETag and If-Match carry it",
    "created_by": "Who created it (the user id of the token's `sub`)",
    "author": "Who wrote it (the user id of the token's `sub`)",
    "status": "Where it is in its workflow",
    "name": "Its name",
    "title": "Its title",
    "description": "What it is about, in prose",
    "comments": "Free-text comments",
    "comment": "A free-text comment kept with the step",
    "note": "A free-text note",
    "notes": "Free-text notes",
    "reason": "Why, in the author's words",
    "summary": "A summary in prose",
    "kind": "What kind it is",
    "code": "A stable machine name",
    "level": "Its level",
    "currency": "An ISO 4217 currency code (`EUR`)",
    "amount_minor": "An amount of money in the currency's minor units (cents)",
    "base_salary_minor": "The yearly base salary in minor units (cents) of the employee's `currency`",
    "target_bonus_minor": "The target bonus in minor units (cents) of the employee's `currency`",
    "weight": "Its weight among its siblings (relative; weights need not sum to 1)",
    "rating": "A rating: a band label of the scoring policy (`rating_scale`)",
    "flags": "Warnings about how the value was computed (missing data, a veto, a cap applied...)",
    "errors": "What was wrong, one message each",
    "done": "Whether it is done",
    "value": "The value",
    "source": "Where the value came from",
    "params": "The parameters of the rule, a JSON object",
    "inputs": "The inputs the computation used, a JSON object",
    "index": "The row's position in the request, from 0",
    "outcome": "What came of it",
    "action": "What to do, or what was done",
    "start": "The starting value",
    "target": "The target value",
    "unit": "The unit of its values (`%`, `EUR`, `tickets`)",
    "direction": "Which way is better: up (higher is better) or down",
    "perspective": "The balanced-scorecard perspective it belongs to",
    "confidence": "How confident the owner is of reaching the target, 0 (not at all) to 10 (certain)",
    "progress": "How far it is from start to target, 0 to 1 (a decimal string)",
    "score": "Its score, 0 to 1 or above when over-achieved (a decimal string)",
    "pace": "Progress compared with the time elapsed in the cycle",
    "final": "The final score after calibration, 0 to 100 (a decimal string)",
    "composite": "The weighted composite of the components before calibration, 0 to 100 (a decimal string)",
    "calibration_delta": "The sum of the calibration adjustments, in points",
    "explanation": "How the score was computed, step by step (a JSON document)",
    "delta": "Points added to (or taken from) the composite",
    "due_date": "When it is due",
    # references: the id of another object
    "organization_id": "The organization's id",
    "employee_id": "The employee's id",
    "employee_ids": "The employees' ids",
    "cycle_id": "The cycle's id",
    "department_id": "The department's id",
    "position_id": "The position's id",
    "manager_id": "The manager's employee id",
    "parent_id": "The parent's id (null at the top)",
    "head_id": "The employee id of the department's head",
    "owner_id": "The owner's employee id",
    "objective_id": "The objective's id",
    "key_result_id": "The key result's id",
    "definition_id": "The KPI definition's id",
    "assignment_id": "The KPI assignment's id",
    "template_id": "The KPI template's id it was applied from (null when assigned by hand)",
    "evaluation_id": "The evaluation's id",
    "calibration_id": "The calibration session's id",
    "reviewer_id": "The reviewer's employee id",
    "interviewer_id": "The interviewer's employee id",
    "plan_id": "The incentive plan's id",
    "policy_id": "The scoring policy's id (null for the built-in defaults)",
    "policy_version": "The version of the scoring policy used",
    "result_id": "The incentive result's id",
    "result_ids": "The incentive results' ids",
    "adjusts_id": "The result this one corrects (null for an original)",
    "payroll_reference": "The result's reference in the payroll system, as payroll acknowledged it",
    "external_id": "The id in the system of record (HRIS), unique in the organization",
    "manager_external_id": "The manager's `external_id`: an employee already stored, or another row of the same call",
    "employee_external_id": "The employee's `external_id` (their id in the HRIS)",
    "kpi_code": "The KPI definition's `code`",
    # workflow stamps
    "submitted_at": "When it was submitted",
    "finalized_at": "When it was finalized",
    "finalized_by": "Who finalized it (user id)",
    "approved_at": "When it was approved",
    "approved_by": "Who approved it (user id)",
    "declined_at": "When it was declined",
    "declined_by": "Who declined it (user id)",
    "acknowledged_at": "When the employee acknowledged it",
    "acknowledged_by": "Who acknowledged it (user id)",
    "acknowledgement_comment": "The comment left with the acknowledgement",
    "decision_comment": "The comment left with the decision",
    "period_start": "The first day of the period it covers",
    "period_end": "The last day of the period it covers",
    "start_date": "The first day",
    "end_date": "The last day",
    # KPI measurements
    "measured_at": "The day the value is for",
    "source_key": "The sender's idempotency key, unique per assignment: re-sending it updates (or leaves "
    "unchanged) the same measurement",
    # bulk work
    "rows": "The rows to write, at least one; each is answered in `results` by its `index`",
    "created": "How many were created",
    "updated": "How many were updated",
    "unchanged": "How many were already as given (nothing was written)",
    "skipped": "How many were skipped",
    "count": "How many",
    # incentive plan parameters (SPEC section 8)
    "basis": "What the bonus multiplier follows: `rating` (the `multipliers` table) or `score` "
    "(min(final / 100, `multiplier_cap`))",
    "multipliers": 'The bonus multiplier of each rating (`{"S": "1.5", "A": "1.2"}`), for the `rating` basis; '
    "a rating not listed earns nothing",
    "multiplier_cap": "The largest multiplier the `score` basis gives (default 1.5)",
    "min_score": "Below this final score, 0 to 1000 points, the `score` basis gives 0 (default 0)",
    "pool_minor": "A budget in minor units the payments must fit in: when they add up to more, each is scaled "
    "down so they sum to it exactly; no pool when null",
    "amount_per_point_minor": "The reward, in minor units, for each KPI point above 100 on a rewardable KPI",
    "cap_per_employee_minor": "The most one employee can receive, in minor units; no cap when null",
    "min_objective_score": "The score, 0 to 1, an aspirational objective must reach for a nomination (default 0.7)",
    "ratings": "The ratings that qualify (default S and A)",
    "nomination_kind": "What the nomination is for: `promotion_track` or `training`",
    "earning_code": "The payroll earning code it is paid under",
    "eligibility": "Who may receive a result: statuses, tenure, departments and positions",
    "statuses": "The employee statuses that are eligible (default active and on_leave)",
    "min_tenure_days": "The days an employee must have been employed by the end of the period, hire date "
    "included (0: no minimum)",
    "include_departments": "Only employees of these departments (with their sub-departments); everyone when empty",
    "exclude_departments": "Not employees of these departments (with their sub-departments)",
    "include_positions": "Only employees in these positions; every position when empty",
    "exclude_positions": "Not employees in these positions",
}


def fill_descriptions(cls: type) -> None:
    """Give each field a class declares, and that has no description, the one of the
    same field in the models it names in `described_like` (a request model says what
    its answer model says: `EmployeeCreate` is described like `EmployeeRead`), else the
    glossary's.

    Runs from `__init_subclass__`, before Pydantic reads the class's fields (its
    `__pydantic_init_subclass__` comes after the schema is built, too late): a field's
    default becomes a `Field` with the description, merged with any `Field` already there
    or in its `Annotated` type."""
    from pydantic import Field
    from pydantic.fields import FieldInfo

    sources = getattr(cls, "described_like", ())
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if "ClassVar" in str(annotation):
            continue
        text = _described_in(sources, name) or FIELDS.get(name)
        if text is None:
            continue
        default = cls.__dict__.get(name, ...)
        if isinstance(default, FieldInfo):
            if default.description is None:
                setattr(cls, name, FieldInfo.merge_field_infos(default, description=text))
        elif default is ...:
            setattr(cls, name, Field(description=text))
        else:
            setattr(cls, name, Field(default, description=text))


def _described_in(sources: tuple[type, ...], name: str) -> str | None:
    """The description of the field `name` in the first of `sources` that has one."""
    for source in sources:
        field = getattr(source, "model_fields", {}).get(name)
        if field is not None and field.description:
            return str(field.description)
    return None
