"""Where alerts go, read from ILAG_ALERT_* environment variables.

The node's systemd units read them from a root-only EnvironmentFile, so no secret sits in the
repository. The SMTP password is never in the environment itself: only the path of a file
that holds it.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ilag_infra.model.errors import InputError, Problem

WEBHOOK_URL = "ILAG_ALERT_WEBHOOK_URL"
ALLOW_HTTP = "ILAG_ALERT_ALLOW_HTTP"
SMTP = "ILAG_ALERT_SMTP"
SMTP_FROM = "ILAG_ALERT_SMTP_FROM"
SMTP_TO = "ILAG_ALERT_SMTP_TO"
SMTP_USER = "ILAG_ALERT_SMTP_USER"
SMTP_PASSWORD_FILE = "ILAG_ALERT_SMTP_PASSWORD_FILE"
SMTP_STARTTLS = "ILAG_ALERT_SMTP_STARTTLS"
VARIABLES = (
    WEBHOOK_URL,
    ALLOW_HTTP,
    SMTP,
    SMTP_FROM,
    SMTP_TO,
    SMTP_USER,
    SMTP_PASSWORD_FILE,
    SMTP_STARTTLS,
)

WHERE = "(environment)"
_YES = {"1", "yes", "true", "on"}
_NO = {"0", "no", "false", "off"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password_file: Path | None = None
    starttls: bool = True

    def password(self) -> str | None:
        """Read when sending only, so the password lives in memory as briefly as it can."""
        if self.password_file is None:
            return None
        return self.password_file.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: str | None = None
    smtp: SmtpSettings | None = None
    # Plain http to the webhook (the lab's receiver speaks no TLS).
    allow_http: bool = False
    channels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        found = []
        if self.webhook_url:
            found.append("webhook")
        if self.smtp is not None:
            found.append("smtp")
        object.__setattr__(self, "channels", tuple(found))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _flag(env: Mapping[str, str], name: str, default: bool, problems: list[Problem]) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _YES:
        return True
    if raw in _NO:
        return False
    problems.append(Problem(WHERE, name, f"{raw!r} is not yes or no", f"set {name}=yes or no"))
    return default


def _webhook(env: Mapping[str, str], allow_http: bool, problems: list[Problem]) -> str | None:
    url = env.get(WEBHOOK_URL, "").strip()
    if not url:
        return None
    # The URL's path is the chat's token: no message here quotes it.
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        problems.append(
            Problem(WHERE, WEBHOOK_URL, "is not a URL", "set the chat's incoming-webhook URL")
        )
        return None
    if parts.scheme not in ("https", "http") or not host:
        problems.append(
            Problem(
                WHERE,
                WEBHOOK_URL,
                f"must be an https:// URL with a host (got scheme {parts.scheme or 'none'!r})",
                "set the chat's incoming-webhook URL, https://...",
            )
        )
        return None
    if parts.scheme == "http" and not (allow_http or is_loopback(host)):
        problems.append(
            Problem(
                WHERE,
                WEBHOOK_URL,
                f"plain http to {host} would send the webhook's token unencrypted",
                f"use the https:// URL (or, in the lab only, set {ALLOW_HTTP}=1)",
            )
        )
        return None
    if parts.username or parts.password:
        problems.append(
            Problem(WHERE, WEBHOOK_URL, "holds a user or password", "drop the user:password@ part")
        )
        return None
    return url


def _password_file(env: Mapping[str, str], problems: list[Problem]) -> Path | None:
    raw = env.get(SMTP_PASSWORD_FILE, "").strip()
    if not raw:
        return None
    path = Path(raw)
    try:
        mode = path.stat().st_mode
        with path.open("rb"):
            pass
    except OSError as exc:
        problems.append(
            Problem(
                WHERE,
                SMTP_PASSWORD_FILE,
                f"{path} cannot be read ({exc.strerror or type(exc).__name__})",
                "point it at a file holding the SMTP password, readable by the service's user",
            )
        )
        return None
    if not stat.S_ISREG(mode):
        problems.append(
            Problem(WHERE, SMTP_PASSWORD_FILE, f"{path} is not a file", "point it at a file")
        )
        return None
    if mode & stat.S_IROTH:
        problems.append(
            Problem(
                WHERE,
                SMTP_PASSWORD_FILE,
                f"{path} can be read by every user on the machine",
                f"chmod 600 {path}",
            )
        )
        return None
    return path


def _smtp(
    env: Mapping[str, str], allow_plain: bool, problems: list[Problem]
) -> SmtpSettings | None:
    raw = env.get(SMTP, "").strip()
    others = [n for n in (SMTP_FROM, SMTP_TO, SMTP_USER, SMTP_PASSWORD_FILE) if env.get(n)]
    if not raw:
        if others:
            problems.append(
                Problem(
                    WHERE,
                    SMTP,
                    f"not set, but {', '.join(others)} is",
                    f"set {SMTP}=host:port, or unset {', '.join(others)}",
                )
            )
        return None
    host, sep, port_text = raw.rpartition(":")
    host = host.strip("[]")
    port = int(port_text) if port_text.isdigit() else 0
    before = len(problems)
    if not sep or not host or not 0 < port < 65536:
        problems.append(
            Problem(
                WHERE,
                SMTP,
                f"{raw!r} is not host:port",
                f"set {SMTP}=host:port, e.g. smtp.x.no:587",
            )
        )
    sender = env.get(SMTP_FROM, "").strip()
    if "@" not in sender:
        problems.append(
            Problem(
                WHERE,
                SMTP_FROM,
                "not set" if not sender else f"{sender!r} is not an e-mail address",
                f"set {SMTP_FROM} to the address alerts come from",
            )
        )
    recipients = tuple(a.strip() for a in env.get(SMTP_TO, "").split(",") if a.strip())
    bad = [a for a in recipients if "@" not in a]
    if not recipients or bad:
        problems.append(
            Problem(
                WHERE,
                SMTP_TO,
                "not set" if not recipients else f"not e-mail addresses: {', '.join(bad)}",
                f"set {SMTP_TO} to a comma-separated list of addresses",
            )
        )
    starttls = _flag(env, SMTP_STARTTLS, True, problems)
    user = env.get(SMTP_USER, "").strip() or None
    password_file = _password_file(env, problems)
    if user and not env.get(SMTP_PASSWORD_FILE, "").strip():
        problems.append(
            Problem(
                WHERE,
                SMTP_PASSWORD_FILE,
                f"not set, but {SMTP_USER} is",
                f"set {SMTP_PASSWORD_FILE} to a root-only file holding the password",
            )
        )
    if password_file and not user:
        problems.append(
            Problem(WHERE, SMTP_USER, f"not set, but {SMTP_PASSWORD_FILE} is", f"set {SMTP_USER}")
        )
    if user and not starttls and not (allow_plain or is_loopback(host)):
        problems.append(
            Problem(
                WHERE,
                SMTP_STARTTLS,
                f"no, with {SMTP_USER} set: the password would cross the network unencrypted",
                f"set {SMTP_STARTTLS}=yes",
            )
        )
    if len(problems) > before:
        return None
    return SmtpSettings(host, port, sender, recipients, user, password_file, starttls)


def from_env(env: Mapping[str, str] | None = None) -> AlertSettings:
    """The alert settings in `env` (default: this process's environment). None set: no
    channels, which is not an error. A bad value: InputError naming each variable."""
    env = os.environ if env is None else env
    problems: list[Problem] = []
    allow_http = _flag(env, ALLOW_HTTP, False, problems)
    webhook = _webhook(env, allow_http, problems)
    smtp = _smtp(env, allow_http, problems)
    if problems:
        raise InputError(problems)
    return AlertSettings(webhook, smtp, allow_http)
