"""A cgroup of its own for every lab host.

systemd-nspawn gives each container a cgroup namespace rooted where nspawn itself runs. Started
side by side from one process, all containers would share that root, so their systemd
instances create and remove the same `system.slice/<unit>` cgroups as each other: under load a
unit then fails with 219/CGROUP or "Failed to attach to cgroup", and a failed
systemd-user-sessions leaves /run/nologin behind. Each nspawn is therefore started inside
`ilag-lab/<host>` of every writable cgroup hierarchy that systemd uses.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

SUBTREE = "ilag-lab"
MOUNTS = Path("/proc/self/mounts")


def hierarchies(mounts_text: str | None = None) -> list[Path]:
    """Writable cgroup2 mounts and the named `systemd` v1 hierarchy, from /proc/self/mounts."""
    text = mounts_text if mounts_text is not None else MOUNTS.read_text()
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mountpoint, fstype, options = fields[1], fields[2], fields[3].split(",")
        if "rw" not in options:
            continue
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options):
            found.append(Path(mountpoint))
    return found


def host_groups(name: str) -> list[Path]:
    return [root / SUBTREE / name for root in hierarchies()]


def wrap(argv: list[str], name: str) -> list[str]:
    """argv run from a shell that first moves itself into the host's cgroups, then execs.

    The pid stays the same across exec, so the caller still gets nspawn's own pid.
    """
    groups = host_groups(name)
    for group in groups:
        group.mkdir(parents=True, exist_ok=True)
    moves = " ".join(
        f"echo $$ > {shlex.quote(str(g / 'cgroup.procs'))} || exit 97;" for g in groups
    )
    return ["/bin/sh", "-c", f'{moves} exec "$@"', "ilag-lab-cgroup", *argv]


def _remove_tree(top: Path) -> list[str]:
    """rmdir a cgroup tree bottom-up; return the groups that could not be removed."""
    if not top.is_dir():
        return []
    left = []
    for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
        try:
            os.rmdir(dirpath)
        except FileNotFoundError:
            continue
        except OSError:
            left.append(dirpath)
    return left


def remove_all() -> list[str]:
    """Remove every lab cgroup once its processes are gone; return what is still there."""
    left: list[str] = []
    for root in hierarchies():
        left += _remove_tree(root / SUBTREE)
    return left


def leftover_groups() -> list[str]:
    return [str(root / SUBTREE) for root in hierarchies() if (root / SUBTREE).exists()]
