"""Webhook payloads and their contract: every event type has its payload model and its
entry in the committed openapi/openapi.json `webhooks`; the outbox refuses anything but
the type's model; and each event, emitted and read back as a receiver gets it, matches the
documented schema. (Every event the other tests make a tenant emit is checked the same
way when the `tenant` fixture ends: tests/webhooks/contract.py.)"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from service.cycles.events import CycleStatusChanged
from service.db import database
from service.development.events import (
    DevelopmentPlanCreated,
    DevelopmentPlanItemStatusChanged,
    DevelopmentPlanStatusChanged,
)
from service.evaluations.events import (
    CalibrationFinalized,
    CalibrationFinalizedResult,
    EvaluationAcknowledged,
    EvaluationFinalized,
    InterviewAcknowledged,
    InterviewScheduled,
    ManagerReviewSubmitted,
    PeerFeedbackDeclined,
    PeerFeedbackRequested,
    PeerFeedbackSubmitted,
    SelfReviewSubmitted,
)
from service.incentives.events import IncentiveFinalized, NominationCreated, NominationDecided
from service.kit import events, outbox
from service.kit.events import EVENT_TYPES, EventPayload
from service.kit.models import OutboxEvent
from service.kpi.events import KpiMeasurementCreated
from service.meetings.events import ActionOverdue, MeetingHeld, MeetingScheduled
from service.okr.events import (
    CheckInCreated,
    ObjectiveAdjusted,
    ObjectiveApproved,
    ObjectiveClosed,
    ObjectivePublished,
    ObjectiveRejected,
    ObjectiveSubmitted,
)
from service.org.events import EmployeeUpserted
from service.scoring.events import ScoreAmended, ScoreAmendedPrevious, ScoreUpdated
from service.web.openapi_webhooks import operation_id
from service.webhooks.delivery import payload_body
from tests.conftest import Tenant
from tests.webhooks.contract import document, problems

HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature"}
AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _id() -> uuid.UUID:
    return uuid.uuid4()


def _objective() -> dict[str, Any]:
    return {
        "objective_id": _id(),
        "owner_id": _id(),
        "cycle_id": _id(),
        "level": "team",
        "type": "aspirational",
        "title": "Grow the online share",
        "actor": "u-lead",
    }


# One payload of every event type, as the domain code builds it (values of the right
# Python types: UUIDs, Decimals, aware datetimes).
SAMPLES: list[EventPayload] = [
    ObjectivePublished(**_objective(), status="published"),
    ObjectiveClosed(**_objective(), status="closed"),
    CheckInCreated(
        check_in_id=_id(),
        key_result_id=_id(),
        objective_id=_id(),
        owner_id=_id(),
        value=Decimal("42.50"),
        done=None,
        milestone=None,
        confidence=7,
        status="on_track",
        checked_in_at=AT,
        author="u-alice",
    ),
    KpiMeasurementCreated(count=1, created=1, updated=0, assignment_ids=[_id()], measurement_ids=[_id()]),
    ScoreUpdated(cycle_id=_id(), employee_ids=[_id(), _id()], count=2),
    ScoreAmended(
        cycle_id=_id(),
        employee_id=_id(),
        version=2,
        previous=ScoreAmendedPrevious(version=1, final="81.20", rating="B"),
        final="88.00",
        rating="A",
        amended_by="u-hr",
        correction_ids=[_id()],
    ),
    EvaluationFinalized(
        evaluation_id=_id(), employee_id=_id(), cycle_id=_id(), final_score=Decimal("77.5"), rating="B", actor="u"
    ),
    EvaluationAcknowledged(evaluation_id=_id(), employee_id=_id(), cycle_id=_id(), acknowledged_at=AT, actor="u"),
    CalibrationFinalized(
        calibration_id=_id(),
        cycle_id=_id(),
        count=1,
        results=[
            CalibrationFinalizedResult(
                employee_id=_id(), final="90.00", computed_rating="A", enforced_rating="B", rating="B"
            )
        ],
        actor="u-hr",
    ),
    IncentiveFinalized(plan_id=_id(), cycle_id=None, result_ids=[_id()], count=1, payroll_sequences=[17]),
    ObjectiveSubmitted(**_objective(), status="submitted"),
    ObjectiveApproved(**_objective(), status="approved"),
    ObjectiveRejected(**_objective(), status="draft", comment="Make the second key result measurable"),
    ObjectiveAdjusted(
        **_objective(),
        status="published",
        change="key_result.updated",
        changed_fields=["target"],
        key_result_id=_id(),
        reason="The market moved",
    ),
    PeerFeedbackRequested(
        request_id=_id(),
        evaluation_id=_id(),
        employee_id=_id(),
        cycle_id=_id(),
        status="requested",
        due_date=dt.date(2026, 3, 20),
    ),
    PeerFeedbackSubmitted(evaluation_id=_id(), employee_id=_id(), cycle_id=_id(), status="submitted", due_date=None),
    PeerFeedbackDeclined(evaluation_id=_id(), employee_id=_id(), cycle_id=_id(), status="declined", due_date=None),
    SelfReviewSubmitted(
        evaluation_id=_id(), employee_id=_id(), cycle_id=_id(), status="self_review", submitted_at=AT, actor="u"
    ),
    ManagerReviewSubmitted(
        evaluation_id=_id(), employee_id=_id(), cycle_id=_id(), status="manager_review", submitted_at=AT, actor="u"
    ),
    InterviewScheduled(
        interview_id=_id(),
        evaluation_id=_id(),
        employee_id=_id(),
        cycle_id=_id(),
        interviewer_id=_id(),
        scheduled_at=AT,
        actor="u-manager",
    ),
    InterviewAcknowledged(
        interview_id=_id(),
        evaluation_id=_id(),
        employee_id=_id(),
        cycle_id=_id(),
        interviewer_id=None,
        scheduled_at=None,
        actor="u-alice",
        acknowledged_at=AT,
    ),
    NominationCreated(
        nomination_id=_id(),
        plan_id=_id(),
        cycle_id=_id(),
        employee_id=_id(),
        nomination_kind="promotion_track",
        cycles_counted=2,
        window_cycle_ids=[_id(), _id()],
    ),
    NominationDecided(
        nomination_id=_id(),
        plan_id=_id(),
        cycle_id=_id(),
        employee_id=_id(),
        nomination_kind="training",
        kind="training",
        decision="approve",
        status="approved",
        actor="u-hr",
    ),
    CycleStatusChanged(
        cycle_id=_id(),
        name="2026 Q1",
        parent_id=None,
        from_status="active",
        to_status="review",
        reason=None,
        actor="u-hr",
    ),
    DevelopmentPlanCreated(
        plan_id=_id(),
        employee_id=_id(),
        owner_id=_id(),
        cycle_id=_id(),
        nomination_id=_id(),
        review_meeting_id=None,
        status="active",
        actor="u-manager",
    ),
    DevelopmentPlanStatusChanged(
        plan_id=_id(), employee_id=_id(), old_status="draft", new_status="active", actor="u-manager"
    ),
    MeetingScheduled(
        meeting_id=_id(),
        kind="one_on_one",
        starts_at=dt.datetime(2027, 1, 4, 8, 0, tzinfo=dt.UTC),
        rrule="FREQ=WEEKLY;BYDAY=MO",
        attendee_ids=[_id(), _id()],
        actor="u-manager",
    ),
    MeetingHeld(
        meeting_id=_id(), kind="standup", occurrence_start=dt.datetime(2027, 1, 5, 8, 0, tzinfo=dt.UTC), actor="u-lead"
    ),
    ActionOverdue(
        source="meeting_action",
        action_id=_id(),
        meeting_id=_id(),
        review_meeting_id=None,
        action_index=None,
        owner_id=_id(),
        due_date=dt.date(2027, 1, 8),
    ),
    ActionOverdue(
        source="improvement_action",
        action_id=None,
        meeting_id=None,
        review_meeting_id=_id(),
        action_index=1,
        owner_id=_id(),
        due_date=dt.date(2027, 1, 8),
    ),
    DevelopmentPlanItemStatusChanged(
        plan_id=_id(), item_id=_id(), employee_id=_id(), old_status="open", new_status="done", actor="u-alice"
    ),
    EmployeeUpserted(employee_ids=[_id()], created=0, updated=1, source="scim"),
]


def test_every_event_type_has_a_model_a_sample_and_a_webhook(app: Any):
    app.openapi()
    assert set(events.registered()) == EVENT_TYPES
    assert {s.event_type for s in SAMPLES} == EVENT_TYPES
    doc = document()
    assert set(doc["webhooks"]) == EVENT_TYPES
    route_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    hook_ids = [item["post"]["operationId"] for item in doc["webhooks"].values()]
    assert len(set(route_ids + hook_ids)) == len(route_ids) + len(hook_ids)
    for event_type, item in doc["webhooks"].items():
        operation = item["post"]
        assert operation["operationId"] == operation_id(event_type) == "on_" + event_type.replace(".", "_")
        assert operation["tags"] == ["webhooks"] and operation["summary"] and operation["description"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header" and p["required"]}
        assert headers == HEADERS and all(p["description"] for p in operation["parameters"])
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/" + events.envelope_model(event_type).__name__}
        assert "2XX" in operation["responses"]
    assert doc["webhooks"]["objective.published"]["post"]["operationId"] == "on_objective_published"
    assert "ObjectivePublishedEvent" in doc["components"]["schemas"]


def _reachable(doc: dict[str, Any], name: str, seen: set[str]) -> None:
    if name in seen:
        return
    seen.add(name)
    for ref in _refs(doc["components"]["schemas"][name]):
        _reachable(doc, ref, seen)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_field_of_every_payload_is_typed_and_described():
    doc = document()
    names: set[str] = set()
    for item in doc["webhooks"].values():
        _reachable(doc, _refs(item["post"]["requestBody"])[0], names)
    undescribed = [
        f"{name}.{prop}"
        for name in names
        for prop, sub in doc["components"]["schemas"][name].get("properties", {}).items()
        if not sub.get("description") or not ({"type", "$ref", "anyOf", "const"} & set(sub))
    ]
    assert undescribed == []
    assert {"ObjectivePublished", "ScoreAmendedPrevious", "CalibrationFinalizedResult"} <= names


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.event_type)
async def test_an_emitted_event_matches_its_documented_schema(tenant: Tenant, sample: EventPayload):
    async with database.sessions() as session:
        event_id = await outbox.emit(session, tenant.org_id, sample.event_type, sample)
        await session.commit()
    async with database.sessions() as session:
        row = await session.get(OutboxEvent, (tenant.org_id, event_id))
    assert row is not None and row.payload == json.loads(sample.model_dump_json(exclude_unset=True))
    assert problems(row.event_type, row.created_at, row.payload) == []
    body = payload_body(row.event_type, row.created_at, row.payload)
    envelope = events.envelope_model(sample.event_type).model_validate_json(body)
    assert envelope.data == sample


def test_the_stored_json_keeps_its_formats():
    checked_in, amended, upserted, bulk = (
        SAMPLES[2].dump(),
        SAMPLES[5].dump(),
        EmployeeUpserted(employee_ids=[], created=0, updated=0).dump(),
        KpiMeasurementCreated(count=2, created=2, updated=0, assignment_ids=[]).dump(),
    )
    assert checked_in["value"] == "42.50" and checked_in["checked_in_at"] == "2026-03-02T09:30:00+00:00"
    assert amended["previous"] == {"version": 1, "final": "81.20", "rating": "B"}
    assert "source" not in upserted and "measurement_ids" not in bulk  # absent unless set, as before
    assert SAMPLES[-1].dump()["source"] == "scim"


def test_a_drifting_payload_fails_the_contract():
    good = SAMPLES[4].dump()
    assert problems("score.updated", AT, good) == []
    assert problems("score.updated", AT, {k: v for k, v in good.items() if k != "count"})
    assert problems("score.updated", AT, {**good, "count": "2"})
    assert problems("score.updated", AT, {**good, "final": "87.50"})  # a key the model does not have
    assert problems("employee.upserted", AT, good)


async def test_the_outbox_refuses_what_is_not_the_types_model(tenant: Tenant):
    async with database.sessions() as session:
        with pytest.raises(TypeError, match="must be a ScoreUpdated"):
            await outbox.emit(session, tenant.org_id, "score.updated", {"cycle_id": str(_id())})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="must be a ScoreUpdated"):
            await outbox.emit(session, tenant.org_id, "score.updated", SAMPLES[-1])
        with pytest.raises(LookupError, match="unknown event type"):
            await outbox.emit(session, tenant.org_id, "score.deleted", SAMPLES[4])
        await session.commit()
        rows = (await session.execute(select(OutboxEvent).where(OutboxEvent.org_id == tenant.org_id))).all()
    assert rows == []
    with pytest.raises(ValidationError):
        ScoreUpdated(cycle_id=_id(), employee_ids=["not-a-uuid"], count=1)
    with pytest.raises(ValidationError):
        ScoreUpdated(cycle_id=_id(), employee_ids=[], count=0, extra="no")


def test_a_second_model_or_an_unknown_type_is_refused_when_defined():
    with pytest.raises(ValueError, match="already has its payload model"):

        class Another(EventPayload):
            event_type: ClassVar[str] = "score.updated"

    with pytest.raises(ValueError, match="unknown event type"):

        class Unknown(EventPayload):
            event_type: ClassVar[str] = "score.deleted"

    assert events.payload_model("score.updated") is ScoreUpdated
