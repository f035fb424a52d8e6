"""The two ways an alert leaves the node: a chat's incoming webhook and e-mail over SMTP.

Each send returns None or a one-line reason; a reason never quotes the webhook's token path
or the SMTP password.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from ilag_infra.model.secrets import redact_text
from ilag_infra.onsite.alert_settings import AlertSettings, SmtpSettings, is_loopback

TIMEOUT_S = 10
USERNAME = "ilag"


def masked_url(url: str) -> str:
    """scheme://host[:port]/… : where it goes, without the token in the path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}/…"


def where(settings: AlertSettings, channel: str) -> str:
    """Where a channel sends, for people: the webhook's masked URL, the mail's server and
    recipients."""
    if channel == "webhook" and settings.webhook_url:
        return masked_url(settings.webhook_url)
    if channel == "smtp" and settings.smtp:
        s = settings.smtp
        return f"smtp://{s.host}:{s.port} → {', '.join(s.recipients)}"
    return channel


def _reason(exc: BaseException, secrets: list[str]) -> str:
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return redact_text(text, [s for s in secrets if s])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: urllib would repeat the POST as a GET without the alert."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def send_webhook(url: str, text: str) -> str | None:
    """POST the incoming-webhook payload Slack, Mattermost and Rocket.Chat accept."""
    body = json.dumps({"text": text, "username": USERNAME}, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    parts = urlsplit(url)
    # A loopback or plain-http (lab) receiver is reached directly, never through a proxy
    # from the environment; a chat service on the internet may need the node's proxy.
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if parts.scheme == "http" or is_loopback(parts.hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=TIMEOUT_S) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        return f"{masked_url(url)} answered HTTP {exc.code}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return f"{masked_url(url)}: " + _reason(
            reason if isinstance(reason, BaseException) else exc, [url, parts.path]
        )
    return None


def send_mail(smtp: SmtpSettings, subject: str, body: str) -> str | None:
    """One message to every recipient, over STARTTLS unless the settings say no."""
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    password: str | None = None
    try:
        password = smtp.password()
        with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_S) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user and password is not None:
                client.login(smtp.user, password)
            client.send_message(msg)
    except (OSError, smtplib.SMTPException, UnicodeError) as exc:
        return f"smtp://{smtp.host}:{smtp.port}: " + _reason(exc, [password or ""])
    return None


def send(settings: AlertSettings, channel: str, subject: str, body: str) -> str | None:
    """Send on one channel. The mail gets subject and body; the chat gets the body alone,
    marked [ilag] (its first line already says what the subject says)."""
    if channel == "webhook" and settings.webhook_url:
        return send_webhook(settings.webhook_url, f"[ilag] {body}")
    if channel == "smtp" and settings.smtp:
        return send_mail(settings.smtp, subject, body)
    return f"{channel}: not configured"
