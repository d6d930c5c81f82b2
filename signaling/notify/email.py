"""Email transport: plain-text UTF-8 mail over SMTP, sent with smtplib in a worker thread.

smtplib blocks, so every send runs in ``asyncio.to_thread`` with a socket timeout; the
event loop never waits on a mail server. (aiosmtplib would do the same natively; it is not
a dependency, and one thread per in-flight mail is cheap at service-desk volumes.)
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sessions.servicedesk.outbox import OutboxMessage
from signaling.notify.transport import DeliveryError


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to send mail."""

    host: str
    """SMTP server."""
    port: int = 25
    """SMTP port (587 with STARTTLS is usual for submission)."""
    sender: str = "teleguide@localhost"
    """From address."""
    username: str | None = None
    """Login, when the server wants one."""
    password: str | None = None
    """Password for ``username``."""
    starttls: bool = False
    """Upgrade the connection with STARTTLS before sending."""
    timeout: float = 10.0
    """Seconds for connecting and for each SMTP command."""


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message of an outbox email (payload ``to``, ``subject``, ``text``, ``locale``)."""
    payload = message.payload
    try:
        to, subject, text = str(payload["to"]), str(payload["subject"]), str(payload["text"])
    except KeyError as exc:
        raise DeliveryError(f"email payload lacks {exc.args[0]!r}", permanent=True) from None
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(message.created_at.timestamp(), usegmt=True)
    # Stable per outbox message, so a retry after a lost "250 OK" is recognisably the same.
    mail["Message-ID"] = make_msgid(idstring=message.id, domain="teleguide")
    mail["Content-Language"] = str(payload.get("locale", "en"))
    mail.set_content(text, charset="utf-8")
    return mail


class SmtpTransport:
    """Sends outbox emails through one SMTP server."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def deliver(self, message: OutboxMessage) -> None:
        """Send one mail; a refusal or a network failure is a DeliveryError."""
        mail = build_email(message, self.settings.sender)
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(
                f"{code} {text.decode(errors='replace')}" for code, text in exc.recipients.values()
            )
            raise DeliveryError(f"recipient refused: {answers}") from exc
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise DeliveryError(f"SMTP {exc.smtp_code} {text}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        """Nothing to release: each send opens and closes its own connection."""
