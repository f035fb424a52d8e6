"""restic on a backup client, over the pinned SSH path, with that host's own credential."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import paramiko

from ilag_infra.model.errors import IlagError
from ilag_infra.model.secrets import redact_text
from ilag_infra.onsite import ssh
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target

ENV_FILE = "/etc/ilag-backup/env"


class ResticError(IlagError):
    """restic failed on a host."""


def redact(text: str) -> str:
    """SAS signatures and the like must never reach a terminal, a record or a message."""
    return redact_text(text)


def command(args: list[str], env_file: str = ENV_FILE, unset: tuple[str, ...] = ()) -> str:
    """A shell line that runs restic with the host's repository, password file and SAS.

    The environment file is the one the backup service reads, so this uses exactly the
    municipality's credential that the host already holds (never one sent from here).
    unset drops variables of that file first (the escrow check drops the password file).
    """
    drop = f"unset {' '.join(unset)} && " if unset else ""
    return f"set -a && . {shlex.quote(env_file)} && set +a && {drop}exec restic " + " ".join(
        shlex.quote(a) for a in args
    )


@contextmanager
def session(target: Target, host: SshHost) -> Iterator[paramiko.SSHClient]:
    try:
        client = ssh.connect(host, target.known_hosts(host.municipality))
    except (OSError, paramiko.SSHException) as exc:
        raise ResticError(f"{host.name}: cannot connect: {exc}") from None
    try:
        yield client
    finally:
        client.close()


def run(
    client: paramiko.SSHClient, host: SshHost, args: list[str], timeout: float = 600
) -> tuple[int, str, str]:
    """(exit status, stdout, redacted stderr) of restic on the host."""
    rc, out, err = ssh.run(client, command(args), timeout=timeout)
    return rc, out, redact(err)


def run_ok(client: paramiko.SSHClient, host: SshHost, args: list[str], timeout: float = 600) -> str:
    rc, out, err = run(client, host, args, timeout)
    if rc != 0:
        raise ResticError(f"{host.name}: restic {args[0]} exited {rc}: {last_line(err)}")
    return out


def last_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no message)"


def json_lines(out: str) -> list[dict[str, Any]]:
    """restic's --json output: one object per line (ls, diff, restore) or one array."""
    found: list[dict[str, Any]] = []
    text = out.strip()
    if text.startswith("["):
        data = json.loads(text)
        return [d for d in data if isinstance(d, dict)]
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            found.append(item)
    return found
