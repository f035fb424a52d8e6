"""Destroy and rebuild chosen lab hosts from the base root, the rest of the lab untouched.

The disaster-recovery drill uses it for a municipality's hosts; `ilag lab up` uses it to repair
only the hosts that are sick. A rebuilt host keeps its name and address and gets a new host key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ilag_infra.lab import hosts, keys, state
from ilag_infra.lab.errors import LabError
from ilag_infra.lab.overlay import remove_tree
from ilag_infra.lab.paths import LabPaths
from ilag_infra.lab.state import HostState, LabState
from ilag_infra.onsite import ssh
from ilag_infra.onsite.hostlist import SshHost

Progress = Callable[[str], None]
HOST_KEY_PUB = "etc/ssh/ssh_host_ed25519_key.pub"


def destroy(lab: LabState, names: list[str]) -> None:
    """Stop each host and remove its root, overlay upper and work dirs, as after a fire."""
    for name in names:
        host = lab.host(name)
        hosts.stop_host(host)
        remove_tree(Path(host.root).parent)
        host.nspawn_pid = None


def rebuild(
    paths: LabPaths, lab: LabState, names: list[str], progress: Progress, timeout: float
) -> None:
    """New hosts from the base root, same names and addresses, new host keys; wait for SSH."""
    operator_public = keys.ensure_operator_key(paths)
    todo: list[HostState] = []
    for name in names:
        host = lab.host(name)
        bridge = lab.bridge(host.slug)
        for d in (host.upper, host.work, host.root):
            Path(d).mkdir(parents=True, exist_ok=True)
        host.host_public_key = hosts.prepare_root(
            host,
            paths.base_root,
            prefixlen=int(bridge.subnet.split("/")[1]),
            gateway=bridge.gateway,
            service_ip=lab.service_ip,
            operator_public_key=operator_public,
        )
        host.nspawn_pid = hosts.boot(host)
        todo.append(host)
    state.save(paths, lab)
    late = hosts.wait_for_ssh(todo, timeout, progress)
    if late:
        raise LabError(
            f"rebuilt hosts did not answer SSH within {timeout:.0f} s: {', '.join(late)}\n"
            f"    fix: read {paths.hosts}/<host>/console.log; `ilag lab down` removes the lab"
        )


def console_public_key(host: HostState) -> str:
    """The host key as the server's console shows it: in the lab, the container's own file."""
    return (Path(host.root) / HOST_KEY_PUB).read_text(encoding="utf-8").strip()


def repin_from_console(paths: LabPaths, host: HostState) -> str:
    """Pin the host's key read from its own key file, as `lab up` does at first boot.

    Only this host's lines in its municipality's known_hosts change; every other pin stays.
    Returns the new key's SHA256 fingerprint.
    """
    line = console_public_key(host)
    key = ssh.public_key(line)
    host.host_public_key = line
    me = SshHost(host.name, host.slug, host.ip, 22, "root", paths.operator_key)
    ssh.pin(paths.known_hosts / host.slug, me, key, replace=True)
    return ssh.fingerprint(key)
