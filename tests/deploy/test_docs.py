"""The documentation cites only what exists: every relative link of README.md, docs/*.md and
bench/README.md points at a file or directory of the repository, and so does every
backticked repository path (`service/...`, `tests/...`, `Makefile`, ...). The README stays
a short entry point; the details live in docs/ and bench/README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
README_MAX_LINES = 220

PATH_PREFIXES = ("service/", "tests/", "docs/", "bench/", "deploy/", "migrations/", "openapi/", "tools/", ".ci/")
TOP_LEVEL_FILES = {
    "Makefile",
    "Dockerfile",
    "pyproject.toml",
    "requirements.lock",
    "requirements-dev.lock",
    "alembic.ini",
}
# A glob or a placeholder (`<id>`, `{id}`, `...`) names no single file.
NOT_A_PATH = re.compile(r"[*?\[\]<>{}]|\.\.\.|…")

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with their line numbers."""
    out: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def link_targets(text: str) -> list[tuple[int, str]]:
    """Relative link targets without their #anchor (external links and bare anchors left out)."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        targets = INLINE_LINK.findall(line) + REFERENCE_LINK.findall(line)
        for target in targets:
            if SCHEME.match(target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if path:
                found.append((number, path))
    return found


def cited_paths(text: str) -> list[tuple[int, str]]:
    """Backticked repository paths, relative to the repository root."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        for span in CODE_SPAN.findall(line):
            words = span.split()
            if not words:
                continue
            word = words[0]
            if not (word.startswith(PATH_PREFIXES) or word in TOP_LEVEL_FILES):
                continue
            if NOT_A_PATH.search(word):
                continue
            found.append((number, word.split("::", 1)[0]))
    return found


def label(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("document", DOCUMENTS, ids=label)
def test_relative_links_point_at_existing_files(document: Path) -> None:
    missing = [
        f"{label(document)}:{number}: {target}"
        for number, target in link_targets(document.read_text())
        if not (document.parent / target).exists()
    ]
    assert not missing, "links to files that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("document", DOCUMENTS, ids=label)
def test_backticked_paths_exist(document: Path) -> None:
    missing = [
        f"{label(document)}:{number}: {path}"
        for number, path in cited_paths(document.read_text())
        if not (ROOT / path).exists()
    ]
    assert not missing, "backticked paths that do not exist:\n" + "\n".join(missing)


def test_the_checks_see_citations() -> None:
    """The parsers find what they are meant to check (a regex that matches nothing passes)."""
    text = README.read_text()
    assert "docs/configuration.md" in {t for _, t in link_targets(text)}
    assert "service/scoring/engine.py" in {p for _, p in cited_paths(text)}
    sample = "`tests/x.py::test_y` `service/{id}.py` `bench/*.py` `a b` [x](../y.md#z) [w](https://e.org)\n```\n`tools/no`\n```"
    assert cited_paths(sample) == [(1, "tests/x.py")]
    assert link_targets(sample) == [(1, "../y.md")]


def test_the_readme_is_short() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move details to docs/ (at most {README_MAX_LINES})"
