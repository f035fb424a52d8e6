"""The machine's inotify limits, raised for a large lab and set back when it goes.

Every booted host's systemd (and journald, logind, udev-less helpers) opens inotify instances
as root, and the kernel caps them per user (`fs.inotify.max_user_instances`, 128 on Debian).
Past about 10 hosts a host's systemd then exits with "Failed to create control group inotify
object: Too many open files". The sysctl belongs to the machine, so the lab raises it only
when the planned hosts need it, records the original value, and restores it on `lab down`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

SYSCTL_DIR = Path("/proc/sys/fs/inotify")
# Measured on a booted lab host (Debian 12, systemd 252): about 6 instances and 120 watches
# each once it is up; the margins cover units that start later (apt timers, backup units).
PER_HOST = {"max_user_instances": 8, "max_user_watches": 2048}
# Room left for everything else root runs on the machine while the lab is up.
HEADROOM = {"max_user_instances": 32, "max_user_watches": 16384}


@dataclass(frozen=True)
class Raise:
    """One limit to raise: its sysctl name, the value now, and the value the lab needs."""

    name: str
    current: int
    new: int


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


def needed(name: str, hosts: int, in_use: int) -> int:
    """What the limit must be for `hosts` more lab hosts next to what root already holds."""
    return in_use + hosts * PER_HOST[name] + HEADROOM[name]


def decide(hosts: int, current: dict[str, int], in_use: dict[str, int]) -> list[Raise]:
    """The limits to raise for this many hosts; none when the machine already allows them.

    A raised limit goes to the next power of two above the need, so a slightly larger lab
    next time does not have to raise it again.
    """
    out = []
    for name in PER_HOST:
        need = needed(name, hosts, in_use.get(name, 0))
        if need > current[name]:
            out.append(Raise(name, current[name], _next_power_of_two(need)))
    return out


def read_limits() -> dict[str, int]:
    return {name: int((SYSCTL_DIR / name).read_text().strip()) for name in PER_HOST}


def write_limit(name: str, value: int) -> None:
    (SYSCTL_DIR / name).write_text(f"{value}\n")


def root_usage(proc: Path = Path("/proc")) -> dict[str, int]:
    """inotify instances and watches that processes of uid 0 hold now (the per-user count)."""
    instances = watches = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != 0:
                continue
            for fd in os.scandir(entry / "fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(fd.path) != "anon_inode:inotify":
                        continue
                    instances += 1
                    info = (entry / "fdinfo" / fd.name).read_text()
                    watches += sum(
                        1 for line in info.splitlines() if line.startswith("inotify wd:")
                    )
    return {"max_user_instances": instances, "max_user_watches": watches}


def restore(original: dict[str, int], raised_to: dict[str, int]) -> list[str]:
    """Set each limit back to its original value if it still holds what the lab set.

    A value changed by someone else since is theirs and is left alone. Returns one line per
    limit for progress output.
    """
    lines = []
    now = read_limits()
    for name, value in original.items():
        if now.get(name) == raised_to.get(name):
            write_limit(name, value)
            lines.append(f"fs.inotify.{name} set back to {value}")
        else:
            lines.append(
                f"fs.inotify.{name} is {now.get(name)}, not the {raised_to.get(name)} the lab "
                f"set; left as it is (was {value} before the lab)"
            )
    return lines
