"""Every property of every component schema of the OpenAPI document is described (the
operations and parameters are checked in tests/test_openapi_names.py): a generated
client's docstrings come from these, and integrators read nothing else. A new field
without a description (its own `Field(description=...)`, its answer model's through
`described_like`, or the glossary's, `kit.glossary`) fails here, named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from service.kit.schemas import Input, Output


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return app.openapi()


def undescribed_properties(document: dict[str, Any]) -> list[str]:
    """`Schema.property` of each property without a description. A `$ref` property counts
    when a description stands beside the `$ref` (OpenAPI 3.1, as Pydantic writes it)."""
    return [
        f"{name}.{prop}"
        for name, schema in document["components"]["schemas"].items()
        for prop, sub in (schema.get("properties") or {}).items()
        if not (isinstance(sub.get("description"), str) and sub["description"].strip())
    ]


def test_every_component_property_is_described(document: dict[str, Any]):
    assert undescribed_properties(document) == []
    schemas = document["components"]["schemas"]
    assert sum(len(s.get("properties") or {}) for s in schemas.values()) > 1000
    # a reference keeps its own description beside the `$ref`
    subject = schemas["ReviewMeetingCreate"]["properties"]["subject"]
    assert subject["$ref"].endswith("/SubjectRef") and subject["description"]


def test_the_check_names_what_is_undescribed():
    document = {
        "components": {
            "schemas": {
                "Thing": {
                    "properties": {
                        "a": {"type": "string", "description": "An a"},
                        "b": {"type": "string"},
                        "c": {"$ref": "#/components/schemas/Other"},
                        "d": {"$ref": "#/components/schemas/Other", "description": " "},
                    }
                },
                "Other": {"type": "object"},
            }
        }
    }
    assert undescribed_properties(document) == ["Thing.b", "Thing.c", "Thing.d"]


def test_a_request_model_is_described_like_its_answer_model_unless_it_says_more():
    class ThingRead(Output):
        colour: str = Field(description="The colour it is painted")
        size: int = Field(description="How big it is, in cm")

    class ThingCreate(Input):
        described_like = (ThingRead,)

        colour: str
        size: int = Field(1, ge=1, description="How big to make it, in cm")
        name: str  # the glossary's
        shade: str | None = None  # neither

    fields = ThingCreate.model_fields
    assert fields["colour"].description == "The colour it is painted"
    assert fields["size"].description == "How big to make it, in cm"
    assert fields["size"].default == 1 and ThingCreate.model_json_schema()["properties"]["size"]["minimum"] == 1
    assert fields["name"].description == "Its name"
    assert fields["shade"].description is None
    assert "described_like" not in ThingCreate.model_json_schema()["properties"]


def test_list_pages_are_named_after_their_items(document: dict[str, Any]):
    from service.kit.pagination import PageOut
    from service.org.schemas import EmployeeRead

    schemas = document["components"]["schemas"]
    assert "EmployeePage" in schemas and not [n for n in schemas if n.startswith("PageOut")]
    page = schemas["EmployeePage"]
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/EmployeeRead"}
    listing = document["paths"]["/api/v1/employees"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EmployeePage"}
    assert "Link" in listing["headers"]
    assert PageOut[EmployeeRead].__name__ == "EmployeePage"
    assert issubclass(PageOut[EmployeeRead], BaseModel)
