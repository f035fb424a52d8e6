"""Which names hold a secret: the one list, for every renderer, record and plan worker.

Standard library only, and the policy sits between the two markers below:
diff/worker.py, which must import nothing from ilag_infra, carries a verbatim copy of that
block, and a test fails when the two differ.
"""

from __future__ import annotations

import re

# --- secret names: begin ---
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
# Words that make a name secret only as its last word: Ansible's ansible_become_pass and
# ansible_ssh_pass, while login.defs' PASS_MAX_DAYS stays a setting.
SECRET_LAST_WORDS = frozenset({"pass"})
# Secret wherever they appear in the name, separators removed (userPassword, sshPrivateKey).
SECRET_PARTS = ("password", "passwd", "connectionstring", "credential", "privatekey")
# Whole names (lower case, separators removed) that contain a secret word but are not secret:
# keyToSign says which account key signs a SAS ("key1"), not the key itself.
NOT_SECRET = frozenset({"keytosign"})
_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_secret_name(name: str) -> bool:
    """True if a key, output, argument or variable with this name holds a secret value."""
    text = str(name)
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    if compact in NOT_SECRET:
        return False
    words = [w.lower() for w in _NAME_WORD.findall(text)]
    singular = {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}
    found = (set(words) | singular) & SECRET_WORDS
    # A public key is public by definition, and a key vault's name is a name: only "key"
    # hits are forgiven so.
    if found == {"key"} and ("public" in words or "vault" in words):
        return False
    if found or (words and words[-1] in SECRET_LAST_WORDS):
        return True
    return any(part in compact for part in SECRET_PARTS)


# --- secret names: end ---
