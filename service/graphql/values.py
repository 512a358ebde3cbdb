"""What each enum value means: GraphQL documents every value of its enums (REST's
`Literal` sets document the set, not each value). A value's text is looked up first
under its enum's name, then by the value alone where the word means the same thing in
every set (`finalized`, `draft`); `tests/test_graphql_conventions.py` fails on a value
left without one."""

from __future__ import annotations

# The same word, the same meaning, in every enum that has it.
VALUES: dict[str, str] = {
    "draft": "Being written; not in effect yet",
    "submitted": "Submitted, waiting for the next step",
    "approved": "Approved, not final yet",
    "finalized": "Final: locked, changed only by an amendment or an adjustment",
    "declined": "Declined",
    "closed": "Closed: read-only",
    "active": "Active",
    "open": "Open: still changing",
    "on_track": "On track to reach the target",
    "at_risk": "At risk of missing the target",
    "off_track": "Off track: the target will likely be missed",
    "acknowledged": "Acknowledged by the employee",
    "review": "In review",
    "approve": "Approve",
    "decline": "Decline",
    "finalize": "Finalize (after approval)",
    "error": "An error",
    "unchanged": "Nothing changed",
    "organization": "The whole organization",
    "department": "A department",
    "position": "A position",
    "employee": "An employee",
    "objective": "An objective",
    "cycle": "A cycle",
    "evaluation": "An evaluation",
    "calibration": "Calibration",
    "advisory": "Reported: each band's actual count beside the allowed one, nothing moved",
    "enforced": "Applied at finalization, as the calibration session's distribution mode says",
    "annual": "A year",
    "semiannual": "Half a year",
    "quarterly": "A quarter",
    "bimonthly": "Two months",
    "8_weeks": "Eight weeks",
    "6_weeks": "Six weeks",
    "monthly": "A month",
    "custom": "Any length, by its dates",
}

