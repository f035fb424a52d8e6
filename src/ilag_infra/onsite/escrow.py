"""Each municipality's restic password in escrow, and the check that it opens the repositories.

The password a municipality's repositories were created with lives on its servers and in its
ansible-vault file. Losing the vault password must not lose the backups, so a copy is kept
apart: in Key Vault in production (`restic-password-<slug>`, written by the backup stack), and
in a file in the lab's state directory in the lab (written by `ilag lab up`).

`ilag backup status` proves the copy is good where it matters: on each backup client, restic
opens the host's own repository with the host's own storage credential, but with the
escrowed password instead of the host's password file. The password reaches the host on
restic's standard input, never on a command line or in a file.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ilag_infra.model.errors import IlagError
from ilag_infra.model.naming import LAB_ESCROW_DIR, restic_escrow_secret
from ilag_infra.onsite import restic
from ilag_infra.onsite.targets import Target, lab_dir

# `cat config` decrypts the repository's config with the key the password opens, and
# --no-lock leaves a running backup or prune undisturbed.
CHECK_ARGS = ["--password-file", "/dev/stdin", "--no-lock", "cat", "config"]
# Only the password may change: the host's repository, SAS and cache stay as the service has them.
PASSWORD_VARIABLES = ("RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND")
WRONG_PASSWORD = "wrong password or no key found"


def lab_file(state_dir: Path, slug: str) -> Path:
    """Where the lab keeps a municipality's escrowed restic password."""
    return state_dir / LAB_ESCROW_DIR / restic_escrow_secret(slug)


class EscrowUnavailable(IlagError):
    """The escrowed password cannot be read; the message says why and what to do."""

    def __init__(self, slug: str, where: str, problem: str, fix: str) -> None:
        super().__init__(f"{slug}: {problem} ({where}); fix: {fix}")
        self.slug, self.where, self.problem, self.fix = slug, where, problem, fix


class EscrowSource(Protocol):
    """Where escrowed passwords come from. read() raises EscrowUnavailable; mismatch_fix()
    says how to put the right password there when it does not open a repository."""

    def where(self, slug: str) -> str: ...

    def read(self, slug: str) -> str: ...

    def mismatch_fix(self, slug: str) -> str: ...


@dataclass(frozen=True)
class LabFileEscrow:
    """The lab's escrow: one 0600 file per municipality in the lab's state directory."""

    state_dir: Path

    def where(self, slug: str) -> str:
        return str(lab_file(self.state_dir, slug))

    def mismatch_fix(self, slug: str) -> str:
        return (
            f"put the password these repositories were created with into {self.where(slug)} "
            "(`sudo ilag lab up` writes the lab's kept password, the one `ilag apply` hands "
            "the hosts)"
        )

    def read(self, slug: str) -> str:
        path = lab_file(self.state_dir, slug)
        fix = (
            "run `sudo ilag lab up`: it writes each municipality's escrow from the lab's "
            "kept passwords"
        )
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise EscrowUnavailable(slug, str(path), "no escrowed restic password", fix) from None
        except OSError as exc:
            raise EscrowUnavailable(
                slug, str(path), f"escrow not readable ({exc.strerror or exc})", "run as root"
            ) from None
        if stat.S_IMODE(mode) & 0o077:
            raise EscrowUnavailable(
                slug,
                str(path),
                f"escrow is readable by others (mode {stat.S_IMODE(mode):04o})",
                f"chmod 600 {path}",
            )
        password = text.strip()
        if not password:
            raise EscrowUnavailable(slug, str(path), "the escrow file is empty", fix)
        return password


