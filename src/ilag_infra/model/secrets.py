"""The one secrets policy: the mask, which names count as secret, and redaction in text.

Every renderer, record and log that may carry stack outputs, SAS URLs or passwords goes
through here. The names themselves are decided in model/secret_names.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ilag_infra.model.secret_names import (
    NOT_SECRET,
    SECRET_LAST_WORDS,
    SECRET_PARTS,
    SECRET_WORDS,
    is_secret_name,
)

__all__ = [
    "MASK",
    "NOT_SECRET",
    "SECRET_LAST_WORDS",
    "SECRET_PARTS",
    "SECRET_WORDS",
    "is_secret_name",
    "mask_all",
    "mask_mapping",
    "redact_text",
]

MASK = "[secret]"

# sig=... in a SAS query string, up to the next separator.
_SIG = re.compile(r"(\bsig=)[^&\"'\s<>|]+", re.IGNORECASE)
# In free text, a name ending in one of these words assigns a secret: the secret words, less
# those too common in prose ("host key: SHA256:…"; sig= has its own rule), plus the keys that
# are always secret.
_ASSIGNING = sorted(
    (SECRET_WORDS - {"key", "sig", "signature", "sas"})
    | {"accountkey", "sharedaccesskey", "privatekey", "apikey"}
)
# name=value / name: value / "name": "value" where the name says password, secret, token...
_ASSIGNED = re.compile(
    # Not after a slash: /etc/passwd: … is a path in a message, not an assignment.
    rf"((?<![/\w.-])[\w.-]*(?:{'|'.join(_ASSIGNING)})s?\b[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\[secret\])([^\s\"'&,;}\]]+)",
    re.IGNORECASE,
)
# scheme://user:password@host
_USERINFO = re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(@)")


def redact_text(text: str, known: Iterable[str] = ()) -> str:
    """Text with SAS signatures, assigned passwords/secrets, URL passwords and any `known`
    secret values replaced by MASK. Idempotent."""
    out = _SIG.sub(lambda m: m.group(1) + MASK, text)
    out = _ASSIGNED.sub(lambda m: m.group(1) + MASK, out)
    out = _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), out)
    for value in known:
        if value and len(value) >= 4 and value != MASK:
            out = out.replace(value, MASK)
    return out


def mask_all(value: Any) -> Any:
    """Every leaf replaced by MASK; the shape (mapping keys, list lengths) is kept."""
    if isinstance(value, dict):
        return {k: mask_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_all(v) for v in value]
    return MASK


def mask_mapping(obj: Any, known: Iterable[str] = ()) -> Any:
    """A copy of nested dicts/lists with values under secret names masked and secrets in
    every other string redacted. Non-container, non-string values are returned unchanged."""
    known = tuple(known)
    if isinstance(obj, dict):
        return {
            k: mask_all(v) if is_secret_name(str(k)) else mask_mapping(v, known)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [mask_mapping(v, known) for v in obj]
    if isinstance(obj, str):
        return redact_text(obj, known)
    return obj
