"""A calibration session's `distribution_mode`: `enforce` (the default, SPEC Appendix A's
re-rating by rank, which can raise a rating) or `cap` (only lowers members above the
band shares, never raises anyone), stored on the session, shown in its distribution,
tried in a simulation without saving, and applied at finalization (scores, evaluations,
the `calibration.finalized` event), over REST and GraphQL."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import Tenant
from tests.evaluations.conftest import get, outbox_events, transition
from tests.evaluations.test_calibration import (
    ENFORCED,
    FINALS,
    GUIDELINE,
    C,
    adjust,
    eval_only_policy,
    member,
    session,
    ten_reviewed,
)
from tests.evaluations.test_graphql import gql, ok
from tests.kpi.conftest import make_cycle

COMPUTED = ["S", "A", "A", "A", "B", "B", "B", "C", "C", "D"]
CAPPED = ["S", "A", "A", "B", "B", "B", "B", "C", "C", "D"]  # 96 lowered to B; 79 and 55 not raised


async def appendix_a_session(t: Tenant, finals: list[str] | None = FINALS, **body) -> tuple[dict, dict, list[str]]:
    """Ten members calibrated to `finals` (None: all left at 100) under the Appendix A guideline."""
    await eval_only_policy(t, GUIDELINE)
    cycle = await make_cycle(t, status="review")
    people = await ten_reviewed(t, cycle)
    await transition(t, cycle, "calibration")
    cal = await session(t, cycle, employee_ids=people, **body)
    for emp, final in zip(people, finals or [], strict=False):
        await adjust(t, cal, emp, str(Decimal(final) - 100), reason=f"Calibrated to {final}")
    return cycle, cal, people


async def test_cap_mode_never_raises_at_finalization(team: Tenant):
    t = team
    cycle, cal, people = await appendix_a_session(t, distribution_mode="cap")
    assert cal["distribution_mode"] == "cap"
    report = await get(t, f"{C}/{cal['id']}/distribution")
    assert report["distribution_mode"] == "cap"
    assert [member(report, e)["rating"] for e in people] == COMPUTED
    assert [member(report, e)["enforced_rating"] for e in people] == CAPPED
    # the same session tried in the other mode: Appendix A's ratings, nothing saved
    sim = await t.client.post(f"{C}/{cal['id']}/simulate", headers=t.hr, json={"distribution_mode": "enforce"})
    assert sim.status_code == 200, sim.text
    assert sim.json()["distribution_mode"] == "enforce" and sim.json()["simulated"] is True
    assert [member(sim.json(), e)["enforced_rating"] for e in people] == ENFORCED
    assert (await get(t, f"{C}/{cal['id']}"))["distribution_mode"] == "cap"

    final = await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)
    assert final.status_code == 200, final.text
    for emp, computed, capped in zip(people, COMPUTED, CAPPED, strict=True):
        score = await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{emp}")
        assert score["rating"] == capped
        assert score["explanation"]["computed_rating"] == computed
    [event] = await outbox_events(t, "calibration.finalized")
    assert [r["rating"] for r in event["results"]] == CAPPED
    after = await get(t, f"{C}/{cal['id']}/distribution")
    assert after["distribution_mode"] == "cap"
    assert [member(after, e)["enforced_rating"] for e in people] == CAPPED
    # a finalized session's mode is fixed: a simulation asking for another one shows the stored result
    sim = await t.client.post(f"{C}/{cal['id']}/simulate", headers=t.hr, json={"distribution_mode": "enforce"})
    assert sim.json()["distribution_mode"] == "cap"
    assert [member(sim.json(), e)["enforced_rating"] for e in people] == CAPPED


async def test_enforce_is_the_default(team: Tenant):
    t = team
    _, cal, people = await appendix_a_session(t)
    assert cal["distribution_mode"] == "enforce"
    report = await get(t, f"{C}/{cal['id']}/distribution")
    assert report["distribution_mode"] == "enforce"
    assert [member(report, e)["enforced_rating"] for e in people] == ENFORCED
    sim = await t.client.post(f"{C}/{cal['id']}/simulate", headers=t.hr, json={"distribution_mode": "cap"})
    assert [member(sim.json(), e)["enforced_rating"] for e in people] == CAPPED


async def test_cap_with_a_tied_group(team: Tenant):
    """Ten members all at 100 (A): enforce gives every one of them S (ties take the best
    band any of them got), cap leaves every one at A."""
    t = team
    cycle, cal, people = await appendix_a_session(t, None, distribution_mode="cap")
    report = await get(t, f"{C}/{cal['id']}/distribution")
    assert {member(report, e)["enforced_rating"] for e in people} == {"A"}
    sim = await t.client.post(f"{C}/{cal['id']}/simulate", headers=t.hr, json={"distribution_mode": "enforce"})
    assert {member(sim.json(), e)["enforced_rating"] for e in people} == {"S"}
    assert (await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)).status_code == 200
    evs = await get(t, f"/api/v1/evaluations?cycle_id={cycle['id']}&status=calibrated&limit=50")
    assert {e["calibration"]["rating"] for e in evs["items"]} == {"A"}


async def test_mode_validation(team: Tenant):
    t = team
    cycle = await make_cycle(t, status="review")
    ids = [t.employees["alice"]["id"]]
    resp = await t.client.post(
        C, headers=t.hr, json={"cycle_id": cycle["id"], "name": "x", "employee_ids": ids, "distribution_mode": "raise"}
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "distribution_mode"]


async def test_mode_over_graphql(team: Tenant):
    t = team
    await eval_only_policy(t, GUIDELINE)
    cycle = await make_cycle(t, status="review")
    people = await ten_reviewed(t, cycle)
    await transition(t, cycle, "calibration")
    cal = ok(
        await gql(
            t,
            t.hr,
            """mutation($c: ID!, $e: [ID!]) {
        createCalibration(input: {cycleId: $c, name: "GQL", employeeIds: $e, distributionMode: CAP}) {
          id distributionMode distribution { distributionMode employees { enforcedRating } } } }""",
            c=cycle["id"],
            e=people,
        )
    )["createCalibration"]
    assert cal["distributionMode"] == "CAP" and cal["distribution"]["distributionMode"] == "CAP"
    assert {e["enforcedRating"] for e in cal["distribution"]["employees"]} == {"A"}
    sim = ok(
        await gql(
            t,
            t.hr,
            """mutation($id: ID!) { simulateCalibration(id: $id, adjustments: [], distributionMode: ENFORCE) {
          distributionMode employees { enforcedRating } } }""",
            id=cal["id"],
        )
    )["simulateCalibration"]
    assert sim["distributionMode"] == "ENFORCE" and {e["enforcedRating"] for e in sim["employees"]} == {"S"}
