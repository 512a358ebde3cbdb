"""OKR quality lint (SPEC section 9), as pure functions: facts in, findings out.

Severities: an `error` blocks submitting (the workflow refuses it with 422); a `warning`
is advice. Errors are the rules the SPEC states as limits or that make a score
meaningless: the number of key results, the number of objectives per owner and cycle,
a measurable metric (numeric target differing from start), positive weights, and an
alignment link for every objective below company level (alignment is what makes an
OKR set more than a to-do list, and the parent may be a draft itself, so it never
blocks planning top-down and bottom-up at the same time). Wording is advice, not law:
a key result titled like an activity ("help with ...", "work on ...", or in Chinese
"协助...", "负责..." without a number) is a warning, and so is a key result with no due
date in a cycle longer than the organization's check-in cadence (a result that is only
due "by the end" of a quarter of weekly check-ins is not time-bound).

A finding's `code` is its stable name in every language; its message is rendered from
the catalogue (service/okr/lint_messages.py) in the request's language when it is read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.kit import i18n
from service.okr.lint_messages import LEVELS_ZH, MESSAGES

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

# Chinese verbs of effort ("assist", "take part in", "support", "be responsible for",
# "push forward", ...): a key result led by one of them, after an optional adverb of
# zeal ("全力", "积极"), describes work done, unless it names a number to reach.
ACTIVITY_VERBS_ZH = (
    "协助",
    "参加",
    "参与",
    "支持",
    "负责",
    "推进",
    "推动",
    "配合",
    "帮助",
    "跟进",
    "组织",
    "开展",
    "进行",
    "做好",
    "尝试",
    "继续",
    "筹备",
    "准备",
    "举办",
    "落实",
    "学习",
    "研究",
    "关注",
    "致力于",
)
ADVERBS_ZH = ("全力", "积极", "努力", "持续", "继续", "认真", "主动", "大力", "全面", "深入", "协同")
_ACTIVITY_ZH_RE = re.compile(
    r"^\s*(?:" + "|".join(ADVERBS_ZH) + r")?\s*(?:" + "|".join(sorted(ACTIVITY_VERBS_ZH, key=len, reverse=True)) + ")"
)
# A measurable outcome: a figure (any script's digits), a percentage, or a Chinese numeral
# with a unit of count ("三个", "两倍", "五成").
_MEASURE_RE = re.compile(
    r"\d|[%％‰]|[零一二两三四五六七八九十百千万亿]+\s*(?:个|次|名|位|家|项|倍|成|场|篇|份|人|天|周|月|年|元|万|亿)"
)


@dataclass(frozen=True)
class Finding:
    """`message_id` names the message in the catalogue (several per code where a code has
    more than one cause); `params` fill it in."""

    code: str
    severity: str
    message_id: str
    path: tuple[str | int, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """What is wrong and how to fix it, in the current request's language."""
        return i18n.render(MESSAGES, self.message_id, self.params)

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
    due_date: dt.date | None = None


@dataclass(frozen=True)
class LintObjective:
    level: str
    weight: Decimal | None = Decimal(1)
    has_parent: bool = False
    supports_count: int = 0
    key_results: tuple[LintKeyResult, ...] = field(default=())
    cycle_days: int | None = None  # the cycle's length in days, ends included (None: no cycle known)


@dataclass(frozen=True)
class LintLimits:
    min_krs: int = 2
    max_krs: int = 5
    max_objectives: int = 5
    check_in_cadence_days: int = 7


def key_result_count(obj: LintObjective, limits: LintLimits) -> list[Finding]:
    n = len(obj.key_results)
    if n < limits.min_krs:
        return [
            Finding(
                "too_few_key_results",
                ERROR,
                "too_few_key_results",
                ("key_results",),
                {"min": limits.min_krs, "n": n},
            )
        ]
    if n > limits.max_krs:
        return [
            Finding(
                "too_many_key_results",
                ERROR,
                "too_many_key_results",
                ("key_results",),
                {"max": limits.max_krs, "n": n},
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
                "too_many_objectives",
                ("owner_id",),
                {"max": limits.max_objectives, "n": owner_objectives},
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
                        "metric_without_start_or_target",
                        ("key_results", i, "target"),
                    )
                )
            elif kr.start == kr.target:
                out.append(
                    Finding(
                        "metric_not_measurable",
                        ERROR,
                        "metric_target_is_start",
                        ("key_results", i, "target"),
                    )
                )
        elif kr.kind == "milestone" and not kr.milestone_weights:
            out.append(
                Finding(
                    "milestones_missing",
                    ERROR,
                    "milestones_missing",
                    ("key_results", i, "milestones"),
                )
            )
    return out


def is_activity(title: str) -> bool:
    """An English title led by an effort verb, or a Chinese one led by an effort verb
    and naming no figure to reach (Chinese key results lead with a verb as a rule, and
    "推进转化率从 3% 提升到 5%" is an outcome)."""
    title = title or ""
    if _ACTIVITY_RE.match(title):
        return True
    return bool(_ACTIVITY_ZH_RE.match(title)) and not _MEASURE_RE.search(title)


def activities(obj: LintObjective) -> list[Finding]:
    return [
        Finding(
            "activity_not_outcome",
            WARNING,
            "activity_not_outcome",
            ("key_results", i, "title"),
            {"title": kr.title},
        )
        for i, kr in enumerate(obj.key_results)
        if is_activity(kr.title)
    ]


def due_dates(obj: LintObjective, limits: LintLimits) -> list[Finding]:
    """A key result without a due date, in a cycle longer than the check-in cadence: the
    cycle's end is then the only deadline, too far off to steer by between check-ins."""
    if obj.cycle_days is None or obj.cycle_days <= limits.check_in_cadence_days:
        return []
    return [
        Finding(
            "due_date_missing",
            WARNING,
            "due_date_missing",
            ("key_results", i, "due_date"),
            {"days": obj.cycle_days, "cadence": limits.check_in_cadence_days},
        )
        for i, kr in enumerate(obj.key_results)
        if kr.due_date is None
    ]


def alignment(obj: LintObjective) -> list[Finding]:
    if obj.level != "company" and not obj.has_parent and obj.supports_count == 0:
        return [
            Finding(
                "not_aligned",
                ERROR,
                "not_aligned",
                ("parent_id",),
                {
                    "article": "an" if obj.level[0] in "aeiou" else "a",
                    "level": obj.level,
                    "level_zh": LEVELS_ZH.get(obj.level, obj.level),
                },
            )
        ]
    return []


def _positive(w: Decimal | None) -> bool:
    return w is not None and w > 0


def weights(obj: LintObjective) -> list[Finding]:
    out = []
    if not _positive(obj.weight):
        out.append(Finding("weight_not_positive", ERROR, "objective_weight_not_positive", ("weight",)))
    for i, kr in enumerate(obj.key_results):
        if not _positive(kr.weight):
            out.append(
                Finding("weight_not_positive", ERROR, "key_result_weight_not_positive", ("key_results", i, "weight"))
            )
        for j, w in enumerate(kr.milestone_weights):
            if not _positive(w):
                out.append(
                    Finding(
                        "weight_not_positive",
                        ERROR,
                        "milestone_weight_not_positive",
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
        *due_dates(obj, limits),
        *alignment(obj),
        *weights(obj),
    ]


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
