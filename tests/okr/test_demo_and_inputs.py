"""The demo OKRs (idempotent, aligned, lint-clean, computed) and the OKR inputs the
scores module reads (published and closed objectives of the cycle and its descendants;
drafts never count)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from service.auth.context import Ctx
from service.db import database
from service.demo import DEMO_ORG_ID, _id, load_demo
from service.okr import demo
from service.okr.models import Objective
from service.okr.scoring_inputs import objective_inputs
from service.principal import Principal
from service.scoring.okr import okr_component
from service.scoring.policy import PolicyParams
from tests.conftest import bearer
from tests.okr.conftest import act, check_in, make_cycle, make_kr, make_objective


async def test_demo_okrs(client):
    await load_demo()
    for _ in range(2):
        async with database.sessions() as session:
            await demo.load(session, DEMO_ORG_ID, _id)
            await session.commit()
    from service.auth.tokens import issue_token

    mei = bearer(issue_token(org_id=DEMO_ORG_ID, sub="mei", roles=["employee"], employee_id=_id("emp:E008")))
    q4 = _id("cycle:FY2026-Q4")
    async with database.sessions() as session:
        from sqlalchemy import func, select

        count = (
            await session.execute(select(func.count()).select_from(Objective).where(Objective.org_id == DEMO_ORG_ID))
        ).scalar_one()
    assert count == 8  # seven published, and the Chinese draft
    everything = (await client.get(f"/api/v1/objectives?cycle_id={q4}", headers=mei)).json()["items"]
    assert [o["title"] for o in everything if o["status"] == "draft"] == ["让直播成为品牌增长的引擎"]
    listed = [o for o in everything if o["status"] != "draft"]
    assert len(listed) == 6 and all(o["status"] == "published" for o in listed)
    assert all(o["score"] is not None and o["pace"] for o in listed)
    company = _id("okr:obj:company")
    tree = (await client.get(f"/api/v1/objectives/{company}/alignment", headers=mei)).json()
    children = {c["title"]: c for c in tree["objective"]["children"]}
    assert set(children) == {"Make online shopping effortless", "Deliver every order fast and right"}
    ecom = children["Make online shopping effortless"]
    assert {c["title"] for c in ecom["children"]} == {"Turn live streams into a sales channel", "Fewer abandoned carts"}
    assert [s["title"] for s in ecom["supporters"]] == ["Ship online orders the same day"]
    # the year's strategy map: the company objective (customer) rolls up its key results,
    # one of them measured by the e-commerce objective, and the operations objective
    smap = (await client.get(f"/api/v1/cycles/{_id('cycle:FY2026')}/strategy-map", headers=mei)).json()
    groups = {g["perspective"]: g for g in smap["groups"]}
    [top] = groups["customer"]["objectives"]
    assert (top["id"], top["progress_source"]) == (str(company), "both")
    # own: (2 × 0.70 revenue + 0.55 repeat + 0.60 nps) / 4; rolled up: the repeat-purchase
    # key result takes e-commerce's rolled-up 0.5620, and operations (0.70) joins as a peer
    assert (top["own_progress"], top["rolled_up_progress"]) == ("0.6375", "0.6524")
    assert groups["customer"]["progress"] == "0.6524" and smap["node_count"] == 7
    assert groups["financial"]["objectives"] == [] and groups["financial"]["progress"] is None
    by_title = {c["title"]: c for c in top["children"]}
    assert by_title["Make online shopping effortless"]["progress_source"] == "both"
    assert by_title["Deliver every order fast and right"]["perspective"] == "internal_process"
    for o in listed + [{"id": str(company)}]:
        lint = (await client.post("/api/v1/okr-lint", headers=mei, json={"objective_id": o["id"]})).json()
        assert lint["findings"] == [], (o, lint)  # due dates given, outcomes stated, aligned
    # the Chinese draft: warned twice about its activity-worded key result, in either language
    draft = str(_id("okr:obj:brand-zh"))
    for language, needle in (("zh-CN", "读起来像一项活动"), ("en", "reads like an activity")):
        lint = await client.post(
            "/api/v1/okr-lint", headers={**mei, "Accept-Language": language}, json={"objective_id": draft}
        )
        assert lint.headers["content-language"] == language
        found = [(f["code"], f["path"]) for f in lint.json()["findings"]]
        assert found == [
            ("activity_not_outcome", ["key_results", 1, "title"]),
            ("due_date_missing", ["key_results", 1, "due_date"]),
        ], found
        assert needle in lint.json()["findings"][0]["message"]
    krs = (await client.get(f"/api/v1/key-results?objective_id={_id('okr:obj:ops')}", headers=mei)).json()
    complaints = next(k for k in krs["items"] if k["title"].startswith("Delivery complaints"))
    assert complaints["direction"] == "decrease" and complaints["progress"] == "0.5000"
    kinds = {k["kind"] for k in krs["items"]}
    assert kinds == {"metric", "boolean"}
    checkins = (await client.get(f"/api/v1/key-results/{complaints['id']}/check-ins", headers=mei)).json()
    assert len(checkins["items"]) == 7


def _ctx(session, org_id) -> Ctx:
    return Ctx(session=session, principal=Principal(sub="t", org_id=org_id, kind="person", roles=frozenset({"hr"})))


async def test_score_inputs_count_only_published_and_closed(team):
    year = await make_cycle(team, name="Year")
    quarter = await make_cycle(team, name="Q1", start="2026-01-01", end="2026-03-31", parent_id=year["id"])
    other = await make_cycle(team, name="Other", start="2027-01-01", end="2027-12-31")
    top = await make_objective(team, year, "boss", title="Top")
    await make_kr(team, top)
    await make_kr(team, top, title="Second")
    for step in ("submit", "approve", "publish"):
        await act(team, top, step)

    async def objective(cycle, status, title, progress="50"):
        obj = await make_objective(
            team, cycle, "alice", level="individual", parent_id=top["id"], title=title, type="aspirational"
        )
        kr = await make_kr(team, obj, start="0", target="100")
        await make_kr(team, obj, kind="boolean", start=None, target=None, title="Flag")
        await check_in(team, kr, value=progress)
        for step in {
            "draft": [],
            "submitted": ["submit"],
            "published": ["submit", "approve", "publish"],
            "closed": ["submit", "approve", "publish", "close"],
        }[status]:
            await act(team, obj, step)
        return obj

    counted = [
        await objective(year, "published", "Year published"),
        await objective(quarter, "closed", "Quarter closed", "70"),
    ]
    await objective(year, "draft", "Draft")
    rejected = await objective(year, "submitted", "Rejected")
    await act(team, rejected, "reject", comment="no")
    await objective(other, "published", "Elsewhere")

    alice = uuid.UUID(team.employees["alice"]["id"])
    async with database.sessions() as session:
        ctx = _ctx(session, team.org_id)
        inputs = await objective_inputs(ctx, [uuid.UUID(year["id"]), uuid.UUID(quarter["id"])], {alice})
    objectives = inputs[alice]["objectives"]
    assert sorted(o.title for o in objectives) == ["Quarter closed", "Year published"]
    assert {str(o.id) for o in objectives} == {o["id"] for o in counted}
    assert all(len(o.key_results) == 2 for o in objectives)
    component = okr_component(objectives, PolicyParams())
    # 0.25 / 0.7 × 100 and 0.35 / 0.7 × 100, equal weights
    assert component.points.quantize(Decimal("0.01")) == Decimal("42.86")
