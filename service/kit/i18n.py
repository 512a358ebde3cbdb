"""The language of a request's human-readable texts: problem `title`/`detail` and the OKR
lint's messages, in English (`en`) or Simplified Chinese (`zh-CN`).

The language is chosen from `Accept-Language` (RFC 9110 section 12.5.4: language ranges
with q-values, matched as RFC 4647 "lookup" does, by prefix): the supported language
of the range with the highest weight wins, ties in the header's order; `q=0` rules a
language out; `*` and no match at all fall back to English. Chinese ranges for
Simplified script (`zh`, `zh-CN`, `zh-Hans`, `zh-SG`, ...) choose `zh-CN`; Traditional
ones (`zh-TW`, `zh-HK`, `zh-Hant`) are not served and fall through to the next range.

Only texts change: `type`, `code`, `status`, field names, `loc` and every other machine
member stay the same in every language, so a client branches on `code` and shows
`title`/`detail`. A response that carries a text of the catalogue answers
`Content-Language` (and `Vary: Accept-Language`), set by `LanguageMiddleware`
(service/web/language.py) from the `Negotiated` state this module keeps per request.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

EN = "en"
ZH_CN = "zh-CN"
SUPPORTED = (EN, ZH_CN)
DEFAULT = EN
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


@dataclass
class Negotiated:
    """The language chosen for one request, and whether anything was rendered in it
    (then the answer says `Content-Language`). Mutable on purpose: code that runs in a
    copy of the request's context (a worker thread) still marks the same object."""

    language: str = DEFAULT
    used: bool = False


_current: contextvars.ContextVar[Negotiated | None] = contextvars.ContextVar("language", default=None)


def _supported(tag: str) -> str | None:
    """The supported language a language range selects, if any (RFC 4647 lookup: a
    range matches a language it is a prefix of, or that is a prefix of it)."""
    tag = tag.strip().lower()
    if tag in ("*", "en") or tag.startswith("en-"):
        return EN if tag != "*" else None
    if tag == "zh" or tag.startswith("zh-"):
        if any(tag == t or tag.startswith(t + "-") for t in _TRADITIONAL):
            return None
        return ZH_CN
    return None


def negotiate(header: str | None) -> str:
    """The language to answer in for an `Accept-Language` value (None: not sent)."""
    if not header:
        return DEFAULT
    ranges: list[tuple[float, int, str]] = []
    refused: set[str] = set()
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.partition(";")
        tag = tag.strip()
        if not tag:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0  # a malformed weight is not a preference
        language = _supported(tag)
        if weight <= 0:
            if language is not None:
                refused.add(language)  # q=0: "not acceptable"
            continue
        ranges.append((-min(weight, 1.0), position, tag))
    for _, _, tag in sorted(ranges):
        language = _supported(tag)
        if language is not None and language not in refused:
            return language
    return DEFAULT


@contextmanager
def negotiated(header: str | None) -> Iterator[Negotiated]:
    """The language of one request, for as long as it is answered (the web layer's
    middleware); the context's earlier language is back afterwards."""
    state = Negotiated(negotiate(header))
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)


def current() -> str:
    """The current request's language (English outside a request)."""
    state = _current.get()
    return state.language if state is not None else DEFAULT


def _mark() -> None:
    state = _current.get()
    if state is not None:
        state.used = True


def render(catalogue: Mapping[str, Mapping[str, str]], key: str, params: Mapping[str, Any] | None = None) -> str:
    """`catalogue[language][key]` formatted with `params`, in the current language, else
    in English (every key has an English text)."""
    _mark()
    texts = catalogue.get(current()) or catalogue[DEFAULT]
    template = texts.get(key) or catalogue[DEFAULT][key]
    return template.format(**(params or {}))


# --- problem texts --------------------------------------------------------------------------

