"""First contact with a server: read its host key and decide whether it may be pinned.

The decision is a pure function of the presented key, the keys already pinned and --replace,
so it is tested without a server; `first_contact` and `pin` do the network and file work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import paramiko

from ilag_infra.model.errors import IlagError
from ilag_infra.onsite import hostlist, ssh
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target

# already-pinned: nothing to do. changed: a different key is pinned and --replace was not
# given: refuse. confirm: nothing (or, with --replace, something else) is pinned: the operator
# must confirm the fingerprint read on the server's console before it is pinned.
Verdict = Literal["already-pinned", "changed", "confirm"]


@dataclass(frozen=True)
class PinDecision:
    verdict: Verdict
    presented: str  # SHA256 fingerprint of the key the server presents
    pinned: str | None = None  # fingerprint of the key pinned today, if any
    replaces: bool = False  # confirming would replace a pinned key


def decide(presented: paramiko.PKey, pinned: Sequence[paramiko.PKey], replace: bool) -> PinDecision:
    """Whether the presented key may be pinned; no trust on first use, never a silent change."""
    fp = ssh.fingerprint(presented)
    if any(p.asbytes() == presented.asbytes() for p in pinned):
        return PinDecision("already-pinned", fp, fp)
    if pinned:
        old = ssh.fingerprint(pinned[0])
        return PinDecision("confirm" if replace else "changed", fp, old, replaces=replace)
    return PinDecision("confirm", fp)


def fingerprint_confirmed(typed: str, presented: str) -> bool:
    """The operator's fingerprint (with or without the SHA256: prefix) is the presented one."""
    text = typed.strip()
    if not text.startswith("SHA256:"):
        text = "SHA256:" + text
    return text == presented


@dataclass(frozen=True)
class Contact:
    host: SshHost
    known_hosts: Path
    key: paramiko.PKey
    decision: PinDecision


def first_contact(target: Target, slugs: list[str], name: str, replace: bool) -> Contact:
    """Find the host in the inventories, read the key it presents and decide."""
    h = hostlist.find(target, slugs, name)
    kh = target.known_hosts(h.municipality)
    try:
        # Through the jump host when the inventory names one, as every later command goes.
        key = ssh.host_key_of(h, kh)
    except (OSError, paramiko.SSHException) as exc:
        via = f" through jump host {h.jump}" if h.jump else ""
        raise IlagError(
            f"cannot reach {name} at {h.address}:{h.port}{via} to read its host key: "
            f"{exc or type(exc).__name__}"
        ) from None
    return Contact(h, kh, key, decide(key, ssh.pinned_keys(kh, h), replace))


def pin(contact: Contact) -> None:
    """Pin the confirmed key (replacing the old one only when the decision says so)."""
    if contact.decision.verdict != "confirm":
        raise IlagError(f"{contact.host.name}: refusing to pin ({contact.decision.verdict})")
    ssh.pin(contact.known_hosts, contact.host, contact.key, replace=contact.decision.replaces)
