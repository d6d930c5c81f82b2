"""Email against a real local SMTP server (aiosmtpd): templates, delivery, refusals."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from blockbuster import blockbuster_ctx

from sessions.clock import ManualClock
from sessions.exceptions import ValidationError
from sessions.servicedesk.mail_templates import render, template_names
from sessions.servicedesk.outbox import Channel, MessageStatus, RetryPolicy
from sessions.servicedesk.outbox_repo import OutboxRepository
from sessions.store import Store
from signaling.notify.email import SmtpSettings, SmtpTransport
from signaling.notify.worker import OutboxWorker

pytestmark = pytest.mark.servicedesk

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
RETRY = RetryPolicy(max_attempts=2, base_delay=timedelta(seconds=30), jitter=0.0)
SUMMARY = {
    "recipient_name": "Dr. Chen",
    "device_model": "RehaMove 3",
    "device_serial": "SN-7",
    "session_date": "2026-03-04",
    "expert_name": "Li Na",
    "done": ["recalibrated the torque sensor", "updated firmware to 4.2"],
    "replaced": ["left pedal strap"],
    "watch": ["error E12 on start-up", "strap wear"],
    "ticket_id": "tkt_9",
}


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts, or refuses recipients."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Accept or refuse a recipient."""
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message."""
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback that accepts mail."""
    yield from _serve(Mailbox())


@pytest.fixture
def refusing_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback that refuses every recipient."""
    yield from _serve(Mailbox(refuse=True))


def _serve(mailbox: Mailbox) -> Iterator[tuple[Mailbox, int]]:
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated SQLite store."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'mail.db'}")
    await store.migrate()
    yield store
    await store.close()


async def queue_summary(outbox: OutboxRepository, locale: str) -> str:
    """Queue the session summary for the department head in ``locale``."""
    mail = render("session_summary", locale, SUMMARY)
    payload = {
        "to": "head@clinic.example",
        "subject": mail.subject,
        "text": mail.text,
        "locale": mail.locale,
    }
    return await outbox.enqueue(
        Channel.EMAIL, "head@clinic.example", "email.session_summary", payload, T0
    )


def worker_for(outbox: OutboxRepository, port: int, clock: ManualClock) -> OutboxWorker:
    """A worker that sends mail to the local server."""
    transport = SmtpTransport(
        SmtpSettings("127.0.0.1", port, sender="desk@teleguide.example", timeout=5)
    )
    return OutboxWorker(outbox, {Channel.EMAIL: transport}, clock, RETRY)


def test_every_template_renders_in_both_languages() -> None:
    """Each template has an English and a Chinese form; a missing field is a clear error."""
    context = {
        **SUMMARY,
        "title": "pump alarm",
        "tier": "urgent",
        "clock": "response",
        "due_at": "2026-03-04T11:00",
        "assignee": "li",
        "survey_url": "https://desk.example/s/abc",
        "complaint_id": "cmp_1",
    }
    for name in template_names():
        english, chinese = render(name, "en", context), render(name, "zh-Hans-CN", context)
        assert chinese.locale == "zh-CN"
        assert english.subject != chinese.subject
    with pytest.raises(ValidationError, match="needs 'survey_url'"):
        render("survey_invitation", "en", {"ticket_id": "t", "title": "x"})
    with pytest.raises(ValidationError, match="no mail template"):
        render("nope", "en", {})


async def test_session_summary_in_chinese_is_delivered(
    store: Store, smtp_server: tuple[Mailbox, int]
) -> None:
    """The department head gets what was done, what was replaced and what to watch."""
    mailbox, port = smtp_server
    clock = ManualClock(T0)
    outbox = OutboxRepository(store.sessionmaker)
    message_id = await queue_summary(outbox, "zh-CN")
    worker = worker_for(outbox, port, clock)
    with blockbuster_ctx():  # smtplib runs in a thread, never on the event loop
        assert (await worker.run_once()).delivered == 1
    await worker.close()
    [mail] = mailbox.messages
    assert mail["To"] == "head@clinic.example"
    assert mail["Subject"] == "RehaMove 3（序列号 SN-7）服务总结，工单 tkt_9"  # noqa: RUF001
    body = mail.get_content()
    assert "更换部件：\n- left pedal strap" in body  # noqa: RUF001
    assert "注意事项：\n- error E12 on start-up\n- strap wear" in body  # noqa: RUF001
    assert message_id in mail["Message-ID"]
    assert (await outbox.get(message_id)).status is MessageStatus.DELIVERED


async def test_refusing_server_retries_then_dead_letters(
    store: Store, refusing_server: tuple[Mailbox, int]
) -> None:
    """550 on the recipient: retried after the backoff, then visible as a dead letter."""
    _, port = refusing_server
    clock = ManualClock(T0)
    outbox = OutboxRepository(store.sessionmaker)
    message_id = await queue_summary(outbox, "en")
    worker = worker_for(outbox, port, clock)
    assert (await worker.run_once()).retried == 1
    clock.set(T0 + timedelta(seconds=30))
    assert (await worker.run_once()).dead == 1
    await worker.close()
    [dead] = await outbox.dead_letters()
    assert dead.id == message_id
    assert len(dead.errors) == 2
    assert "550" in dead.last_error
    assert "mailbox unavailable" in dead.last_error


async def test_unreachable_server_is_retried(store: Store) -> None:
    """No server listening: a DeliveryError, retried, and the event loop is not blocked."""
    clock = ManualClock(T0)
    outbox = OutboxRepository(store.sessionmaker)
    message_id = await queue_summary(outbox, "en")
    worker = worker_for(outbox, free_port(), clock)
    async with asyncio.timeout(30):
        assert (await worker.run_once()).retried == 1
    await worker.close()
    message = await outbox.get(message_id)
    assert message.status is MessageStatus.PENDING
    assert "ConnectionRefusedError" in message.last_error
