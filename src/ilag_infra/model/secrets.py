"""The one secrets policy: the mask, which names count as secret, and redaction in text.

Every renderer, record and log that may carry stack outputs, SAS URLs or passwords goes
through here. (diff/worker.py keeps its own small copy: it must stay standard-library-only.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "[secret]"

# Words that make a name secret, matched as whole words of the name (camelCase, snake_case,
# kebab-case and dotted names are split), singular or plural, case-insensitive.
SECRET_WORDS = frozenset(
    {
        "key",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "psk",
        "token",
        "sig",
        "signature",
        "credential",
        "sas",
        "connectionstring",
    }
)
# Whole names (lower case, separators removed) that contain a secret word but are not secret:
# keyToSign says which account key signs a SAS ("key1"), not the key itself.
NOT_SECRET = frozenset({"keytosign"})

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# sig=... in a SAS query string, up to the next separator.
_SIG = re.compile(r"(\bsig=)[^&\"'\s<>|]+", re.IGNORECASE)
# name=value / name: value / "name": "value" where the name says password, secret, token...
_ASSIGNED = re.compile(
    # Not after a slash: /etc/passwd: … is a path in a message, not an assignment.
    r"((?<![/\w.-])[\w.-]*(?:password|passwd|passphrase|secret|token|psk|credential|accountkey"
    r"|sharedaccesskey|privatekey|apikey)s?\b[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\[secret\])([^\s\"'&,;}\]]+)",
    re.IGNORECASE,
)
# scheme://user:password@host
_USERINFO = re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(@)")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """True if a key, output or argument with this name holds a secret value."""
    text = str(name)
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    if compact in NOT_SECRET:
        return False
    words = _words(text)
    singular = {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}
    found = (set(words) | singular) & SECRET_WORDS
    # A public key is public by definition, and a key vault's name is a name: only "key"
    # hits are forgiven so.
    if found == {"key"} and ("public" in words or "vault" in words):
        return False
    if found:
        return True
    return any(w in compact for w in ("password", "passwd", "connectionstring", "credential"))


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