# Per enum, where a word means something of its own.
ENUM_VALUES: dict[str, dict[str, str]] = {
    "KpiProration": {
        "none": "Targets stand as assigned, whatever the days present",
        "prorate_target": "Summed KPIs' targets scale by days present over days in the assignment's cycle",
        "exclude": "No KPI component for a person not present the whole cycle; the other components re-weight",
    },
    "TaskKind": {
        "objective_approval": "A submitted objective waits for the caller's approval",
        "peer_feedback": "Peer feedback was asked of the caller",
        "self_review": "The caller's self review is due",
        "manager_review": "A direct report's manager review is due",
        "interview_acknowledgement": "An interview outcome waits for the caller's acknowledgement",
        "calibration": "An open calibration session waits for hr or admin",
        "check_in_overdue": "A key result the caller owns is owed a check-in",
        "development_item": "An item of an active development plan of the caller's (or that they own) is due soon",
        "meeting_action": "A follow-up action of a meeting the caller owns is still open",
        "improvement_action": "Actions of a review meeting's improvement plan the caller owns are not done",
    },
    "TaskSubjectKind": {
        "peer_request": "A peer feedback request",
        "development_plan_item": "An item of a development plan",
        "meeting_action": "A follow-up action decided in a meeting",
        "review_meeting": "A review meeting (its improvement plan)",
        "interview": "An interview",
        "key_result": "A key result",
    },
    "BulkRowOutcome": {
        "created": "A new employee was created",
        "updated": "The employee with this `externalId` was changed",
        "unchanged": "The employee with this `externalId` already had these values",
        "error": "The row was refused (see `errors`); nothing was written for it",
    },
    "CycleStatus": {
        "planning": "Being planned: objectives and KPIs are set",
        "active": "Running: check-ins and measurements are recorded",
        "review": "Reviews are written",
        "calibration": "Calibration sessions adjust scores; the policy versions in use are pinned",
        "closed": "Closed: read-only, scores are of record",
    },
    "PolicyScopeKind": {
        "level": "Every position of one level (the policy's `scopeLevel`)",
    },
    "DistributionEnforcement": {
        "enforce": "Every member gets the band of their rank: a rating can go up or down",
        "cap": "Every member gets the worse of their own rating and their rank's band: never raised",
    },
    "EmployeeStatus": {
        "active": "Employed and working",
        "on_leave": "Employed, on leave",
        "terminated": "No longer employed",
    },
    "EvaluationStatus": {
        "not_started": "Nothing written yet",
        "self_review": "Waiting for the employee's self review",
        "manager_review": "Waiting for the manager's review",
        "calibrated": "Calibrated: the score is settled, waiting for finalization",
        "finalized": "Final: the result is of record",
        "acknowledged": "The employee acknowledged the result",
    },
    "DevelopmentPlanStatus": {
        "draft": "Being prepared: nothing is due yet",
        "active": "Followed: its items are due",
        "completed": "Completed",
        "cancelled": "Cancelled",
    },
    "DevelopmentItemKind": {
        "training": "A training course or programme",
        "goal": "A goal to reach",
        "action": "An action to take (one copied from a review meeting's improvement plan, for instance)",
        "mentoring": "Mentoring or coaching",
    },
    "DevelopmentItemStatus": {
        "open": "Not started",
        "in_progress": "Under way",
        "done": "Done",
        "cancelled": "Dropped",
    },
    "MeetingKind": {
        "standup": "A daily stand-up of a team",
        "weekly": "A weekly team meeting",
        "one_on_one": "A one-on-one of a manager and their direct report",
        "quarterly_review": "A quarterly review (its record is a review meeting)",
    },
    "MeetingStatus": {
        "scheduled": "On: its occurrences take place",
        "cancelled": "Cancelled: the whole series is off",
    },
    "OccurrenceStatus": {
        "scheduled": "Nothing recorded yet",
        "held": "Held, with its notes and decisions",
        "cancelled": "Cancelled (the calendar feed leaves it out)",
    },
    "MeetingActionStatus": {
        "open": "To do: on its owner's task list",
        "done": "Done",
        "cancelled": "Dropped",
    },
    "ImprovementActionStatus": {
        "open": "Not started",
        "in_progress": "Under way",
        "done": "Done",
    },
    "IncentiveAction": {
        "approve": "Approved the drafts",
        "finalize": "Finalized the approved results",
        "decline": "Declined",
    },
    "BonusBasis": {
        "rating": "The multiplier of the employee's rating in the plan's table",
        "score": "The final score / 100, capped, and 0 below the plan's minimum score",
        "kpi_points": "The multiplier of the plan's KPI band the KPI component's points fall in",
    },
    "IncentivePlanKind": {
        "short_term_bonus": "A bonus from the target bonus, the final score and the rating's multiplier",
        "kpi_excess_reward": "A reward for exceeding rewardable KPIs",
        "okr_breakthrough": "Nominations (promotion track, training) for breakthrough OKR results",
    },
    "IncentiveResultKind": {
        "payment": "An amount to pay",
        "nomination": "A nomination, without an amount",
        "adjustment": "A correction of a finalized payment",
    },
    "IncentiveResultStatus": {
        "draft": "Computed by a run; a new run replaces it",
        "approved": "Approved; waiting for finalization",
        "finalized": "Final: sent to payroll; corrected only by an adjustment",
        "declined": "Declined: nothing is paid",
    },
    "InterviewStatus": {
        "planned": "Scheduled, not held yet",
        "held": "Held; waiting for the employee's acknowledgement",
        "acknowledged": "The employee acknowledged the outcome",
    },
    "KeyResultDirection": {
        "increase": "The target is above the start",
        "decrease": "The target is below the start",
    },
    "KeyResultKind": {
        "metric": "A number from start to target",
        "boolean": "Done or not",
        "milestone": "A list of weighted steps",
    },
    "KpiAggregation": {
        "sum": "The sum of the cycle's measurements",
        "avg": "Their mean",
        "last": "The latest one",
        "min": "The smallest",
        "max": "The largest",
    },
    "KpiDirection": {
        "higher_is_better": "Higher is better",
        "lower_is_better": "Lower is better",
        "target_range": "Best inside a range",
    },
    "KpiMethod": {
        "banded": "Threshold, target and optional stretch points, linear between",
        "ratio": "Points in proportion to actual over target",
        "range": "Full points inside the range, falling to 0 over the tolerance",
        "binary": "Full points when the target is met, else 0",
    },
    "LintSeverity": {
        "error": "Blocks submission",
        "warning": "Advice; does not block",
    },
    "NominationDecision": {
        "approve": "Approve the nomination",
        "decline": "Decline the nomination",
        "finalize": "Finalize an approved nomination",
    },
    "NominationKind": {
        "promotion_track": "A place on the promotion track",
        "training": "A training programme",
    },
    "ObjectiveLevel": {
        "company": "The company's",
        "department": "A department's",
        "team": "A team's",
        "individual": "One person's",
    },
    "ObjectiveStatus": {
        "draft": "Being written by its owner",
        "submitted": "Waiting for approval",
        "approved": "Approved, not published yet",
        "published": "In effect: check-ins count",
        "closed": "Closed: graded, read-only",
    },
    "ObjectiveType": {
        "committed": "Expected in full",
        "aspirational": "A stretch: 0.7 is success",
    },
    "ObjectiveVisibility": {
        "public": "The whole organization sees it",
        "private": "The owner, their managers and hr see it",
    },
    "PeerRequestStatus": {
        "requested": "Waiting for the reviewer",
        "submitted": "The reviewer answered",
        "declined": "The reviewer declined",
    },
    "Perspective": {
        "financial": "Financial",
        "customer": "Customer",
        "internal_process": "Internal process",
        "learning_growth": "Learning and growth",
    },
    "ProgressSource": {
        "key_results": "From its own key results (a key result measured by a child: that child's rolled-up progress)",
        "children": "From its child objectives, weighted by their weight",
        "both": "Its key results and its child objectives as peers, one weighted mean",
    },
    "StrategyPerspective": {
        "financial": "Financial",
        "customer": "Customer",
        "internal_process": "Internal process",
        "learning_growth": "Learning and growth",
        "unassigned": "No perspective set",
    },
    "ScoreCorrectionAction": {
        "adjustment_created": "A draft correction of a paid result",
        "payment_created": "A new draft payment",
        "unchanged": "The amount did not change",
        "not_finalized": "The result is not paid yet: run the plan again",
        "review": "A nomination or a pool share that people decide",
    },
    "ScoreJobStatus": {
        "queued": "Waiting to start",
        "running": "Running",
        "succeeded": "Finished",
        "failed": "Failed (see `error`)",
    },
    "ScoreStatus": {
        "scored": "A score could be computed",
        "insufficient_data": "Not enough data for a score",
    },
    "ScoreVersionSource": {
        "calibration": "The calibration's finalization",
        "cycle_closed": "The cycle's closing",
        "amendment": "An amendment",
    },
}


def value_description(enum_name: str, value: str) -> str | None:
    return ENUM_VALUES.get(enum_name, {}).get(value) or VALUES.get(value)
