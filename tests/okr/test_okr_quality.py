"""Time-bound and bilingual OKR quality: a key result's due date (within its cycle), the
lint's `due_date_missing` rule, its Chinese activity verbs, and lint messages and problem
texts in the language `Accept-Language` asks for (`code` the same in every language)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.kit import i18n
from service.okr import lint
from service.okr.lint import LintKeyResult, LintLimits, LintObjective
from tests.okr.conftest import make_cycle, make_kr, make_objective

GOOD = LintKeyResult("Raise NPS to 50", "metric", Decimal(30), Decimal(50), due_date=dt.date(2026, 3, 1))
ZH = {"Accept-Language": "zh-CN"}


def codes(findings):
    return sorted(f.code for f in findings)


# --- the pure rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title,activity",
    [
        ("协助市场部推进品牌活动", True),
        ("参加行业峰会", True),
        ("支持销售团队完成签约", True),
        ("负责客户满意度调查", True),
        ("推进新版上线", True),
        ("全力配合财务部结账", True),
        ("  积极参与校园招聘", True),
        ("推进转化率从3%提升到5%", False),
        ("协助完成 20 家门店改造", False),
        ("支持三个新市场上线", False),
        ("负责的客户续约率达到９５％", False),
        ("将客户留存率提升至90%", False),
        ("新版App正式上线", False),
        ("Help the sales team", True),
        ("Reach 50 NPS", False),
    ],
)
def test_activity_verbs_in_chinese_and_english(title, activity):
    kr = LintKeyResult(title, "boolean", due_date=dt.date(2026, 3, 1))
    found = lint.lint(LintObjective(level="company", key_results=(GOOD, kr), cycle_days=90), LintLimits())
    assert codes(found) == (["activity_not_outcome"] if activity else [])
    if activity:
        assert found[0].severity == "warning" and found[0].path == ("key_results", 1, "title")


@pytest.mark.parametrize(
    "cycle_days,cadence,due,flagged",
    [
        (90, 7, None, True),
        (90, 7, dt.date(2026, 2, 1), False),
        (8, 7, None, True),
        (7, 7, None, False),  # a cycle of one check-in: its end is the deadline
        (30, 30, None, False),
        (None, 7, None, False),  # no cycle known (an unsaved draft without cycle_id)
    ],
)
def test_a_key_result_without_due_date_in_a_cycle_longer_than_the_cadence(cycle_days, cadence, due, flagged):
    kr = LintKeyResult("Launch the app", "boolean", due_date=due)
    obj = LintObjective(level="company", key_results=(GOOD, kr), cycle_days=cycle_days)
    found = lint.lint(obj, LintLimits(check_in_cadence_days=cadence))
    assert codes(found) == (["due_date_missing"] if flagged else [])
    if flagged:
        assert found[0].severity == "warning" and found[0].path == ("key_results", 1, "due_date")
        assert not lint.has_errors(found)


def test_messages_follow_the_language_and_codes_do_not():
    obj = LintObjective(level="team", key_results=(LintKeyResult("协助市场部推进品牌活动", "boolean"),), cycle_days=90)
    found = lint.lint(obj, LintLimits())
    with i18n.negotiated(None):
        english = {f.code: f.message for f in found}
    with i18n.negotiated("zh-CN"):
        chinese = {f.code: f.message for f in found}
    assert {f.code: f.message for f in found} == english  # outside a request: English
    assert (
        set(english)
        == set(chinese)
        == {
            "activity_not_outcome",
            "due_date_missing",
            "not_aligned",
            "too_few_key_results",
        }
    )
    assert english["activity_not_outcome"] == (
        "'协助市场部推进品牌活动' reads like an activity; state the outcome it should change"
    )
    assert chinese["activity_not_outcome"].startswith("“协助市场部推进品牌活动”读起来像一项活动")
    assert chinese["not_aligned"] == "团队级目标需要一个上级目标或一个所支持的目标"
    assert "90 天" in chinese["due_date_missing"] and "7 天" in chinese["due_date_missing"]
    assert english["too_few_key_results"] == "an objective needs at least 2 key results; it has 1"


@pytest.mark.parametrize(
    "header,language",
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh-cn", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-TW", "en"),  # Traditional script is not served
        ("zh-TW, zh;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5, zh-CN;q=0.9", "zh-CN"),
        ("fr-FR, zh-CN;q=0.4, en;q=0.3", "zh-CN"),
        ("de, fr", "en"),
        ("*", "en"),
        ("zh-CN;q=0, en", "en"),
        ("zh;q=0, zh-CN", "en"),  # q=0 rules Chinese out whatever else names it
        ("zh-CN;q=abc, en;q=0.1", "en"),  # a malformed weight is no preference
        ("en;q=0.1, zh-CN;q=0.1", "en"),  # ties: the header's order
    ],
)
def test_accept_language_negotiation(header, language):
    assert i18n.negotiate(header) == language


# --- due dates through REST ---------------------------------------------------------------------


async def test_due_date_is_written_read_and_kept_within_the_cycle(team):
    cycle = await make_cycle(team, start="2026-01-01", end="2026-03-31", name="Q1")
    obj = await make_objective(team, cycle, "alice")
    kr = await make_kr(team, obj, due_date="2026-02-15")
    assert kr["due_date"] == "2026-02-15"
    assert (await make_kr(team, obj))["due_date"] is None
    for outside in ("2025-12-31", "2026-04-01"):
        refused = await make_kr(team, obj, due_date=outside, expect=422)
        assert refused["errors"][0]["loc"] == ["body", "due_date"], refused
    await make_kr(team, obj, due_date="2026-03-31")  # both ends belong to the cycle
    await make_kr(team, obj, due_date="15/02/2026", expect=422)

    resp = await team.client.patch(f"/api/v1/key-results/{kr['id']}", headers=team.hr, json={"due_date": "2026-03-01"})
    assert resp.status_code == 200 and resp.json()["due_date"] == "2026-03-01", resp.text
    resp = await team.client.patch(f"/api/v1/key-results/{kr['id']}", headers=team.hr, json={"due_date": "2026-05-01"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "due_date"]
    resp = await team.client.patch(f"/api/v1/key-results/{kr['id']}", headers=team.hr, json={"due_date": None})
    assert resp.status_code == 200 and resp.json()["due_date"] is None
    got = await team.client.get(f"/api/v1/key-results/{kr['id']}", headers=team.hr)
    assert got.json()["due_date"] is None


async def test_an_objective_moves_only_to_a_cycle_its_due_dates_fit(team):
    q1 = await make_cycle(team, start="2026-01-01", end="2026-03-31", name="Q1")
    q2 = await make_cycle(team, start="2026-04-01", end="2026-06-30", name="Q2")
    h1 = await make_cycle(team, start="2026-01-01", end="2026-06-30", name="H1")
    obj = await make_objective(team, q1, "alice")
    kr = await make_kr(team, obj, due_date="2026-03-15")
    moved = await team.client.patch(f"/api/v1/objectives/{obj['id']}", headers=team.hr, json={"cycle_id": q2["id"]})
    assert moved.status_code == 422 and moved.json()["errors"][0]["loc"] == ["body", "cycle_id"], moved.text
    moved = await team.client.patch(f"/api/v1/objectives/{obj['id']}", headers=team.hr, json={"cycle_id": h1["id"]})
    assert moved.status_code == 200 and moved.json()["cycle_id"] == h1["id"], moved.text
    cleared = await team.client.patch(f"/api/v1/key-results/{kr['id']}", headers=team.hr, json={"due_date": None})
    assert cleared.status_code == 200
    moved = await team.client.patch(f"/api/v1/objectives/{obj['id']}", headers=team.hr, json={"cycle_id": q2["id"]})
    assert moved.status_code == 200, moved.text


async def test_an_objective_created_with_key_results_checks_their_due_dates(team):
    cycle = await make_cycle(team, start="2026-04-01", end="2026-06-30", name="Q2")
    body = {
        "title": "Make onboarding effortless",
        "level": "company",
        "owner_id": team.employees["alice"]["id"],
        "cycle_id": cycle["id"],
        "key_results": [
            {"title": "Ship the guided setup", "kind": "boolean", "due_date": "2026-05-15"},
            {"title": "Retire the wizard", "kind": "boolean", "due_date": "2026-07-01"},
        ],
    }
    resp = await team.client.post("/api/v1/objectives", headers=team.hr, json=body)
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "key_results", 1, "due_date"]
    body["key_results"][1]["due_date"] = "2026-06-30"
    resp = await team.client.post("/api/v1/objectives", headers=team.hr, json=body)
    assert resp.status_code == 201, resp.text
    assert [k["due_date"] for k in resp.json()["key_results"]] == ["2026-05-15", "2026-06-30"]


# --- the lint and problems in the request's language -----------------------------------------------


async def test_lint_of_a_chinese_objective_in_both_languages(team):
    cycle = await make_cycle(team, start="2026-01-01", end="2026-03-31", name="Q1")
    body = {
        "level": "company",
        "cycle_id": cycle["id"],
        "key_results": [
            {"title": "协助市场部推进品牌活动", "kind": "boolean"},
            {"title": "品牌搜索量从 2 万提升到 5 万", "start": 20000, "target": 50000, "due_date": "2026-03-15"},
        ],
    }
    english = await team.client.post("/api/v1/okr-lint", headers=team.employee("alice"), json=body)
    chinese = await team.client.post("/api/v1/okr-lint", headers={**team.employee("alice"), **ZH}, json=body)
    assert english.status_code == chinese.status_code == 200
    assert english.headers["content-language"] == "en" and chinese.headers["content-language"] == "zh-CN"
    assert "accept-language" in chinese.headers["vary"].lower()
    machine = [[(f["code"], f["severity"], f["path"]) for f in r.json()["findings"]] for r in (english, chinese)]
    assert (
        machine[0]
        == machine[1]
        == [
            ("activity_not_outcome", "warning", ["key_results", 0, "title"]),
            ("due_date_missing", "warning", ["key_results", 0, "due_date"]),
        ]
    )
    zh = {f["code"]: f["message"] for f in chinese.json()["findings"]}
    en = {f["code"]: f["message"] for f in english.json()["findings"]}
    assert zh["activity_not_outcome"].startswith("“协助市场部推进品牌活动”读起来像一项活动")
    assert en["due_date_missing"].startswith("the key result has no due date in a cycle of 90 days")
    # a saved one, the same
    obj = await make_objective(team, cycle, "alice")
    await make_kr(team, obj, title="负责客户满意度调查", kind="boolean", start=None, target=None)
    saved = await team.client.post(
        "/api/v1/okr-lint", headers={**team.employee("alice"), **ZH}, json={"objective_id": obj["id"]}
    )
    found = {f["code"]: f["message"] for f in saved.json()["findings"]}
    assert found["too_few_key_results"] == "一个目标至少需要 2 个关键结果；当前有 1 个"
    assert set(found) == {"too_few_key_results", "activity_not_outcome", "due_date_missing"}


async def test_submit_refusal_in_chinese(team):
    cycle = await make_cycle(team, start="2026-01-01", end="2026-03-31", name="Q1")
    obj = await make_objective(team, cycle, "alice", level="individual")
    await make_kr(team, obj, title="参加行业峰会", kind="boolean", start=None, target=None)
    resp = await team.client.post(
        f"/api/v1/objectives/{obj['id']}/submit", headers={**team.employee("alice"), **ZH}, json={}
    )
    assert resp.status_code == 422 and resp.headers["content-language"] == "zh-CN"
    problem = resp.json()
    assert problem["title"] == "校验失败" and problem["detail"] == "该目标存在质量检查错误"
    assert problem["type"].endswith("/validation-failed") and problem["status"] == 422
    assert {"loc": ["objective", "key_results"], "msg": "一个目标至少需要 2 个关键结果；当前有 1 个"} in problem[
        "errors"
    ]
    assert {f["code"] for f in problem["findings"]} == {
        "too_few_key_results",
        "not_aligned",
        "activity_not_outcome",
        "due_date_missing",
    }


async def test_problems_follow_accept_language_and_keep_their_machine_members(team, cycle):
    missing = "/api/v1/objectives/00000000-0000-7000-8000-000000000000"
    en = await team.client.get(missing, headers=team.hr)
    zh = await team.client.get(missing, headers={**team.hr, "Accept-Language": "en;q=0.2, zh-CN;q=0.9"})
    assert en.status_code == zh.status_code == 404
    assert en.json()["title"] == "Not found" and zh.json()["title"] == "未找到"
    assert zh.json()["detail"] == "未找到该目标" and en.json()["detail"] == "objective not found"
    assert {k: v for k, v in zh.json().items() if k not in ("title", "detail")} == {
        k: v for k, v in en.json().items() if k not in ("title", "detail")
    }
    assert en.headers["content-language"] == "en" and zh.headers["content-language"] == "zh-CN"

    unauthenticated = await team.client.get("/api/v1/objectives", headers=ZH)
    assert unauthenticated.status_code == 401 and unauthenticated.json()["title"] == "未认证"
    assert unauthenticated.json()["detail"] == "缺少 Bearer 令牌"

    invalid = await team.client.post("/api/v1/objectives", headers={**team.hr, **ZH}, json={"title": "x"})
    assert invalid.status_code == 422 and invalid.json()["title"] == "校验失败"
    assert invalid.json()["detail"] == "请求无效" and invalid.json()["errors"]  # `loc`/`msg` untouched

    # a detail not in the catalogue (it names a value) stays English, under a translated title
    moved = await team.client.post(
        f"/api/v1/cycles/{cycle['id']}/transition", headers={**team.hr, **ZH}, json={"to": "closed"}
    )
    assert moved.status_code == 409 and moved.json()["title"] == "冲突", moved.text
    assert moved.json()["detail"].isascii()

    locked = await team.client.get("/api/v1/no-such-route", headers={**team.hr, **ZH})
    assert locked.status_code == 404 and locked.json()["title"] == "未找到"
    # an answer without catalogued text says no language
    listing = await team.client.get("/api/v1/objectives", headers={**team.hr, **ZH})
    assert listing.status_code == 200 and "content-language" not in listing.headers


# --- GraphQL ------------------------------------------------------------------------------------------


async def test_graphql_due_date_lint_and_messages_in_chinese(team):
    cycle = await make_cycle(team, start="2026-01-01", end="2026-03-31", name="Q1")
    alice = team.employee("alice")
    create = """mutation($i: ObjectiveInput!) { createObjective(input: $i) {
      id keyResults { id title dueDate } } }"""
    variables = {
        "i": {
            "title": "品牌影响力",
            "level": "COMPANY",
            "ownerId": team.employees["alice"]["id"],
            "cycleId": cycle["id"],
            "keyResults": [
                {"title": "协助市场部推进品牌活动", "kind": "BOOLEAN"},
                {
                    "title": "品牌搜索量从 2 万提升到 5 万",
                    "kind": "METRIC",
                    "start": "20000",
                    "target": "50000",
                    "dueDate": "2026-03-15",
                },
            ],
        }
    }
    resp = await team.client.post("/graphql", headers=team.hr, json={"query": create, "variables": variables})
    obj = resp.json()["data"]["createObjective"]
    assert [k["dueDate"] for k in obj["keyResults"]] == [None, "2026-03-15"]

    lint_q = "query($id: ID!) { okrLint(objectiveId: $id) { code severity message path } }"
    resp = await team.client.post(
        "/graphql", headers={**alice, **ZH}, json={"query": lint_q, "variables": {"id": obj["id"]}}
    )
    assert resp.headers["content-language"] == "zh-CN"
    found = {f["code"]: f for f in resp.json()["data"]["okrLint"]}
    assert set(found) == {"activity_not_outcome", "due_date_missing"}
    assert found["due_date_missing"]["path"] == ["keyResults", "0", "dueDate"]
    assert found["due_date_missing"]["severity"] == "WARNING" and "截止日期" in found["due_date_missing"]["message"]

    update = """mutation($id: ID!, $i: KeyResultInput!) { updateKeyResult(id: $id, input: $i) { dueDate } }"""
    first = obj["keyResults"][0]["id"]
    resp = await team.client.post(
        "/graphql",
        headers={**team.hr, **ZH},
        json={"query": update, "variables": {"id": first, "i": {"dueDate": "2026-09-01"}}},
    )
    error = resp.json()["errors"][0]
    # the code in every language; this detail names the cycle's dates and is not catalogued
    assert error["extensions"]["code"] == "validation-failed"
    assert error["message"] == "the due date must fall within the cycle (2026-01-01 to 2026-03-31)"
    assert error["extensions"]["errors"][0]["loc"] == ["body", "dueDate"]
    resp = await team.client.post(
        "/graphql", headers=team.hr, json={"query": update, "variables": {"id": first, "i": {"dueDate": "2026-02-01"}}}
    )
    assert resp.json()["data"]["updateKeyResult"]["dueDate"] == "2026-02-01"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_problem_title_has_a_chinese_one():
    """Every kind of problem the service raises, and every status its OpenAPI document
    lists, has a title in Chinese; `type` and `code` are never touched."""
    from service.errors import DomainError, http_problem
    from service.models import load_all
    from service.web.openapi_problems import DESCRIPTIONS

    load_all()
    kinds = [DomainError, *_subclasses(DomainError)]
    problems = [_bare(k) for k in kinds]
    problems += [http_problem(status, "x").problem() for status in (*DESCRIPTIONS, 404, 405, 415, 431, 500)]
    with i18n.negotiated("zh-CN"):
        for body in problems:
            out = i18n.localise_problem(body)
            assert not out["title"].isascii(), body
            assert {k: v for k, v in out.items() if k not in ("title", "detail")} == {
                k: v for k, v in body.items() if k not in ("title", "detail")
            }


def _bare(kind):
    """A problem of the kind, raised without a detail (the detail is the title)."""
    error = kind.__new__(kind)
    error.detail, error.extra, error.headers = kind.title, {}, {}
    return error.problem()
