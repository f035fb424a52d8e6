"""Decisions of the baseline role that are clearer in Python than in Jinja."""

from __future__ import annotations

from typing import Any


def ilag_sysctl_plan(lines: list[str], wanted: dict[str, Any]) -> dict[str, list[str]]:
    """Compare `key rw|ro|absent value` lines with the wanted values.

    Returns `to_set` (key=value arguments for `sysctl -w`, writable keys that differ) and
    `read_only` (keys that differ but cannot be written here, e.g. in a container).
    """
    to_set: list[str] = []
    read_only: list[str] = []
    for line in lines:
        fields = str(line).split()
        if len(fields) < 2 or fields[0] not in wanted:
            continue
        key, mode, value = fields[0], fields[1], " ".join(fields[2:])
        want = " ".join(str(wanted[key]).split())
        if mode == "absent" or value == want:
            continue
        if mode == "rw":
            to_set.append(f"{key}={want}")
        else:
            read_only.append(key)
    return {"to_set": to_set, "read_only": read_only}


CRON_DIRS = {f"/etc/cron.{d}" for d in ("d", "hourly", "daily", "weekly", "monthly", "yearly")}
ACCOUNT_FILES = {"/etc/passwd", "/etc/passwd-", "/etc/group", "/etc/group-"}
SHADOW_FILES = {"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"}


def ilag_permission_items(
    found: list[dict[str, Any]], cron: bool, home: bool, shadow: bool
) -> list[dict[str, str]]:
    """File-module items for the paths `find` returned. Symbolic modes only take permissions
    away, so a path that is already stricter stays as it is."""
    items: list[dict[str, str]] = []
    for entry in sorted(found, key=lambda e: str(e.get("path"))):
        path = str(entry.get("path"))
        is_dir, is_reg = bool(entry.get("isdir")), bool(entry.get("isreg"))
        if cron and ((path in CRON_DIRS and is_dir) or (path == "/etc/crontab" and is_reg)):
            items.append({"path": path, "owner": "root", "group": "root", "mode": "go-rwx"})
        elif home and is_dir and path.startswith("/home/") and path.count("/") == 2:
            items.append({"path": path, "mode": "g-w,o-rwx"})
        elif shadow and is_reg and path in ACCOUNT_FILES:
            items.append({"path": path, "owner": "root", "group": "root", "mode": "u-x,go-wx"})
        elif shadow and is_reg and path in SHADOW_FILES:
            items.append(
                {"path": path, "owner": "root", "group": "shadow", "mode": "u-x,g-wx,o-rwx"}
            )
    if home:
        items.append({"path": "/root", "mode": "go-rwx"})
    return items


def _sshd_word(keyword: str, value: Any) -> str:
    if isinstance(value, bool):
        value = "yes" if value else "no"
    v = str(value).strip().lower()
    # sshd -T prints the old spelling of prohibit-password.
    return "without-password" if keyword == "permitrootlogin" and v == "prohibit-password" else v


def ilag_sshd_overridden(
    effective: list[str], wanted: dict[str, Any], extra: dict[str, Any] | None = None
) -> list[str]:
    """The keywords whose effective value (`sshd -T` lines) is not the one the drop-in
    writes. The drop-in writes `extra` first and sshd keeps the first value, so those win."""
    have: dict[str, str] = {}
    for line in effective:
        key, _, value = line.strip().partition(" ")
        have.setdefault(key.lower(), value.strip())
    want = {k.lower(): v for k, v in wanted.items()}
    want.update({str(k).lower(): v for k, v in (extra or {}).items() if str(k).lower() in want})
    out = []
    for key, value in want.items():
        got = have.get(key)
        if got is None or _sshd_word(key, got) != _sshd_word(key, value):
            out.append(f"{key} is {got if got is not None else 'unset'}, want {value}")
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "ilag_sysctl_plan": ilag_sysctl_plan,
            "ilag_permission_items": ilag_permission_items,
            "ilag_sshd_overridden": ilag_sshd_overridden,
        }
