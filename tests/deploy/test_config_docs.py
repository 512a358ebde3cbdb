"""Every setting of service/config.py is in the configuration table of docs/configuration.md,
with its default as the code has it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from service.config import Settings

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def reference_rows() -> dict[str, str]:
    """The rows of the file's configuration table: variable → default cell."""
    rows: dict[str, str] = {}
    for line in REFERENCE.read_text().splitlines():
        m = re.match(r"\|\s*`([A-Z0-9_]+)`\s*\|\s*([^|]*)\|", line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} is listed twice in docs/configuration.md"
            rows[m.group(1)] = m.group(2).strip().strip("`")
    return rows


def matches(default: Any, cell: str) -> bool:
    if default is None:
        return cell == "unset"
    if isinstance(default, bool):
        return cell == str(default).lower()
    if isinstance(default, int | float):
        return float(cell.replace(",", "").replace("_", "")) == float(default)
    if isinstance(default, Path):
        return Path(cell) == default
    return cell == str(default)


def test_every_setting_is_documented_with_its_default() -> None:
    rows = reference_rows()
    for name, field in Settings.model_fields.items():
        env = name.upper()
        assert env in rows, f"{env} is missing from docs/configuration.md"
        assert matches(field.default, rows[env]), (
            f"{env}: docs/configuration.md says {rows[env]!r}, code {field.default!r}"
        )


def test_the_reference_documents_no_phantom_settings() -> None:
    names = {n.upper() for n in Settings.model_fields}
    assert set(reference_rows()) <= names