@dataclass(frozen=True)
class KeyVaultEscrow:
    """Production: Key Vault secret restic-password-<slug>. Reading it is not built yet."""

    def where(self, slug: str) -> str:
        return f"Key Vault secret {restic_escrow_secret(slug)}"

    def mismatch_fix(self, slug: str) -> str:
        return (
            "put the password these repositories were created with (vault_restic_password in "
            f"inventories/{slug}/group_vars/{slug}/vault.yml) into the escrow: `pulumi config "
            f"set --secret --path 'ilag:resticPasswords.{slug}' -s backup`, then "
            "`pulumi up -s backup`"
        )

    def read(self, slug: str) -> str:
        name = restic_escrow_secret(slug)
        raise EscrowUnavailable(
            slug,
            self.where(slug),
            "reading the escrow from Key Vault is not built in this client yet (it needs the "
            "Azure SDK's Key Vault client and your Entra ID sign-in); the escrow itself is not "
            "checked",
            f"check it by hand as docs/backup.md 'Password escrow' shows (`az keyvault secret "
            f"show --vault-name <identity stack key_vault_name> --name {name}`), or pass "
            "--no-escrow to check only the backups",
        )


def source_for(target: Target) -> EscrowSource:
    if target.env == "lab":
        return LabFileEscrow(lab_dir())
    return KeyVaultEscrow()


def check_command(env_file: str = restic.ENV_FILE) -> str:
    """The shell line that opens the host's repository with the password on standard input."""
    return restic.command(CHECK_ARGS, env_file, unset=PASSWORD_VARIABLES)


def verdict(returncode: int, stderr: str) -> str | None:
    """None when the escrowed password opened the repository, else why not (redacted)."""
    if returncode == 0:
        return None
    text = restic.redact(stderr)
    if WRONG_PASSWORD in text:
        return f"the escrowed password does not open this repository (restic: {WRONG_PASSWORD})"
    fatal = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("Fatal:")]
    reason = fatal[0][:300] if fatal else restic.last_line(text)
    return f"restic cat config exited {returncode}: {reason}"


@dataclass
class EscrowCheck:
    """One municipality's escrow: read, then tried on each of its backup clients."""

    slug: str
    where: str
    # host → None (opened) or why not; empty when the escrow could not be read.
    hosts: dict[str, str | None] = field(default_factory=dict)
    problem: str | None = None  # the escrow itself could not be read
    fix: str = ""  # what to do: for problem, or for a host it does not open

    @property
    def ok(self) -> bool:
        return self.problem is None and all(e is None for e in self.hosts.values())

    def summary(self) -> str:
        """One line for a person: ok, or FAIL naming the municipality and what to do."""
        if self.problem is not None:
            return f"escrow {self.slug}: FAIL {self.problem} ({self.where}); fix: {self.fix}"
        if not self.hosts:
            return f"escrow {self.slug}: ok (read; no backup client to try it on)"
        bad = {h: e for h, e in self.hosts.items() if e is not None}
        if not bad:
            return f"escrow {self.slug}: ok (opens the repositories of {', '.join(sorted(self.hosts))})"
        detail = "; ".join(f"{h}: {e}" for h, e in sorted(bad.items()))
        return f"escrow {self.slug}: FAIL {detail}; fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "municipality": self.slug,
            "where": self.where,
            "ok": self.ok,
            "hosts": dict(sorted(self.hosts.items())),
            "problem": self.problem,
            "fix": self.fix,
        }


def read_all(
    source: EscrowSource, slugs: list[str]
) -> tuple[dict[str, str], dict[str, EscrowCheck]]:
    """(slug → password, slug → failed check) for each municipality; no password is logged."""
    found: dict[str, str] = {}
    failed: dict[str, EscrowCheck] = {}
    for slug in slugs:
        try:
            found[slug] = source.read(slug)
        except EscrowUnavailable as exc:
            failed[slug] = EscrowCheck(slug, exc.where, problem=exc.problem, fix=exc.fix)
    return found, failed


def lab_write(state_dir: Path, passwords: dict[str, str]) -> list[Path]:
    """Write each municipality's escrow file 0600 (directory 0700), from the first byte."""
    folder = state_dir / LAB_ESCROW_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    written = []
    for slug, password in sorted(passwords.items()):
        path = lab_file(state_dir, slug)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(password + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        written.append(path)
    return written
