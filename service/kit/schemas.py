"""Base Pydantic models: requests forbid unknown fields (mass assignment is a 422) and
hold timestamps in UTC, responses serialize decimals as strings; both take the shared
words of `kit.glossary` as their fields' descriptions."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema, field_validator
from starlette.responses import Response

from service.kit.glossary import fill_descriptions

# An exact decimal, answered as a string (`"87.50"`, scale kept): `format: decimal` in the
# OpenAPI document, so generators know not to read it into a float.
DecimalStr = Annotated[
    Decimal,
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "decimal"}, mode="serialization"),
]
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ISO_DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]|$)")


def _iso_date_time(value: object) -> object:
    """Pydantic's lax mode also reads a number (`?since=0.5`) as Unix seconds; the API
    documents RFC 3339 timestamps (`format: date-time`) and accepts only those."""
    if isinstance(value, str) and not ISO_DATE_TIME_RE.match(value):
        raise ValueError("expected an RFC 3339 timestamp, e.g. 2026-01-31T00:00:00Z")
    return value


# A timestamp query parameter: RFC 3339 only.
Timestamp = Annotated[dt.datetime, BeforeValidator(_iso_date_time)]


def _as_given(value: object) -> object:
    return value


def checked_by_service(model: Any) -> BeforeValidator:
    """For `Annotated[dict[str, Any], checked_by_service(Model)]`: a JSON object the
    contract describes as `Model` (a `$ref` to its component, so generated clients get a
    typed class) while the request only checks that it is an object. The service
    validates it with `Model` itself, where one bad item must not fail the others: a bulk
    row is answered with its own errors and the other rows are still applied."""
    return BeforeValidator(_as_given, json_schema_input_type=model)


def utc(value: dt.datetime) -> dt.datetime:
    """A timestamp in UTC, as the API stores and answers every one; a naive one is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


NUL_MESSAGE = "must not contain a NUL character (U+0000)"


def has_nul(value: object) -> bool:
    """A NUL anywhere in a string, a key or a nested value. PostgreSQL cannot store one in
    text (SQLSTATE 22021), so the API refuses it on every backend alike."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(has_nul(v) for v in value)
    return False


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # The answer models whose fields' descriptions this model's fields of the same name
    # take, where they have none of their own (`kit.glossary.fill_descriptions`).
    described_like: ClassVar[tuple[type[BaseModel], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fill_descriptions(cls)  # the shared words (`kit.glossary`)

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: object) -> object:
        """No NUL anywhere; a timestamp in UTC (`utc`), so the answer to the request that
        set it reads as every later one does, in REST and GraphQL alike."""
        if value.__class__ is str:  # the common case, without a call
            if "\x00" in value:
                raise ValueError(NUL_MESSAGE)
        elif isinstance(value, dt.datetime):
            return utc(value)
        elif has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    described_like: ClassVar[tuple[type[BaseModel], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fill_descriptions(cls)


def json_response(model: BaseModel, *, exclude_unset: bool = False, etag: str | None = None) -> Response:
    """The model serialized once, straight to JSON. Returning it skips FastAPI's second
    pass (validating the returned model against `response_model` again, then dumping it);
    the route keeps its `response_model` for the OpenAPI document, and the tests compare
    the answers with that document."""
    headers = {"ETag": etag} if etag is not None else None
    return Response(
        content=model.__pydantic_serializer__.to_json(model, exclude_unset=exclude_unset),
        media_type="application/json",
        headers=headers,
    )
