"""A node's SSH certificate, read on the node: when it runs out (`ilag preflight`).

The node (group `ilag_nodes`, role ilag_node) logs in to its municipality's servers with a
certificate for principal `<slug>-node`, valid 13 weeks and renewed by an apply of the node
playbook once older than 30 days. Preflight reads it with `ssh-keygen -L` on the node, so a
node whose renewals stopped is named before its checks lose their access.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

import paramiko

from ilag_infra.model import expiry
from ilag_infra.model.errors import Problem
from ilag_infra.onsite import ssh
from ilag_infra.onsite.hostlist import SshHost

NODE_GROUP = "ilag_nodes"
DEFAULT_CONFIG_DIR = "/etc/ilag"  # roles/ilag_node/defaults/main.yml ilag_node__config_dir
CERT_FILE = "ssh/id_ed25519-cert.pub"
MISSING = 3  # the exit status of the read when the file is not there
NOT_INSTALLED = 4  # ... and when the node playbook never ran (no ssh directory at all)


@dataclass(frozen=True)
class NodeCert:
    valid_to: datetime | None  # None: valid forever (no end)
    principals: tuple[str, ...]
    signing_ca: str


def is_node(host: SshHost) -> bool:
    return NODE_GROUP in (host.inventory_vars.get("group_names") or [])


def path_on(host: SshHost) -> str:
    base = str(host.inventory_vars.get("ilag_node__config_dir") or DEFAULT_CONFIG_DIR)
    return f"{base.rstrip('/')}/{CERT_FILE}"


def parse(text: str) -> NodeCert:
    """What `TZ=UTC ssh-keygen -L -f CERT` prints: the end of `Valid:`, the principals and the
    signing CA's fingerprint. ValueError when it is no certificate listing."""
    valid: str | None = None
    principals: list[str] = []
    ca = ""
    in_principals = False
    for raw in text.splitlines():
        line = raw.strip()
        if in_principals and raw.startswith(("\t\t", "                ")) and line:
            principals.append(line)
            continue
        in_principals = False
        if line.startswith("Valid:"):
            valid = line.removeprefix("Valid:").strip()
        elif line.startswith("Signing CA:"):
            parts = line.split()
            ca = parts[3] if len(parts) > 3 else ""
        elif line.startswith("Principals:"):
            in_principals = True
    if valid is None:
        raise ValueError("no 'Valid:' line: not an ssh-keygen -L listing of a certificate")
    end: datetime | None = None
    words = valid.split()
    if "to" in words:
        end = _utc(words[words.index("to") + 1])
    elif words[:1] == ["before"]:
        end = _utc(words[1])
    return NodeCert(end, tuple(principals), ca)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def read_command(path: str) -> str:
    """Read the listing as the login user, or through sudo when /etc/ilag/ssh is root-only;
    exit NOT_INSTALLED without the directory, MISSING without the certificate. UTC, since -L
    prints local time."""
    q = shlex.quote(path)
    d = shlex.quote(path.rsplit("/", 1)[0])
    return (
        f"if [ ! -d {d} ] && ! sudo -n test -d {d} 2>/dev/null; then exit {NOT_INSTALLED}; fi; "
        f"if [ ! -e {q} ] && ! sudo -n test -e {q} 2>/dev/null; then exit {MISSING}; fi; "
        f"TZ=UTC ssh-keygen -L -f {q} 2>/dev/null || sudo -n env TZ=UTC ssh-keygen -L -f {q}"
    )


def check(
    client: paramiko.SSHClient, host: SshHost, days: int, now: datetime | None = None
) -> Problem | None:
    """The node certificate's warning (as a Problem naming host file, principal and fix), or
    None when it is not due. Only for hosts of the group ilag_nodes."""
    path = path_on(host)
    where = f"{host.name}:{path}"
    principal = f"{host.municipality}-node"
    renew = (
        f"ilag apply {host.municipality} --playbook node --limit {host.name} renews it "
        "(outside the lab: export ILAG_NODE_CA_KEY=<the user CA's private key> first)"
    )
    rc, out, err = ssh.run(client, read_command(path))
    if rc == NOT_INSTALLED:
        return None  # not a node yet: nothing of it can run out
    if rc == MISSING:
        return Problem(where, principal, "the node has no SSH certificate", renew)
    try:
        cert = parse(out) if rc == 0 else None
    except ValueError:
        cert = None
    if cert is None:
        return Problem(
            where,
            principal,
            f"the node certificate could not be read: {(err or out).strip()[:160]}",
            "check the file on the node (`ssh-keygen -L -f` it as root); " + renew,
        )
    if cert.valid_to is None:
        return None  # the role always signs with an end; a hand-made one is not ours to judge
    due = expiry.node_certificate(
        host.name, where, principal, cert.valid_to, days, now or datetime.now(UTC), renew
    )
    return due.problem() if due else None
