"""Position levels: free text, and the one rule that says when two spellings are the
same level.

A position's `level` is whatever the organization's ladder calls it (`staff`, `L3`,
`Senior Manager`) and is stored as given. Scoring policies and KPI templates that target
a level store it normalized, and a position matches a target when its level, normalized
the same way, equals it: so `Senior Manager`, `senior-manager` and `senior_manager` are
one level, and a ladder of its own (`L3` -> `l3`) works as well as the suggested one.
Every comparison of levels goes through `normalize_level` (docs/scoring.md, "Levels").
"""

from __future__ import annotations

# The suggested vocabulary, most junior first (SPEC section 2): examples, not a closed set.
SUGGESTED_LEVELS = ("staff", "lead", "manager", "senior_manager", "executive")
# The longest level text, as a position stores it (and so a level target).
LEVEL_MAX_LENGTH = 40


def normalize_level(text: str) -> str:
    """The level's comparable form: trimmed, lower case, spaces and hyphens as
    underscores (`Senior Manager` -> `senior_manager`, `L3` -> `l3`); empty when the
    text is blank."""
    return text.strip().lower().replace(" ", "_").replace("-", "_")
