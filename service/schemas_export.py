"""Writes the OpenAPI document and the GraphQL SDL the app serves into openapi/."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def openapi_text() -> str:
    from service.web.app import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


def graphql_text() -> str:
    from service.graphql.schema import schema

    return schema.as_str().rstrip() + "\n"


def write_schemas() -> list[Path]:
    out = ROOT / "openapi"
    out.mkdir(exist_ok=True)
    (out / "openapi.json").write_text(openapi_text())
    (out / "schema.graphql").write_text(graphql_text())
    return [out / "openapi.json", out / "schema.graphql"]
