"""The lab's SSH keys (operator key, user CA, host keys) and its generated secrets."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ilag_infra.lab.paths import LabPaths
from ilag_infra.lab.proc import run


@dataclass(frozen=True)
class KeyPair:
    private: str
    public: str  # one OpenSSH public key line: "ssh-ed25519 AAAA… comment"


def write_private(path: Path, text: str) -> None:
    """Write a secret file 0600 from the first byte (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def generate(comment: str) -> KeyPair:
    """A fresh ed25519 key pair, made by ssh-keygen in a private temporary directory."""
    with tempfile.TemporaryDirectory(prefix="ilag-lab-key-") as tmp:
        key = Path(tmp) / "key"
        run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key],
            what="generating an SSH key",
            fix="install openssh-client",
        )
        return KeyPair(key.read_text(), key.with_suffix(".pub").read_text().strip())


def _ensure_keyfile(path: Path, comment: str) -> str:
    """Create the key once (kept across lab runs); return its public line."""
    pub = path.with_name(path.name + ".pub")
    if not (path.is_file() and pub.is_file()):
        pair = generate(comment)
        write_private(path, pair.private)
        pub.write_text(pair.public + "\n")
    os.chmod(path, 0o600)
    return pub.read_text().strip()


def ensure_operator_key(paths: LabPaths) -> str:
    """The key the machine uses to SSH into lab hosts as root."""
    return _ensure_keyfile(paths.operator_key, "ilag-lab-operator")


def ensure_user_ca(paths: LabPaths) -> str:
    """The lab's SSH user CA: stands in for the identity stack's CA key."""
    return _ensure_keyfile(paths.user_ca_key, "ilag-lab-user-ca")


def ensure_restic_passwords(paths: LabPaths, slugs: list[str]) -> dict[str, str]:
    """One random restic password per municipality, generated once and kept 0600."""
    data: dict[str, dict[str, str]] = {}
    if paths.secrets_file.is_file():
        data = json.loads(paths.secrets_file.read_text())
    passwords = data.setdefault("restic_passwords", {})
    changed = False
    for slug in slugs:
        if slug not in passwords:
            passwords[slug] = secrets.token_urlsafe(32)
            changed = True
    if changed or not paths.secrets_file.is_file():
        write_private(paths.secrets_file, json.dumps(data, indent=2) + "\n")
    return {slug: passwords[slug] for slug in slugs}
