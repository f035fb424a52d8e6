"""How old each trusted SSH user CA key is: its date, its fingerprint, and the checks of both.

The identity stack trusts one to three CA public keys (`ilag:sshUserCaPublicKey`, one per
line). A key does not run out, it gets old: `ilag:sshUserCaCreated` maps each key's SHA256
fingerprint (as `ssh-keygen -lf ca.pub` prints it) to the day the pair was made, and
`ilag:sshUserCaMaxAgeDays` (default 365) says when it should have been rotated. The settings
reader (azure/settings.py) and `ilag validate` refuse a bad value with the same checks.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

PUBLIC_KEY = "ilag:sshUserCaPublicKey"
CREATED_KEY = "ilag:sshUserCaCreated"
MAX_AGE_KEY = "ilag:sshUserCaMaxAgeDays"
DEFAULT_MAX_AGE_DAYS = 365
FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
MAX_AGE_RANGE = (1, 3650)


@dataclass(frozen=True)
class CaKey:
    fingerprint: str  # SHA256:…, as ssh-keygen -lf prints it
    comment: str

    @property
    def name(self) -> str:
        return f"{self.fingerprint} ({self.comment})" if self.comment else self.fingerprint


@dataclass(frozen=True)
class Bad:
    """One bad expiry setting: the key, what is wrong, the fix (the caller adds the file)."""

    key: str
    message: str
    fix: str


def fingerprint(line: str) -> str | None:
    """OpenSSH's SHA256 fingerprint of a public key line, or None when it is not one."""
    parts = line.split()
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def trusted(value: object) -> list[CaKey]:
    """The keys of `ilag:sshUserCaPublicKey` that have a fingerprint (the reader refuses the
    rest)."""
    if not isinstance(value, str):
        return []
    out = []
    for line in value.splitlines():
        fp = fingerprint(line.strip())
        if fp is not None:
            out.append(CaKey(fp, " ".join(line.split()[2:])))
    return out


def as_date(value: object) -> dt.date | None:
    """A YYYY-MM-DD day (YAML may already have made it a date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
        except ValueError:
            return None
    return None


def whole(value: object, low: int, high: int) -> int | None:
    """A whole number in low..high, written as a number or as digits; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.strip().isdigit():
        number = int(value)
    else:
        return None
    return number if low <= number <= high else None


def max_age(value: object) -> int:
    """The max age in days (the default when unset; a bad value is refused by `problems`)."""
    if value is None or value == "":
        return DEFAULT_MAX_AGE_DAYS
    return whole(value, *MAX_AGE_RANGE) or DEFAULT_MAX_AGE_DAYS


def created(value: object) -> dict[str, dt.date]:
    """fingerprint -> day made, for the entries that are readable."""
    if not isinstance(value, Mapping):
        return {}
    out = {}
    for fp, day in value.items():
        parsed = as_date(day)
        if parsed is not None:
            out[str(fp)] = parsed
    return out


def problems(created_value: object, max_age_value: object) -> list[Bad]:
    """Every bad value of the CA date settings, each with its fix."""
    out: list[Bad] = []
    if max_age_value not in (None, "") and whole(max_age_value, *MAX_AGE_RANGE) is None:
        low, high = MAX_AGE_RANGE
        out.append(
            Bad(
                MAX_AGE_KEY,
                f"{max_age_value!r} is not a whole number of days in {low}-{high}",
                f"write the age in days after which a CA key is rotated, e.g. "
                f"{DEFAULT_MAX_AGE_DAYS}",
            )
        )
    if created_value is None:
        return out
    if not isinstance(created_value, Mapping):
        out.append(
            Bad(
                CREATED_KEY,
                "must be a mapping of key fingerprint to the day the key was made",
                'write e.g. "SHA256:…": "2026-01-15" (`ssh-keygen -lf ca.pub` prints the '
                "fingerprint)",
            )
        )
        return out
    # An entry for a key no longer trusted is harmless (a rotation leaves one behind until
    # the file is tidied): the trusted key it does not date is warned about anyway.
    for fp, day in created_value.items():
        if not FINGERPRINT.fullmatch(str(fp)):
            out.append(
                Bad(
                    CREATED_KEY,
                    f"{fp!r} is not a SHA256 fingerprint",
                    "copy it from `ssh-keygen -lf ca.pub` (SHA256: and 43 characters)",
                )
            )
        if as_date(day) is None:
            out.append(
                Bad(
                    CREATED_KEY,
                    f"{day!r} (for {fp}) is not a day like 2026-01-15",
                    "write the day the CA key pair was made as YYYY-MM-DD",
                )
            )
    return out
