"""Email over SMTP (host, port, TLS and credentials from the settings)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from jobdeck.alerts.channels.base import DeliveryError, headline
from jobdeck.config import Settings


def compose(to: str, payload: Mapping[str, Any], sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = headline(payload)
    mail["From"] = sender
    mail["To"] = to
    lines = [
        payload["summary"],
        "",
        payload["message"],
        "",
        f"Job page: {payload['url']}",
        f"At: {payload['at']}",
    ]
    mail.set_content("\n".join(lines))
    return mail


def send(target: str, payload: Mapping[str, Any], settings: Settings) -> None:
    if not settings.smtp_host:
        raise DeliveryError("no SMTP server configured (JOBDECK_SMTP_HOST)")
    mail = compose(target, payload, settings.smtp_from)
    try:
        client: smtplib.SMTP
        if settings.smtp_tls == "ssl":
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
        with client:
            if settings.smtp_tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password or "")
            client.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
