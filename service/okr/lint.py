"""OKR quality lint (SPEC section 9), as pure functions: facts in, findings out.

Severities: an `error` blocks submitting (the workflow refuses it with 422); a `warning`
is advice. Errors are the rules the SPEC states as limits or that make a score
meaningless: the number of key results, the number of objectives per owner and cycle,
a measurable metric (numeric target differing from start), positive weights, and an
alignment link for every objective below company level (alignment is what makes an
OKR set more than a to-do list, and the parent may be a draft itself, so it never
blocks planning top-down and bottom-up at the same time). Wording is advice, not law:
a key result titled like an activity ("help with ...", "work on ...") is a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

ERROR = "error"
WARNING = "warning"

# Leading words that describe effort rather than an outcome.
ACTIVITY_PREFIXES = (
    "do",
    "does",
    "doing",
    "help",
    "helping",
    "work on",
    "working on",
    "attend",
    "attending",
    "support",
    "supporting",
    "participate",
    "participate in",
    "assist",
    "assisting",
    "try",
    "trying",
    "continue",
    "be involved",
    "engage in",
    "look into",
    "focus on",
    "conduct",
    "hold",
    "organize",
    "organise",
    "prepare",
)
_ACTIVITY_RE = re.compile(
    r"^\s*(?:" + "|".join(re.escape(p) for p in sorted(ACTIVITY_PREFIXES, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    path: tuple[str | int, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "path": list(self.path)}


@dataclass(frozen=True)
class LintKeyResult:
    title: str
    kind: str
    start: Decimal | None = None
    target: Decimal | None = None
    weight: Decimal | None = Decimal(1)
    milestone_weights: tuple[Decimal | None, ...] = ()


@dataclass(frozen=True)
class LintObjective:
    level: str
    weight: Decimal | None = Decimal(1)
    has_parent: bool = False
    supports_count: int = 0
    key_results: tuple[LintKeyResult, ...] = field(default=())


@dataclass(frozen=True)
class LintLimits:
    min_krs: int = 2
    max_krs: int = 5
    max_objectives: int = 5


def key_result_count(obj: LintObjective, limits: LintLimits) -> list[Finding]:
    n = len(obj.key_results)
    if n < limits.min_krs:
        return [
            Finding(
                "too_few_key_results",
                ERROR,
                f"an objective needs at least {limits.min_krs} key results; it has {n}",
                ("key_results",),
            )
        ]
    if n > limits.max_krs:
        return [
            Finding(
                "too_many_key_results",
                ERROR,
                f"an objective takes at most {limits.max_krs} key results; it has {n}",
                ("key_results",),
            )
        ]
    return []


def objective_count(owner_objectives: int | None, limits: LintLimits) -> list[Finding]:
    """`owner_objectives`: the owner's objectives in the cycle, this one included
    (None when the owner or cycle is not known yet)."""
    if owner_objectives is not None and owner_objectives > limits.max_objectives:
        return [
            Finding(
                "too_many_objectives",
                ERROR,
                f"an owner takes at most {limits.max_objectives} objectives per cycle; "
                f"this would be number {owner_objectives}",
                ("owner_id",),
            )
        ]
    return []


def measurable(obj: LintObjective) -> list[Finding]:
    out = []
    for i, kr in enumerate(obj.key_results):
        if kr.kind == "metric":
            if kr.start is None or kr.target is None:
                out.append(
                    Finding(
                        "metric_not_measurable",
                        ERROR,
                        "a metric key result needs a numeric start and target",
                        ("key_results", i, "target"),
                    )
                )
            elif kr.start == kr.target:
                out.append(
                    Finding(
                        "metric_not_measurable",
                        ERROR,
                        "the target must differ from the start",
                        ("key_results", i, "target"),
                    )
                )
        elif kr.kind == "milestone" and not kr.milestone_weights:
            out.append(
                Finding(
                    "milestones_missing",
                    ERROR,
                    "a milestone key result needs at least one milestone",
                    ("key_results", i, "milestones"),
                )
            )
    return out


def is_activity(title: str) -> bool:
    return bool(_ACTIVITY_RE.match(title or ""))


def activities(obj: LintObjective) -> list[Finding]:
    return [
        Finding(
            "activity_not_outcome",
            WARNING,
            f"{kr.title!r} reads like an activity; state the outcome it should change",
            ("key_results", i, "title"),
        )
        for i, kr in enumerate(obj.key_results)
        if is_activity(kr.title)
    ]


def alignment(obj: LintObjective) -> list[Finding]:
    if obj.level != "company" and not obj.has_parent and obj.supports_count == 0:
        return [
            Finding(
                "not_aligned",
                ERROR,
                f"{'an' if obj.level[0] in 'aeiou' else 'a'} {obj.level} objective needs a parent "
                "or a supported objective",
                ("parent_id",),
            )
        ]
    return []


def _positive(w: Decimal | None) -> bool:
    return w is not None and w > 0


def weights(obj: LintObjective) -> list[Finding]:
    out = []
    if not _positive(obj.weight):
        out.append(Finding("weight_not_positive", ERROR, "the objective's weight must be positive", ("weight",)))
    for i, kr in enumerate(obj.key_results):
        if not _positive(kr.weight):
            out.append(
                Finding(
                    "weight_not_positive", ERROR, "a key result's weight must be positive", ("key_results", i, "weight")
                )
            )
        for j, w in enumerate(kr.milestone_weights):
            if not _positive(w):
                out.append(
                    Finding(
                        "weight_not_positive",
                        ERROR,
                        "a milestone's weight must be positive",
                        ("key_results", i, "milestones", j, "weight"),
                    )
                )
    return out


def lint(obj: LintObjective, limits: LintLimits, owner_objectives: int | None = None) -> list[Finding]:
    return [
        *key_result_count(obj, limits),
        *objective_count(owner_objectives, limits),
        *measurable(obj),
        *activities(obj),
        *alignment(obj),
        *weights(obj),
    ]


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
