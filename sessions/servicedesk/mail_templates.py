# Chinese text uses full-width punctuation on purpose; it is correct there, not a look-alike.
# ruff: noqa: RUF001
"""Email templates in English and Simplified Chinese, rendered when a mail is queued.

Rendering at queue time means the outbox holds the finished text: a restart or a template
change never alters a mail already promised.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sessions.exceptions import ValidationError

LOCALES = ("en", "zh-CN")

_T = dict[str, tuple[str, str]]

_EN: _T = {
    "session_summary": (
        "Service summary for $device_model ($device_serial), ticket $ticket_id",
        "Dear $recipient_name,\n\n"
        "A remote service session on your $device_model (serial $device_serial) took place "
        "on $session_date with $expert_name.\n\n"
        "What was done:\n$done\n\nWhat was replaced:\n$replaced\n\nWhat to watch:\n$watch\n\n"
        "Ticket: $ticket_id\n\nTeleGuide service desk\n",
    ),
    "sla_at_risk": (
        "At risk: $clock deadline of ticket $ticket_id at $due_at",
        "Ticket $ticket_id ($title, tier $tier) has used 75% of its $clock window.\n"
        "Deadline: $due_at\nAssignee: $assignee\n",
    ),
    "sla_breached": (
        "Breached: $clock deadline of ticket $ticket_id",
        "Ticket $ticket_id ($title, tier $tier) missed its $clock deadline ($due_at).\n"
        "It has been escalated and offered for reassignment.\nAssignee: $assignee\n",
    ),
    "survey_invitation": (
        "How did we do? Ticket $ticket_id",
        'Your request "$title" was resolved. Please rate our service (1-5) here:\n'
        "$survey_url\n\nThe link works once.\n",
    ),
    "complaint_overdue": (
        "Complaint $complaint_id is overdue",
        "Complaint $complaint_id about ticket $ticket_id was due on $due_at and is still open.\n",
    ),
}

_ZH: _T = {
    "session_summary": (
        "$device_model（序列号 $device_serial）服务总结，工单 $ticket_id",
        "$recipient_name 您好：\n\n"
        "$session_date，$expert_name 为贵科室的 $device_model（序列号 $device_serial）"
        "进行了远程服务。\n\n处理内容：\n$done\n\n更换部件：\n$replaced\n\n注意事项：\n$watch\n\n"
        "工单号：$ticket_id\n\nTeleGuide 服务台\n",
    ),
    "sla_at_risk": (
        "预警：工单 $ticket_id 的$clock时限将于 $due_at 到期",
        "工单 $ticket_id（$title，级别 $tier）的$clock时限已用去 75%。\n"
        "截止时间：$due_at\n负责人：$assignee\n",
    ),
    "sla_breached": (
        "超时：工单 $ticket_id 的$clock时限已过",
        "工单 $ticket_id（$title，级别 $tier）已超过$clock截止时间（$due_at）。\n"
        "工单已升级，并重新分配。\n负责人：$assignee\n",
    ),
    "survey_invitation": (
        "请评价我们的服务：工单 $ticket_id",
        "您的请求“$title”已处理完毕。请通过以下链接为我们的服务打分（1-5 分）：\n"
        "$survey_url\n\n该链接仅可使用一次。\n",
    ),
    "complaint_overdue": (
        "投诉 $complaint_id 已逾期",
        "关于工单 $ticket_id 的投诉 $complaint_id 应于 $due_at 前结案，目前仍未关闭。\n",
    ),
}

_TEMPLATES: dict[str, _T] = {"en": _EN, "zh-CN": _ZH}
_EMPTY = {"en": "- none", "zh-CN": "- 无"}


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """A finished mail."""

    subject: str
    """Subject line."""
    text: str
    """Plain-text body."""
    locale: str
    """The locale actually used."""


def pick_locale(locale: str) -> str:
    """The supported locale nearest to ``locale`` (any Chinese -> zh-CN, otherwise en)."""
    return "zh-CN" if locale.lower().startswith("zh") else "en"


def _value(item: Any, locale: str) -> str:
    # Lists become bullet lines, so "what was replaced" reads as a list in both languages.
    if isinstance(item, Sequence) and not isinstance(item, str):
        return "\n".join(f"- {entry}" for entry in item) if item else _EMPTY[locale]
    return str(item)


def render(name: str, locale: str, context: Mapping[str, Any]) -> RenderedMail:
    """Render template ``name`` in ``locale``; a missing field is a ValidationError."""
    chosen = pick_locale(locale)
    try:
        subject, body = _TEMPLATES[chosen][name]
    except KeyError:
        raise ValidationError(f"no mail template {name!r}", template=name) from None
    values = {key: _value(item, chosen) for key, item in context.items()}
    try:
        return RenderedMail(
            string.Template(subject).substitute(values),
            string.Template(body).substitute(values),
            chosen,
        )
    except KeyError as exc:
        raise ValidationError(f"mail template {name!r} needs {exc.args[0]!r}") from None


def template_names() -> list[str]:
    """Every template name (the same set exists in each locale)."""
    return sorted(_EN)


_CLOCK_NAMES = {
    "en": {"response": "response", "resolution": "resolution", "callback": "callback"},
    "zh-CN": {"response": "响应", "resolution": "解决", "callback": "回访"},
}


def clock_name(clock: str, locale: str) -> str:
    """The name of an SLA clock (``response``, ``resolution``, ``callback``) in ``locale``."""
    return _CLOCK_NAMES[pick_locale(locale)].get(clock, clock)
