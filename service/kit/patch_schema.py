"""The shape of an RFC 7386 merge patch of a model's JSON, for the OpenAPI document.

A PATCH that merges into stored JSON (an incentive plan's `params`) takes a partial
object: every field may be left out (it keeps its stored value) or be null (it is
removed, so its default applies again), nested objects merge the same way, and a null
entry of a map removes that entry. `merge_patch_model(Model)` describes exactly that, with
the field types, constraints and descriptions of `Model`, so generated clients get a
typed class instead of a bare object. It is a description only: the service merges the
patch into what is stored and validates the result with `Model` itself.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, Field, create_model


def _no_default(schema: dict[str, Any]) -> None:
    """A field left out of a patch changes nothing: it has no default (a `null` default
    would tell generators to send nulls, which remove)."""
    schema.pop("default", None)


def _patched(annotation: Any, base: type[BaseModel], suffix: str) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, base):
        return merge_patch_model(annotation, base, suffix)
    if get_origin(annotation) is dict:
        key, value = get_args(annotation)
        return dict[key, value | None]  # type: ignore[valid-type]  # a null entry removes it
    return annotation


@functools.cache
def merge_patch_model(model: type[BaseModel], base: type[BaseModel], suffix: str = "Patch") -> type[BaseModel]:
    """`<Model>Patch`, a subclass of `base`: every field of `model` optional and nullable,
    with its constraints and description, and nested models that are `base`s patched
    alike (see the module's docstring). One class a model, however often it is asked for
    (a nested model's patch is one component of the document)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _patched(info.annotation, base, suffix)
        if info.metadata:
            annotation = Annotated.__class_getitem__((annotation, *info.metadata))  # type: ignore[attr-defined]
        fields[name] = (annotation | None, Field(None, description=info.description, json_schema_extra=_no_default))
    doc = (
        f"A merge patch (RFC 7386) of `{model.__name__}`: a field left out keeps its value, "
        "a null removes it (its default applies again)."
    )
    patch: type[BaseModel] = create_model(model.__name__ + suffix, __base__=base, __doc__=doc, **fields)
    return patch
