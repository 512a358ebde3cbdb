"""REST routes of the briefs: thin, they call the builders. Each answers JSON, or Markdown
with `?format=markdown` (`text/markdown`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.briefs import markdown, people, quarterly, team
from service.briefs.schemas import BriefFormat, InterviewBrief, OneOnOneBrief, QuarterlyReviewBrief, TeamBrief
from service.evaluations import reviews
from service.evaluations.schemas import ReviewMeetingRead, SubjectKind
from service.kit.etag import IfMatchHeader, set_etag

router = APIRouter(prefix="/api/v1")
Format = Annotated[
    BriefFormat, Query(description="`json` (the default) or `markdown`: the same brief rendered as text/markdown")
]
From = Annotated[
    dt.date | None,
    Query(alias="from", description="First day of the period (included); default: seven days before `to`"),
]
To = Annotated[
    dt.date | None, Query(alias="to", description="Day after the period's last (excluded); default: tomorrow")
]
MARKDOWN: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/markdown": {"schema": {"type": "string"}}}, "description": "The brief"}
}
MEETING_KINDS = get_args(SubjectKind)


def _answer(brief: BaseModel, fmt: BriefFormat) -> Response:
    if fmt == "markdown":
        return Response(markdown.render(brief), media_type="text/markdown; charset=utf-8")  # type: ignore[arg-type]
    return Response(brief.model_dump_json(by_alias=True), media_type="application/json")


@router.get("/departments/{department_id}/team-brief", response_model=TeamBrief, responses=MARKDOWN, tags=["briefs"])
@governed_by(policy.read_team_brief)
async def department_team_brief(
    ctx: RequestCtx,
    department_id: uuid.UUID,
    start: From = None,
    end: To = None,
    since: Annotated[
        dt.date | None, Query(description="The previous meeting's day: confidence drops count from it (default: from)")
    ] = None,
    format: Format = "json",
) -> Response:
    """The team brief of a department's members for [from, to): key results off pace, with
    a confidence drop since `since` or an overdue check-in, KPIs below threshold, and the
    open actions of their review meetings; each with the reasons it is listed. Only what
    the caller may read elsewhere is listed."""
    return _answer(await team.department_brief(ctx, department_id, start, end, since), format)


@router.get(
    "/employees/{employee_id}/one-on-one-brief", response_model=OneOnOneBrief, responses=MARKDOWN, tags=["briefs"]
)
@governed_by(policy.read_person_brief)
async def one_on_one_brief(
    ctx: RequestCtx, employee_id: uuid.UUID, start: From = None, end: To = None, format: Format = "json"
) -> Response:
    """The brief of a one-on-one with the employee for [from, to): their objectives with
    the latest check-ins, the feedback they received, their open tasks."""
    return _answer(await people.one_on_one_brief(ctx, employee_id, start, end), format)


@router.get("/interviews/{interview_id}/brief", response_model=InterviewBrief, responses=MARKDOWN, tags=["briefs"])
@governed_by(policy.read_evaluation)
async def interview_brief(ctx: RequestCtx, interview_id: uuid.UUID, format: Format = "json") -> Response:
    """What both sides prepare for the interview: the score with its explanation, the
    evaluation and the self review, as the caller may see them."""
    return _answer(await people.interview_brief(ctx, interview_id), format)


@router.get(
    "/review-meetings/{meeting_id}/brief", response_model=QuarterlyReviewBrief, responses=MARKDOWN, tags=["briefs"]
)
@governed_by(policy.read_review_meeting)
async def review_meeting_brief(ctx: RequestCtx, meeting_id: uuid.UUID, format: Format = "json") -> Response:
    """The quarterly review brief of the meeting's scope and cycle: each objective's score
    and each KPI's actual and points against target, from the engine, and the previous
    review's improvement plan with each action's status."""
    m, _ = await reviews.get_meeting(ctx, meeting_id)
    return _answer(await quarterly.meeting_brief(ctx, m), format)


@router.post("/review-meetings/{meeting_id}/prefill", response_model=ReviewMeetingRead, tags=["briefs"])
@governed_by(policy.write_review_meeting, kind=MEETING_KINDS)
async def prefill_review_meeting(
    ctx: RequestCtx, meeting_id: uuid.UUID, if_match: IfMatchHeader, response: Response
) -> ReviewMeetingRead:
    """Fills the meeting's `result_data` and `gap` from the engine (its brief's objectives
    and KPIs, and the gap comparison), replacing what was there."""
    m = await reviews.prefill_meeting(ctx, meeting_id, if_match)
    set_etag(response, m.version)
    return reviews.meeting_read(m)
