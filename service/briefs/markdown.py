"""The briefs rendered as Markdown (`?format=markdown`): the same items and reasons as
the JSON, as headed lists a meeting can read from a screen or paste into its notes.
Text written by people (titles, notes, comments) is escaped so it cannot inject markup."""

from __future__ import annotations

import re
from typing import Any

from service.briefs.schemas import (
    InterviewBrief,
    OneOnOneBrief,
    QuarterlyReviewBrief,
    Reason,
    TeamBrief,
)

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>])")
Brief = TeamBrief | OneOnOneBrief | QuarterlyReviewBrief | InterviewBrief


def esc(text: Any) -> str:
    """Markdown-escaped text on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _reason(r: Reason) -> str:
    figures = ", ".join(f"{k} {v}" for k, v in r.figures.items() if v is not None)
    return f"{r.code} ({esc(figures)})" if figures else r.code


def _reasons(rs: list[Reason]) -> str:
    return "; ".join(_reason(r) for r in rs)


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"## {title}", "", *(lines or ["_Nothing to discuss._"]), ""]


def team_markdown(b: TeamBrief) -> str:
    head = [f"# Team brief, {b.period.start} to {b.period.end}", "", f"Since {b.since}; as of {b.as_of}.", ""]
    krs = [
        f"- **{esc(k.title)}** ({esc(k.objective_title)}): progress {k.progress}, {k.pace}: {_reasons(k.reasons)}"
        for k in b.key_results
    ]
    kpis = [f"- **{esc(k.kpi_name)}** ({k.kpi_code}), employee {k.employee_id}: {_reasons(k.reasons)}" for k in b.kpis]
    actions = [f"- {esc(a.title)} (owner {a.owner_id}): {_reasons(a.reasons)}" for a in b.actions]
    return "\n".join(
        head + _section("Key results", krs) + _section("KPIs below threshold", kpis) + _section("Open actions", actions)
    )


def one_on_one_markdown(b: OneOnOneBrief) -> str:
    out = [
        f"# One-on-one brief, {b.period.start} to {b.period.end}",
        "",
        f"Employee {b.employee_id}; as of {b.as_of}.",
        "",
    ]
    objectives: list[str] = []
    for o in b.objectives:
        objectives.append(f"- **{esc(o.title)}** ({o.status}): score {o.score}, progress {o.progress}, {o.pace}")
        for k in o.key_results:
            last = k.last_check_in
            said = (
                f"last check-in {last.checked_in_at:%Y-%m-%d}, confidence {last.confidence}"
                + (f": {esc(last.note)}" if last.note else "")
                if last
                else "no check-in"
            )
            objectives.append(f"  - {esc(k.title)}: progress {k.progress}, {k.pace}; {said}")
    feedback = []
    for f in b.feedback:
        s = f.summary
        if not s.available:
            feedback.append(f"- Evaluation {f.evaluation_id}: not shown until {s.min_reviewers} reviewers answered")
            continue
        feedback.append(f"- Evaluation {f.evaluation_id}: {s.answered} answers, mean rating {s.mean_rating}")
        feedback.extend(f"  - {esc(c)}" for c in s.comments)
    tasks = [f"- {esc(t.title)}" + (f" (due {t.due})" if t.due else "") for t in b.tasks]
    return "\n".join(
        out
        + _section("Objectives", objectives)
        + _section("Feedback received", feedback)
        + _section("Open tasks", tasks)
    )


def gap_markdown(b: QuarterlyReviewBrief) -> str:
    """The gap comparison: each objective's score against 1 and each KPI's actual against
    its target, with the attainment points."""
    lines = [f"- Objective **{esc(o.title)}**: score {o.score} of {o.target}, gap {o.gap}" for o in b.objectives]
    lines += [
        f"- KPI **{k.kpi_code}** (employee {k.employee_id}): actual {k.actual} against target {k.target}, gap {k.gap}; "
        f"{k.points} of {k.target_points} points"
        for k in b.kpis
    ]
    return "\n".join(lines) if lines else "No objective or KPI in scope."


def quarterly_markdown(b: QuarterlyReviewBrief) -> str:
    out = [f"# Quarterly review brief, cycle {b.cycle_id}", "", f"Scope: {b.scope.kind}; as of {b.as_of}.", ""]
    out += ["## Result data and gap to target", "", gap_markdown(b), ""]
    plan = []
    if b.previous_review is not None:
        for a in b.previous_review.improvement_plan:
            plan.append(
                f"- {esc(a.action)} (owner {a.owner_id}, due {a.due_date}): {a.status}"
                + (", overdue" if a.overdue else "")
            )
    return "\n".join(out + _section("Last review's improvement plan", plan))


def interview_markdown(b: InterviewBrief) -> str:
    i, e = b.interview, b.evaluation
    out = [
        f"# Interview brief, employee {i.employee_id}",
        "",
        f"Scheduled {i.scheduled_at}; evaluation {e.status}.",
        "",
    ]
    if i.plan:
        out += ["## Plan", "", esc(i.plan), ""]
    score = []
    if b.score is not None:
        score.append(f"- Final {b.score.final}, rating {b.score.rating}")
        score += [f"- {esc(k)}: {esc(v)}" for k, v in (b.score.components or {}).items()]
    self_review = [f"- Rating {b.self_review.rating}: {esc(b.self_review.comments or '')}"] if b.self_review else []
    manager = (
        [f"- Rating {b.manager_review.rating}: {esc(b.manager_review.comments or '')}"] if b.manager_review else []
    )
    return "\n".join(
        out + _section("Score", score) + _section("Self review", self_review) + _section("Manager review", manager)
    )


def render(brief: Brief) -> str:
    if isinstance(brief, TeamBrief):
        return team_markdown(brief)
    if isinstance(brief, OneOnOneBrief):
        return one_on_one_markdown(brief)
    if isinstance(brief, QuarterlyReviewBrief):
        return quarterly_markdown(brief)
    return interview_markdown(brief)
