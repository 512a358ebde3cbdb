"""Filters, sorting and paging are SQL: the results of every filter equal what
scim2-models' in-memory evaluator (ScimFilter.match) selects from all the tenant's
resources, `totalResults` counts the matches, and pages are cut from the matches."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import Context, ScimFilter, SearchRequest
from sqlalchemy.dialects import postgresql, sqlite

from service.scim import groups, users
from service.scim.filters import where_clause
from service.scim.schema import build_provider
from tests.scim.conftest import ENTERPRISE, GROUP, TREE, USER, Scim, patch

PROVIDER = build_provider()
USER_MODEL = PROVIDER.model_for("User")
GROUP_MODEL = PROVIDER.model_for("Group")


@pytest.fixture
async def people(scim: Scim) -> dict[str, dict[str, Any]]:
    """Users with the case, missing values and LIKE wildcards a translation gets wrong."""
    made: dict[str, dict[str, Any]] = {}
    made["alice"] = await scim.create_user(
        "alice",
        externalId="ext-Alice",
        displayName="Alice Liddell",
        **{ENTERPRISE: {"employeeNumber": "100", "department": "Wonder"}},
    )
    made["bob"] = await scim.create_user(
        "bob",
        active=False,
        displayName="bob",
        emails=[{"value": "bob@home.example", "type": "home"}],
        **{ENTERPRISE: {"employeeNumber": "2", "manager": {"value": made["alice"]["id"]}}},
    )
    made["carol"] = await scim.create_user(
        "carol", name={"familyName": "smith"}, **{ENTERPRISE: {"department": "wonder"}}
    )
    made["dave"] = await scim.create_user("dave_%", displayName="50% off", emails=[])
    resp = await scim.post("/Users", {"schemas": [USER], "userName": "Eve"})
    made["eve"] = resp.json()
    made["hana"] = (
        await scim.get(f"/Users/{(await scim.tenant.add_employee('hana', status='on_leave'))['id']}")
    ).json()
    await scim.patch(f"/Users/{made['carol']['id']}", patch({"op": "remove", "path": "active"}))
    for i in range(6):
        made[f"filler{i}"] = await scim.create_user(f"filler{i}", displayName=f"Filler {i}")
    return made


USER_FILTERS = [
    'userName eq "ALICE@example.com"',
    'userName ne "alice@example.com"',
    'userName sw "dave_"',
    'userName co "_%"',
    'userName ew "LE.COM"',
    'userName gt "c"',
    'userName le "carol@example.com"',
    'externalId eq "ext-Alice"',
    'externalId eq "ext-alice"',  # caseExact
    "externalId pr",
    'emails[type eq "work"].value eq "alice@example.com"',
    'emails[type eq "work"]',
    'emails[type eq "home" or primary eq true]',
    'emails[not (type eq "work")]',
    'emails co "HOME"',
    "emails pr",
    "emails eq null",
    'emails.type eq "work"',
    "emails.primary eq true",
    "active eq true",
    "active eq false",
    "active pr",
    "not (active eq true)",
    "active ne true",
    'displayName sw "fill"',
    'displayName co "%"',
    "displayName pr",
    "displayName eq null",
    'displayName gt "Filler 3"',
    "name pr",
    "name.givenName pr",
    'name.familyName eq "SMITH"',
    'not (name.familyName eq "smith")',
    'userName sw "filler" and displayName ew "2"',
    'userName eq "bob@example.com" or externalId pr',
    '(userName sw "a" or userName sw "b") and active eq true',
    'meta.created gt "2000-01-01T00:00:00Z"',
    'meta.lastModified lt "2000-01-01T00:00:00Z"',
    'meta.resourceType eq "User"',
    f'{ENTERPRISE}:employeeNumber eq "100"',
    f'{ENTERPRISE}:employeeNumber gt "10"',
    f"{ENTERPRISE}:employeeNumber pr",
    f'{ENTERPRISE}:department eq "WONDER"',
    f"{ENTERPRISE}:manager pr",
    f"not ({ENTERPRISE}:department pr)",
]


async def everything(scim: Scim, path: str) -> list[dict[str, Any]]:
    return (await scim.search(path, count=200))["Resources"]


def evaluate(model: Any, resources: list[dict[str, Any]], expression: str) -> set[str]:
    scim_filter = ScimFilter[model](expression)
    return {
        r["id"]
        for r in resources
        if scim_filter.match(model.model_validate(r, scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    }


async def test_user_filters_select_what_the_evaluator_selects(scim: Scim, people: Any) -> None:
    resources = await everything(scim, "/Users")
    assert len(resources) == len(people)
    sizes: dict[str, int] = {}
    for expression in USER_FILTERS:
        found = await scim.search(filter=expression, count=200)
        ids = {r["id"] for r in found.get("Resources", [])}
        assert ids == evaluate(USER_MODEL, resources, expression), expression
        assert found["totalResults"] == len(ids), expression
        sizes[expression] = len(ids)
    print(sizes)
    # The filters discriminate: most select some but not all of the users.
    assert sum(0 < n < len(people) for n in sizes.values()) >= 35


async def test_named_filters(scim: Scim, people: Any) -> None:
    async def total(expression: str) -> int:
        return (await scim.search(filter=expression))["totalResults"]

    assert await total('userName eq "ALICE@example.com"') == 1
    assert await total('externalId eq "ext-Alice"') == 1
    assert await total('emails[type eq "work"].value eq "alice@example.com"') == 1
    assert await total('emails[type eq "work"].value eq "bob@home.example"') == 0
    assert await total("active eq true") == len(people) - 2  # bob inactive, carol's unassigned
    assert await total('displayName sw "Fill"') == 6
    assert await total('displayName sw "fill" and userName ew "3@example.com"') == 1
    assert await total('userName eq "bob@example.com" or userName eq "Eve"') == 2
    assert await total("displayName pr") == 9
    assert await total('userName co "_%"') == 1  # % and _ are plain characters


async def test_group_filters(scim: Scim, people: Any) -> None:
    alice, bob = people["alice"]["id"], people["bob"]["id"]
    eng = await scim.create_group("Engineering", [alice, bob])
    await scim.create_group("Empty")
    child = {"schemas": [GROUP, TREE], "displayName": "Platform", TREE: {"parent": {"value": eng["id"]}}}
    assert (await scim.post("/Groups", child)).status_code == 201
    resources = await everything(scim, "/Groups")
    for expression in [
        'displayName sw "en"',
        'displayName eq "WONDER"',
        "members pr",
        f'members[value eq "{alice}"]',
        f'members eq "{bob}"',
        f'members ne "{bob}"',
        "members eq null",
        'members.type eq "User"',
        "externalId pr",
        f'id eq "{eng["id"]}" and members[value eq "{alice}"]',
        'not (displayName co "e")',
        f"{TREE}:parent pr",
        f"not ({TREE}:parent pr)",
        f'{TREE}:parent.value eq "{eng["id"]}"',
        f'{TREE}:parent.value ne "{eng["id"]}"',
        f"{TREE}:parent.value eq null",
    ]:
        found = await scim.search("/Groups", filter=expression, count=200)
        ids = {r["id"] for r in found.get("Resources", [])}
        assert ids == evaluate(GROUP_MODEL, resources, expression), expression
    found = await scim.search("/Groups", filter='displayName sw "en"')
    assert [g["displayName"] for g in found["Resources"]] == ["Engineering"]


async def test_unknown_attributes_and_bad_filters_are_400(scim: Scim) -> None:
    for expression in ['title eq "x"', "userName eq", 'members[value eq "x"]', 'id sw "a"']:
        resp = await scim.get("/Users", params={"filter": expression})
        assert resp.status_code == 400, (expression, resp.text)
        assert resp.json()["scimType"] == "invalidFilter"


# --- paging ----------------------------------------------------------------------------------


async def test_paging_is_applied_after_filtering(scim: Scim, people: Any) -> None:
    expression = "displayName pr"
    everything_found = await scim.search(filter=expression, count=200)
    matching = [r["id"] for r in everything_found["Resources"]]
    assert everything_found["totalResults"] == len(matching) == 9
    seen: list[str] = []
    for start in (1, 4, 7, 10):
        page = await scim.search(filter=expression, startIndex=start, count=3)
        assert page["totalResults"] == 9 and page["startIndex"] == start
        assert page["itemsPerPage"] == len(page.get("Resources", []))
        seen += [r["id"] for r in page.get("Resources", [])]
    assert seen == matching  # stable order, no gaps, no repeats, nothing filtered out of a page
    last = await scim.search(filter=expression, startIndex=9, count=3)
    assert len(last["Resources"]) == 1


async def test_count_zero_answers_the_total_only(scim: Scim, people: Any) -> None:
    page = await scim.search(count=0)
    assert page["totalResults"] == len(people)
    assert page["itemsPerPage"] == 0 and page["Resources"] == []
    page = await scim.search(filter="active eq false", count=0)
    assert page["totalResults"] == 1 and page["Resources"] == []


async def test_start_index_and_count_bounds(scim: Scim, people: Any) -> None:
    page = await scim.search(startIndex=0, count=-5)  # below 1 is 1, below 0 is 0
    assert page["startIndex"] == 1 and page["Resources"] == []
    page = await scim.search(startIndex=1, count=1000)  # bounded by maxResults
    assert len(page["Resources"]) == len(people)
    page = await scim.search(startIndex=len(people) + 5)
    assert page["totalResults"] == len(people) and page.get("Resources", []) == []
    resp = await scim.get("/Users", params={"count": "many"})
    assert resp.status_code == 400


# --- sorting ---------------------------------------------------------------------------------


async def test_sorting(scim: Scim, people: Any) -> None:
    async def order(**params: Any) -> list[str]:
        return [r["userName"] for r in (await scim.search(count=200, **params))["Resources"]]

    names = await order(sortBy="userName")
    assert names == sorted(names, key=str.lower)
    assert await order(sortBy="userName", sortOrder="descending") == names[::-1]
    family = await order(sortBy="name.familyName")
    # Resources without the value come last ascending, first descending.
    assert family[-1] == "Eve"  # no family name: last ascending, first descending
    assert family[0] == "carol@example.com"  # "smith" sorts before "Test", without case
    descending = await order(sortBy="name.familyName", sortOrder="descending")
    assert descending[0] == "Eve" and descending[-1] == "carol@example.com"
    numbers = await order(sortBy=f"{ENTERPRISE}:employeeNumber", filter=f"{ENTERPRISE}:employeeNumber pr")
    assert numbers[:2] == ["alice@example.com", "bob@example.com"]  # "100" < "2": strings
    assert (await order(sortBy="meta.created"))[0] == "alice@example.com"
    assert await order(sortBy="emails", filter='userName sw "b"') == ["bob@example.com"]


# --- the translation is SQL --------------------------------------------------------------


def test_filters_compile_to_sql_where_clauses() -> None:
    request = SearchRequest[USER_MODEL](filter='userName eq "Bob" and emails[type eq "work"]')
    for dialect, name in ((sqlite.dialect(), "sqlite"), (postgresql.dialect(), "postgresql")):
        clause = where_clause(request, USER_MODEL, users.ATTRIBUTES, name)
        sql = str(clause.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        assert "lower(coalesce(scim_users.user_name, employees.email)) = 'bob'" in sql, sql
        assert "scim_users.email_type" in sql
    request = SearchRequest[GROUP_MODEL](filter='members[value eq "0191d5d6-0000-7000-8000-000000000000"]')
    sql = str(where_clause(request, GROUP_MODEL, groups.ATTRIBUTES, "postgresql").compile(dialect=postgresql.dialect()))
    assert "EXISTS" in sql
