"""GraphQL adapter of the briefs: the same builders as REST (service/briefs/api.py), each
answering a `Brief`: its kind, the document REST answers (JSON, keys as in REST) and the
same brief in Markdown. Thin: no rule lives here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from pydantic import BaseModel

from service.briefs import markdown, people, quarterly, team
from service.evaluations import reviews
from service.evaluations.gql_types import InterviewType, ReviewMeetingType
from service.graphql.common import JSON, Context, described
from service.graphql.nodes import ref
from service.kit.etag import IfMatch
from service.org.gql import DepartmentType, EmployeeType

FROM = strawberry.argument(
    name="from", description="First day of the period (included); default: seven days before `to`"
)
TO = strawberry.argument(name="to", description="Day after the period's last (excluded); default: tomorrow")


@strawberry.type(name="Brief", description="A meeting brief built from the data (docs/briefs.md)")
class BriefType:
    kind: str = strawberry.field(
        description="What was briefed: team, one_on_one, quarterly_review or interview; for a meeting's brief, "
        "the meeting's kind (standup, weekly, one_on_one or quarterly_review)"
    )
    document: JSON = strawberry.field(
        description="The brief as REST answers it (keys as in REST): every listed item with the reasons it is listed"
    )
    markdown: str = strawberry.field(description="The same brief rendered as Markdown")

    @staticmethod
    def of(brief: BaseModel) -> BriefType:
        return BriefType(
            kind=brief.kind,  # type: ignore[attr-defined]  # every brief model has its kind
            document=JSON(brief.model_dump(mode="json", by_alias=True)),
            markdown=markdown.render(brief),  # type: ignore[arg-type]
        )


@described()
@strawberry.type
class BriefQuery:
    @strawberry.field(
        description="The team brief of a department's members over [from, to): key results off pace, with a "
        "confidence drop since `since` or an overdue check-in, KPIs below threshold, open actions. REST: GET "
        "/api/v1/departments/{id}/team-brief"
    )
    async def team_brief(
        self,
        info: Context,
        department_id: strawberry.ID,
        start: Annotated[dt.date | None, FROM] = None,
        end: Annotated[dt.date | None, TO] = None,
        since: Annotated[
            dt.date | None, strawberry.argument(description="The previous meeting's day (default: `from`)")
        ] = None,
    ) -> BriefType:
        ctx = info.context.ctx
        department = ref(department_id, DepartmentType, loc=["departmentId"])
        return BriefType.of(await team.department_brief(ctx, department, start, end, since))

    @strawberry.field(
        description="The brief of a one-on-one with an employee over [from, to): objectives with the latest "
        "check-ins, feedback received, open tasks. REST: GET /api/v1/employees/{id}/one-on-one-brief"
    )
    async def one_on_one_brief(
        self,
        info: Context,
        employee_id: strawberry.ID,
        start: Annotated[dt.date | None, FROM] = None,
        end: Annotated[dt.date | None, TO] = None,
    ) -> BriefType:
        employee = ref(employee_id, EmployeeType, loc=["employeeId"])
        return BriefType.of(await people.one_on_one_brief(info.context.ctx, employee, start, end))

    @strawberry.field(
        description="What both sides prepare for a performance interview: score with explanation, evaluation, "
        "self review. REST: GET /api/v1/interviews/{id}/brief"
    )
    async def interview_brief(
        self,
        info: Context,
        interview_id: Annotated[strawberry.ID, strawberry.argument(description="The interview")],
    ) -> BriefType:
        interview = ref(interview_id, InterviewType, loc=["interviewId"])
        return BriefType.of(await people.interview_brief(info.context.ctx, interview))

    @strawberry.field(
        description="The quarterly review brief of a review meeting: result data and gap to target per objective "
        "and KPI from the engine, and the previous review's improvement plan. REST: GET "
        "/api/v1/review-meetings/{id}/brief"
    )
    async def review_meeting_brief(
        self,
        info: Context,
        review_meeting_id: Annotated[strawberry.ID, strawberry.argument(description="The review meeting")],
    ) -> BriefType:
        ctx = info.context.ctx
        m, _ = await reviews.get_meeting(ctx, ref(review_meeting_id, ReviewMeetingType, loc=["reviewMeetingId"]))
        return BriefType.of(await quarterly.meeting_brief(ctx, m))


@described()
@strawberry.type
class BriefMutation:
    @strawberry.mutation(
        description="Fills a review meeting's `resultData` and `gap` from the engine (its quarterly review brief)"
    )
    async def prefill_review_meeting(
        self, info: Context, id: strawberry.ID, expected_version: int | None = None
    ) -> ReviewMeetingType:
        row = await reviews.prefill_meeting(info.context.ctx, ref(id, ReviewMeetingType), IfMatch.of(expected_version))
        return ReviewMeetingType.of(row)
