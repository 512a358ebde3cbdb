"""Microsoft Entra sends the enterprise `manager` as a bare string (the manager's id)
where RFC 7643 section 4.3 defines a complex attribute `{"value": id}`. No scim2-models
policy accepts it, so the request body is rewritten before the server reads it:

- PATCH: `{"op": "Add", "path": "urn:…:User:manager", "value": "<id>"}` gets
  `"value": {"value": "<id>"}`; an empty string becomes a `remove`; a `remove` of the
  manager carrying a value removes the manager (the attribute holds a single value).
  A path-less operation whose value names the manager is rewritten the same way.
- POST and PUT: `"urn:…:User": {"manager": "<id>"}` gets `{"manager": {"value": "<id>"}}`,
  an empty string drops the manager.

A Group's `parent` (the service's Group extension) is a reference of the same shape, and
identity providers' custom attributes are plain strings, so it is rewritten the same way.

One more Entra habit is smoothed here: a `remove` selecting members by value sends
`{"$ref": null, "value": "<id>"}`; scim2-models reads every key as an `eq` condition, and
`$ref eq null` matches no stored member (they all have a `$ref`). Null keys of such
selectors are dropped: null means "not given", not "must be empty".

Names are matched without regard to case, as SCIM attribute names are. Any body that
is not such a JSON document passes through untouched, for the server to judge.
"""

from __future__ import annotations

import json
from typing import Any

from service.scim.schema import ENTERPRISE_SCHEMA, GROUP_EXTENSION_SCHEMA

# The single-valued references sent as bare ids: extension URN → attribute name.
_REFERENCES = {ENTERPRISE_SCHEMA.lower(): "manager", GROUP_EXTENSION_SCHEMA.lower(): "parent"}
_PATHS = {f"{urn}:{name}" for urn, name in _REFERENCES.items()}


def rewrite_body(method: str, body: bytes) -> bytes:
    if method.upper() not in ("POST", "PUT", "PATCH") or not body:
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict):
        return body
    changed = _rewrite_patch(document) if method.upper() == "PATCH" else _rewrite_resource(document)
    return json.dumps(document).encode() if changed else body


def _rewrite_patch(document: dict[str, Any]) -> bool:
    changed = False
    for key, operations in document.items():
        if key.lower() != "operations" or not isinstance(operations, list):
            continue
        for operation in operations:
            if isinstance(operation, dict):
                changed |= _rewrite_operation(operation)
    return changed


def _key(mapping: dict[str, Any], name: str) -> str | None:
    return next((k for k in mapping if isinstance(k, str) and k.lower() == name), None)


def _rewrite_operation(operation: dict[str, Any]) -> bool:
    op_key, path_key, value_key = _key(operation, "op"), _key(operation, "path"), _key(operation, "value")
    op = str(operation.get(op_key, "")).lower() if op_key else ""
    path = operation.get(path_key) if path_key else None
    if op == "remove" and value_key is not None and _drop_null_selectors(operation[value_key]):
        return True
    if isinstance(path, str) and path.strip().lower() in _PATHS:
        if value_key is None:
            return False
        value = operation[value_key]
        if op == "remove" or value == "":
            operation[op_key or "op"] = "remove"
            del operation[value_key]
            return True
        if isinstance(value, str):
            operation[value_key] = {"value": value}
            return True
        return False
    if path is None and value_key is not None and isinstance(operation[value_key], dict):
        return _rewrite_resource(operation[value_key])
    return False


def _rewrite_resource(document: dict[str, Any]) -> bool:
    """Rewrite the references of a resource body, or of a path-less PATCH value, where
    they may appear as `"urn:…:User": {"manager": …}` or as `"urn:…:User:manager": …`."""
    changed = False
    for key in list(document):
        if not isinstance(key, str):
            continue
        lowered = key.lower()
        if lowered in _PATHS:
            changed |= _fix_reference(document, key)
        elif lowered in _REFERENCES and isinstance(document[key], dict):
            extension = document[key]
            reference_key = _key(extension, _REFERENCES[lowered])
            if reference_key is not None:
                changed |= _fix_reference(extension, reference_key)
    return changed


def _fix_reference(holder: dict[str, Any], key: str) -> bool:
    value = holder[key]
    if value == "":
        del holder[key]
        return True
    if isinstance(value, str):
        holder[key] = {"value": value}
        return True
    return False


def _drop_null_selectors(value: Any) -> bool:
    entries = value if isinstance(value, list) else [value]
    changed = False
    for entry in entries:
        if isinstance(entry, dict):
            for key in [k for k, v in entry.items() if v is None]:
                del entry[key]
                changed = True
    return changed
