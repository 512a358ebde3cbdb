"""The OKR lint's messages in every language the API speaks (service/kit/i18n.py), by
message id. A finding's `code` never changes with the language; only these texts do.
Every id has an English text; a language without one falls back to English."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "too_few_key_results": "an objective needs at least {min} key results; it has {n}",
        "too_many_key_results": "an objective takes at most {max} key results; it has {n}",
        "too_many_objectives": "an owner takes at most {max} objectives per cycle; this would be number {n}",
        "metric_without_start_or_target": "a metric key result needs a numeric start and target",
        "metric_target_is_start": "the target must differ from the start",
        "milestones_missing": "a milestone key result needs at least one milestone",
        "activity_not_outcome": "{title!r} reads like an activity; state the outcome it should change",
        "due_date_missing": "the key result has no due date in a cycle of {days} days (longer than the "
        "{cadence}-day check-in cadence); give it a due date",
        "not_aligned": "{article} {level} objective needs a parent or a supported objective",
        "objective_weight_not_positive": "the objective's weight must be positive",
        "key_result_weight_not_positive": "a key result's weight must be positive",
        "milestone_weight_not_positive": "a milestone's weight must be positive",
    },
    "zh-CN": {
        "too_few_key_results": "一个目标至少需要 {min} 个关键结果；当前有 {n} 个",
        "too_many_key_results": "一个目标最多只能有 {max} 个关键结果；当前有 {n} 个",
        "too_many_objectives": "每个负责人每个周期最多 {max} 个目标；这将是第 {n} 个",
        "metric_without_start_or_target": "指标型关键结果需要数值型的起始值和目标值",
        "metric_target_is_start": "目标值必须与起始值不同",
        "milestones_missing": "里程碑型关键结果至少需要一个里程碑",
        "activity_not_outcome": "“{title}”读起来像一项活动；请写明它要带来的可衡量结果",
        "due_date_missing": "该关键结果没有截止日期，而周期长达 {days} 天（超过 {cadence} 天的签到周期）；"
        "请设置截止日期",
        "not_aligned": "{level_zh}目标需要一个上级目标或一个所支持的目标",
        "objective_weight_not_positive": "目标的权重必须为正数",
        "key_result_weight_not_positive": "关键结果的权重必须为正数",
        "milestone_weight_not_positive": "里程碑的权重必须为正数",
    },
}

LEVELS_ZH = {"company": "公司级", "department": "部门级", "team": "团队级", "individual": "个人"}