# Titles of zh-CN by the English title the problem carries; any other status falls back
# to STATUS_TITLES_ZH by its number.
TITLES_ZH: dict[str, str] = {
    "Bad request": "请求有误",
    "Unauthorized": "未认证",
    "Forbidden": "禁止访问",
    "Not found": "未找到",
    "Method not allowed": "方法不被允许",
    "Method Not Allowed": "方法不被允许",
    "Not acceptable": "无法提供可接受的格式",
    "Conflict": "冲突",
    "Concurrent change": "并发修改冲突",
    "Cycle locked": "周期已锁定",
    "Precondition failed": "前提条件不满足",
    "Precondition required": "需要前提条件",
    "Payload too large": "请求体过大",
    "Unsupported Media Type": "不支持的媒体类型",
    "Validation failed": "校验失败",
    "Too many requests": "请求过于频繁",
    "Internal server error": "服务器内部错误",
    "Service unavailable": "服务暂不可用",
    "HTTP error": "HTTP 错误",
}
STATUS_TITLES_ZH: dict[int, str] = {
    400: "请求有误",
    401: "未认证",
    403: "禁止访问",
    404: "未找到",
    405: "方法不被允许",
    406: "无法提供可接受的格式",
    409: "冲突",
    410: "资源已不存在",
    412: "前提条件不满足",
    413: "请求体过大",
    415: "不支持的媒体类型",
    422: "校验失败",
    428: "需要前提条件",
    429: "请求过于频繁",
    431: "请求头过大",
    500: "服务器内部错误",
    502: "网关错误",
    503: "服务暂不可用",
    504: "网关超时",
}
# Fixed details (no value inside them) the services and the web layer answer with. A
# detail not listed here (most name a value: a limit, a status, an id) stays English.
DETAILS_ZH: dict[str, str] = {
    "the request is not valid": "请求无效",
    "the objective has lint errors": "该目标存在质量检查错误",
    "objective not found": "未找到该目标",
    "key result not found": "未找到该关键结果",
    "cycle not found": "未找到该周期",
    "employee not found": "未找到该员工",
    "no such employee": "没有该员工",
    "the change conflicts with existing data": "该修改与现有数据冲突",
    "the resource was changed concurrently; read it again": "资源已被并发修改，请重新读取",
    "the database is unavailable; retry later": "数据库暂不可用，请稍后重试",
    "an unexpected error occurred; it has been logged": "发生了意外错误，已记录日志",
    "a rejection needs a comment": "驳回需要填写意见",
    "a grade needs a grade_reason": "打分需要填写 grade_reason",
    "the objective is closed and read-only": "该目标已关闭，只读",
    "a key result is graded once its objective is closed": "目标关闭后才能为关键结果打分",
    "a check-in cannot be in the future": "签到时间不能晚于现在",
    "missing bearer token": "缺少 Bearer 令牌",
    "malformed token": "令牌格式错误",
    "invalid token": "令牌无效",
    "unknown organization": "未知的组织",
    "not allowed to do this with objective": "无权对该目标执行此操作",
    "not allowed to do this with objectives": "无权对目标执行此操作",
    "not allowed to do this with key result": "无权对该关键结果执行此操作",
    "not allowed to do this with key results": "无权对关键结果执行此操作",
}


def problem_title(title: str, status: int) -> str:
    if current() == ZH_CN:
        _mark()
        return TITLES_ZH.get(title) or STATUS_TITLES_ZH.get(status, title)
    _mark()
    return title


def problem_detail(detail: str) -> str:
    if current() == ZH_CN:
        return DETAILS_ZH.get(detail, detail)
    return detail


def localise_problem(body: dict[str, Any]) -> dict[str, Any]:
    """A rendered problem+json body with its `title` and `detail` in the request's
    language; every other member as it was. A detail equal to the title (a problem
    raised without one) is translated as the title."""
    status = int(body.get("status") or 500)
    title = body.get("title")
    detail = body.get("detail")
    out = dict(body)
    if isinstance(title, str):
        out["title"] = problem_title(title, status)
        if isinstance(detail, str) and detail == title:
            out["detail"] = out["title"]
        elif isinstance(detail, str):
            out["detail"] = problem_detail(detail)
    elif isinstance(detail, str):
        out["detail"] = problem_detail(detail)
    return out
