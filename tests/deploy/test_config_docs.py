"""Every setting of service/config.py is in the README's configuration reference, with
its default as the code has it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from service.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def reference_rows() -> dict[str, str]:
    text = README.read_text()
    start = text.index("## Configuration reference")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([A-Z0-9_]+)`\s*\|\s*([^|]*)\|", line)
        if m:
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
        assert env in rows, f"{env} is missing from the README's configuration reference"
        assert matches(field.default, rows[env]), f"{env}: README says {rows[env]!r}, code {field.default!r}"


def test_the_reference_documents_no_phantom_settings() -> None:
    names = {n.upper() for n in Settings.model_fields}
    assert set(reference_rows()) <= names
