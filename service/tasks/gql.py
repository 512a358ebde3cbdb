"""GraphQL adapter of the task list: `Employee.tasks` (service/org/gql.py) answers the
caller's tasks on the caller's own employee (`me { tasks }`) and null on anyone else.
Thin: the same service as REST; only the subject's global id is added here."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from service.graphql.common import Connection, Context, described, edges_of, enum_field, enum_type, page_params
from service.graphql.nodes import global_id
from service.tasks import schemas as rest
from service.tasks import service as svc
from service.tasks.schemas import TaskKind, TaskSubjectKind

TaskKindEnum = enum_type("TaskKind", TaskKind, "What a task asks of the caller")
TaskSubjectKindEnum = enum_type("TaskSubjectKind", TaskSubjectKind, "The kind of object a task is about")

# the GraphQL type of each subject kind (its global ids name it)
NODE_TYPES = {
    "objective": "Objective",
    "peer_request": "PeerRequest",
    "evaluation": "Evaluation",
    "interview": "Interview",
    "calibration": "Calibration",
    "key_result": "KeyResult",
    "development_plan_item": "DevelopmentPlanItem",
    "meeting_action": "MeetingAction",
    "review_meeting": "ReviewMeeting",
}


@described(rest.TaskSubject)
@strawberry.type(name="TaskSubject")
class TaskSubjectType:
    kind: str = enum_field(TaskSubjectKindEnum)
    subject_id: uuid.UUID = strawberry.field(description="the object's id in REST (as `kind` says)")


@described(rest.TaskLinks)
@strawberry.type(name="TaskLinks")
class TaskLinksType:
    rest: str = strawberry.field(
        description='the REST call that acts on the task, e.g. "POST /api/v1/objectives/{id}/approve"'
    )
    node_id: strawberry.ID = strawberry.field(description="the subject's global id: read it with `node(id:)`")


@described(rest.TaskRead)
@strawberry.type(name="Task", description="Something waiting for the caller, with the call that acts on it")
class TaskType:
    kind: str = enum_field(TaskKindEnum)
    subject: TaskSubjectType
    title: str
    due: dt.date | None = strawberry.field(description="when it is due (the organization's days); null when unset")
    cycle_id: uuid.UUID | None
    links: TaskLinksType

    @staticmethod
    def of(t: svc.Task) -> TaskType:
        return TaskType(
            kind=t.kind,
            subject=TaskSubjectType(kind=t.subject_kind, subject_id=t.subject_id),
            title=t.title,
            due=t.due,
            cycle_id=t.cycle_id,
            links=TaskLinksType(
                rest=t.action, node_id=strawberry.ID(global_id(NODE_TYPES[t.subject_kind], t.subject_id))
            ),
        )


TASKS_DESCRIPTION = (
    "Work waiting for this employee (approvals, peer feedback, reviews due, interview outcomes to acknowledge, "
    "calibrations, overdue check-ins), ordered by due date (none last), kind and subject: answered on the "
    "caller's own employee (`me { tasks }`), null on anyone else's. REST: GET /api/v1/me/tasks"
)


async def employee_tasks(
    info: Context, employee_id: uuid.UUID, first: int | None, after: str | None
) -> Connection[TaskType] | None:
    ctx = info.context.ctx
    if ctx.principal.is_client or ctx.principal.employee_id != employee_id:
        return None
    params = page_params(first, after)
    page = await svc.my_tasks(ctx, params)
    return edges_of(
        range(len(page.items)),
        page.next_cursor is not None,
        after,
        page.cursor_at,
        lambda i: TaskType.of(page.items[i]),
    )
