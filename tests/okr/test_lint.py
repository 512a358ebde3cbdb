"""The OKR quality lint (SPEC section 9): the pure rules, and the endpoint for unsaved
drafts and saved objectives, with the organization's limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.okr import lint
from service.okr.lint import LintKeyResult, LintLimits, LintObjective
from tests.okr.conftest import make_kr, make_objective

GOOD_KRS = (
    LintKeyResult("Raise NPS to 50", "metric", Decimal(30), Decimal(50)),
    LintKeyResult("Launch the app", "boolean"),
)


def codes(findings):
    return sorted(f.code for f in findings)


def test_a_good_objective_has_no_findings():
    obj = LintObjective(level="team", has_parent=True, key_results=GOOD_KRS)
    assert lint.lint(obj, LintLimits(), owner_objectives=5) == []
    assert lint.lint(LintObjective(level="company", key_results=GOOD_KRS), LintLimits()) == []


@pytest.mark.parametrize(
    "n,limits,code",
    [
        (1, LintLimits(), "too_few_key_results"),
        (0, LintLimits(), "too_few_key_results"),
        (6, LintLimits(), "too_many_key_results"),
        (3, LintLimits(min_krs=4), "too_few_key_results"),
        (3, LintLimits(max_krs=2), "too_many_key_results"),
    ],
)
def test_key_result_count(n, limits, code):
    obj = LintObjective(level="company", key_results=(GOOD_KRS[1],) * n)
    found = lint.lint(obj, limits)
    assert codes(found) == [code] and found[0].severity == "error" and found[0].path == ("key_results",)


def test_objectives_per_owner():
    obj = LintObjective(level="company", key_results=GOOD_KRS)
    assert codes(lint.lint(obj, LintLimits(), owner_objectives=6)) == ["too_many_objectives"]
    assert lint.lint(obj, LintLimits(max_objectives=6), owner_objectives=6) == []
    assert lint.lint(obj, LintLimits(), owner_objectives=None) == []


@pytest.mark.parametrize(
    "kr,path",
    [
        (LintKeyResult("Grow revenue", "metric", Decimal(10), Decimal(10)), ("key_results", 1, "target")),
        (LintKeyResult("Grow revenue", "metric", None, Decimal(10)), ("key_results", 1, "target")),
        (LintKeyResult("Grow revenue", "metric", Decimal(1), None), ("key_results", 1, "target")),
    ],
)
def test_metrics_must_be_measurable(kr, path):
    found = lint.lint(LintObjective(level="company", key_results=(GOOD_KRS[0], kr)), LintLimits())
    assert codes(found) == ["metric_not_measurable"] and found[0].path == path


def test_milestones_needed():
    kr = LintKeyResult("Open the warehouse", "milestone")
    assert codes(lint.lint(LintObjective(level="company", key_results=(GOOD_KRS[0], kr)), LintLimits())) == [
        "milestones_missing"
    ]


@pytest.mark.parametrize(
    "title,activity",
    [
        ("Help the sales team", True),
        ("Work on the checkout", True),
        ("attend three fairs", True),
        ("Do customer interviews", True),
        ("Support the launch", True),
        ("Participate in the summit", True),
        ("Assist marketing", True),
        ("Try a new channel", True),
        ("  TRY harder", True),
        ("Reach 50 NPS", False),
        ("Document the API", False),
        ("Domestic sales to 2M", False),
        ("Supportive reviews from 80% of users", False),
        ("Cut returns from 8% to 5%", False),
    ],
)
def test_activities_are_warned(title, activity):
    kr = LintKeyResult(title, "boolean")
    found = lint.lint(LintObjective(level="company", key_results=(GOOD_KRS[0], kr)), LintLimits())
    assert codes(found) == (["activity_not_outcome"] if activity else [])
    if activity:
        assert found[0].severity == "warning" and found[0].path == ("key_results", 1, "title")


@pytest.mark.parametrize(
    "level,parent,supports,finding",
    [
        ("company", False, 0, False),
        ("department", False, 0, True),
        ("team", True, 0, False),
        ("individual", False, 2, False),
        ("individual", False, 0, True),
    ],
)
def test_alignment(level, parent, supports, finding):
    obj = LintObjective(level=level, has_parent=parent, supports_count=supports, key_results=GOOD_KRS)
    assert codes(lint.lint(obj, LintLimits())) == (["not_aligned"] if finding else [])


def test_weights_positive():
    krs = (
        LintKeyResult("Raise NPS to 50", "metric", Decimal(30), Decimal(50), weight=Decimal(0)),
        LintKeyResult("Open store", "milestone", weight=None, milestone_weights=(Decimal(1), Decimal(-1))),
    )
    found = lint.lint(LintObjective(level="company", weight=Decimal(-2), key_results=krs), LintLimits())
    assert [f.path for f in found if f.code == "weight_not_positive"] == [
        ("weight",),
        ("key_results", 0, "weight"),
        ("key_results", 1, "weight"),
        ("key_results", 1, "milestones", 1, "weight"),
    ]
    assert lint.has_errors(found)


# --- the endpoint -------------------------------------------------------------------------------


async def post_lint(t, body, headers=None, expect=200):
    resp = await t.client.post("/api/v1/okr-lint", headers=headers or t.employee("alice"), json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def test_lint_an_unsaved_draft(team, cycle):
    body = {
        "title": "Be great",
        "level": "team",
        "weight": 0,
        "key_results": [{"title": "Work on quality", "kind": "metric", "start": 5, "target": "5"}],
    }
    out = await post_lint(team, body)
    assert {(f["code"], f["severity"], tuple(f["path"])) for f in out["findings"]} == {
        ("too_few_key_results", "error", ("key_results",)),
        ("metric_not_measurable", "error", ("key_results", 0, "target")),
        ("activity_not_outcome", "warning", ("key_results", 0, "title")),
        ("not_aligned", "error", ("parent_id",)),
        ("weight_not_positive", "error", ("weight",)),
    }
    clean = {
        "level": "company",
        "key_results": [{"title": "Reach 1M", "start": 0, "target": 1000000}, {"title": "Ship v2", "kind": "boolean"}],
    }
    assert (await post_lint(team, clean))["findings"] == []
    await post_lint(team, {"level": "company", "colour": "red"}, expect=422)
    await post_lint(team, {"title": "no level"}, expect=422)


async def test_lint_uses_org_settings_and_counts_objectives(team, cycle):
    for i in range(5):
        await make_objective(team, cycle, "alice", title=f"O{i}")
    body = {
        "level": "company",
        "owner_id": team.employees["alice"]["id"],
        "cycle_id": cycle["id"],
        "key_results": [
            {"title": "A", "kind": "boolean", "due_date": cycle["start_date"]},
            {"title": "B", "kind": "boolean", "due_date": cycle["end_date"]},
        ],
    }
    out = await post_lint(team, body)
    assert [f["code"] for f in out["findings"]] == ["too_many_objectives"]
    # someone who may not plan for alice does not learn how many objectives she has
    assert (await post_lint(team, body, headers=team.employee("bob")))["findings"] == []
    resp = await team.client.patch(
        "/api/v1/organization", headers=team.admin, json={"settings": {"okr_max_objectives": 6, "okr_min_krs": 3}}
    )
    assert resp.status_code == 200, resp.text
    out = await post_lint(team, body)
    assert [f["code"] for f in out["findings"]] == ["too_few_key_results"]


async def test_lint_a_saved_objective(team, cycle):
    obj = await make_objective(team, cycle, "alice", level="individual", visibility="private")
    await make_kr(team, obj, title="Attend the conference", kind="boolean", start=None, target=None)
    out = await post_lint(team, {"objective_id": obj["id"]})
    assert sorted(f["code"] for f in out["findings"]) == [
        "activity_not_outcome",
        "due_date_missing",  # a year-long cycle, weekly check-ins
        "not_aligned",
        "too_few_key_results",
    ]
    await post_lint(team, {"objective_id": obj["id"]}, headers=team.employee("bob"), expect=404)
    await post_lint(team, {"objective_id": obj["id"], "level": "team"}, expect=422)
    await post_lint(team, {"objective_id": obj["id"]}, headers=team.as_scope("kpi:write"), expect=403)
    resp = await team.client.post("/api/v1/okr-lint", json={"objective_id": obj["id"]})
    assert resp.status_code == 401
