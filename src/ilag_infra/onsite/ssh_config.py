"""The OpenSSH client configuration of one playbook run, so a ProxyJump hop is checked too.

OpenSSH runs a ProxyJump hop as a second `ssh` that gets the `-F` file of the run but none of
its `-o` options: pinned known_hosts, strict checking and Ansible's private key would not
apply to the jump host. Written into a file given with -F, they do, the same as the paramiko
commands check them (onsite/ssh.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ilag_infra.onsite.hostlist import SshHost

# What OpenSSH reads when no -F is given; production runs keep honouring it (after the pins).
_DEFAULT_CONFIGS = ("~/.ssh/config", "/etc/ssh/ssh_config")


def render(known_hosts: Path, hosts: Iterable[SshHost], operator_config: bool) -> str:
    """The file: each jump host's key file, then the pins for every connection.

    operator_config: include the operator's and the system's ssh_config after the pins (the
    lab reads none, so ProxyJump/ProxyCommand there cannot route lab traffic elsewhere).
    """
    lines = ["# Written for one run by ilag; the ProxyJump hop reads only this file."]
    keys: dict[str, list[str]] = {}
    for host in hosts:
        if host.jump is not None and host.key_file is not None:
            files = keys.setdefault(host.jump.address, [])
            if str(host.key_file) not in files:
                files.append(str(host.key_file))
    for address, files in sorted(keys.items()):
        # The same key as the hosts behind it, as the paramiko commands log in to the jump.
        lines += [f"Host {address}", *(f"  IdentityFile {_quoted(f)}" for f in files)]
        lines.append("  IdentitiesOnly yes")
    lines += [
        "Host *",
        f"  UserKnownHostsFile {_quoted(str(known_hosts))}",
        "  GlobalKnownHostsFile /dev/null",
        "  StrictHostKeyChecking yes",
        # Other sources of trust an included config could add; the paramiko commands know
        # none of them, and the pins must be the only answer on both routes.
        "  KnownHostsCommand none",
        "  VerifyHostKeyDNS no",
        "  UpdateHostKeys no",
        "  CheckHostIP no",
        "  ConnectTimeout 8",
    ]
    if operator_config:
        lines += [f"Include {path}" for path in _DEFAULT_CONFIGS]
    return "\n".join(lines) + "\n"


def _quoted(path: str) -> str:
    # ssh_config splits on whitespace unless the argument is in double quotes.
    if '"' in path or "\n" in path:
        raise ValueError(f"cannot write path {path!r} into an ssh_config file")
    return f'"{path}"'


def write(path: Path, known_hosts: Path, hosts: Iterable[SshHost], operator_config: bool) -> Path:
    path.write_text(render(known_hosts, hosts, operator_config), encoding="utf-8")
    return path
