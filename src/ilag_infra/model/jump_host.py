"""The jump host a server is reached through, read from Ansible's own SSH argument variables.

The inventory says it the way Ansible passes it to OpenSSH
(`ansible_ssh_common_args: '-o ProxyJump=user@host:port'`, or `-J user@host:port`), so
Ansible and the paramiko-based commands take the same route from the same line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ilag_infra.model import formats

# The variables Ansible appends to every ssh command line for the host.
ARG_VARS = ("ansible_ssh_common_args", "ansible_ssh_extra_args")
FIX = (
    "write one jump host with its user, e.g. "
    "ansible_ssh_common_args: '-o ProxyJump=ilag@10.71.10.5:22' (or '-J ilag@10.71.10.5'); "
    "ProxyCommand and several hops are not supported"
)
# A login name as useradd accepts it (the user must be explicit: the paramiko side has no
# ~/.ssh/config to take a default from, and the local user is rarely the one on the jump host).
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,31}", re.ASCII)


@dataclass(frozen=True)
class Jump:
    """One hop: the SSH server that opens the connection to the target for us."""

    address: str
    port: int
    user: str

    def __str__(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"


class JumpSpecError(ValueError):
    """The SSH arguments name a route this project cannot follow (the message says why)."""

    def __init__(self, message: str, var: str = ARG_VARS[0]) -> None:
        super().__init__(message)
        self.var = var  # the variable that holds it


def from_vars(hostvars: Mapping[str, Any]) -> Jump | None:
    """The jump host named in a host's ansible_ssh_common_args / ansible_ssh_extra_args."""
    found: list[Jump] = []
    for name in ARG_VARS:
        value = hostvars.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise JumpSpecError(
                f"{name} is {type(value).__name__}, not a string of ssh arguments", name
            )
        try:
            jumps = _from_args(name, value)
        except JumpSpecError as exc:
            raise JumpSpecError(str(exc), name) from None
        found.extend(j for j in jumps if j not in found)
    if len(found) > 1:
        raise JumpSpecError(
            "several jump hosts are named (" + ", ".join(str(j) for j in found) + "); name one"
        )
    return found[0] if found else None


def _from_args(name: str, value: str) -> list[Jump]:
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise JumpSpecError(f"{name} cannot be split like a shell line: {exc}") from None
    jumps: list[Jump] = []
    i = 0
    while i < len(words):
        word = words[i]
        spec: str | None = None
        if word in ("-o", "-J"):
            if i + 1 == len(words):
                raise JumpSpecError(f"{name} ends with {word} and no value after it")
            i += 1
            spec = _option(name, words[i]) if word == "-o" else words[i]
        elif word.startswith("-o"):
            spec = _option(name, word[2:])
        elif word.startswith("-J"):
            spec = word[2:]
        elif word.startswith("-F"):
            # OpenSSH takes the last -F: this one would replace the run's pinned config.
            raise JumpSpecError(
                f"{name} gives its own ssh_config (-F), which would drop the pinned host keys"
            )
        if spec is not None and spec.lower() != "none":
            jumps.append(parse(spec))
        i += 1
    return jumps


# Options that decide which host keys are trusted: only ilag's pins may (lowercase, as compared).
_PIN_OPTIONS = {
    "userknownhostsfile",
    "globalknownhostsfile",
    "stricthostkeychecking",
    "knownhostscommand",
    "verifyhostkeydns",
    "updatehostkeys",
    "hostkeyalias",
}


def _option(name: str, option: str) -> str | None:
    """The ProxyJump value of one `-o Key=Value` (or `Key Value`) option, if it is one."""
    key, _, value = option.replace("=", " ", 1).partition(" ")
    key, value = key.strip().lower(), value.strip()
    if key == "proxycommand" and value.lower() != "none":
        raise JumpSpecError(f"{name} sets a ProxyCommand, which only OpenSSH would follow")
    if key in _PIN_OPTIONS:
        raise JumpSpecError(
            f"{name} sets {key}, which would change how host keys are checked; the pins in "
            "known_hosts are the only trust (ilag bootstrap pins them)"
        )
    return value if key == "proxyjump" else None


def parse(spec: str) -> Jump:
    """`user@host[:port]` or `ssh://user@host[:port]`: one hop, as OpenSSH's -J takes it."""
    if "," in spec:
        raise JumpSpecError(f"ProxyJump {spec!r} names several hops; one jump host is supported")
    rest = spec.removeprefix("ssh://")
    user, at, hostport = rest.rpartition("@")
    if not at or not formats.matches(_USER, user):
        raise JumpSpecError(f"ProxyJump {spec!r} does not name the user on the jump host")
    address, colon, port_text = hostport.partition(":")
    port = 22
    if colon:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise JumpSpecError(f"ProxyJump {spec!r} has port {port_text!r}, not 1-65535")
        port = int(port_text)
    if not formats.matches(formats.HOST, address):
        raise JumpSpecError(f"ProxyJump {spec!r} has no host name or IPv4 address after the user")
    return Jump(address, port, user)
