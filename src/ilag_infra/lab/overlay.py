"""Overlay roots for lab hosts, and the mount-table care that removing them needs."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from ilag_infra.lab.errors import LabError
from ilag_infra.lab.proc import is_under, run


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and len(field[i + 1 : i + 4]) == 3:
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_points(mountinfo: str | None = None) -> list[Path]:
    """Mount points of this mount namespace, in mount order."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    return [Path(_unescape(line.split()[4])) for line in mountinfo.splitlines() if line.strip()]


def mounts_under(top: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points at or below top, deepest (latest) first so they can be unmounted in order."""
    found = [m for m in mount_points(mountinfo) if is_under(m, top)]
    return list(reversed(found))


def mount_overlay(lower: Path, upper: Path, work: Path, target: Path) -> None:
    for d in (upper, work, target):
        d.mkdir(parents=True, exist_ok=True)
    run(
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={lower},upperdir={upper},workdir={work}",
            target,
        ],
        what=f"mounting the overlay root {target}",
        fix="the state dir must be on a filesystem that supports overlay upper dirs (ext4, xfs)",
    )


def unmount_all_under(top: Path, attempts: int = 10) -> None:
    """Unmount everything at or below top; raise LabError naming what stays mounted."""
    for _ in range(attempts):
        remaining = mounts_under(top)
        if not remaining:
            return
        for mount in remaining:
            subprocess.run(["umount", str(mount)], capture_output=True, check=False)
        time.sleep(0.2)
    remaining = mounts_under(top)
    if remaining:
        names = ", ".join(str(m) for m in remaining)
        raise LabError(
            f"still mounted after {attempts} attempts: {names}\n"
            "    fix: a process may still use it; see `fuser -vm PATH`, stop it, then run "
            "`ilag lab down` again"
        )


def remove_tree(path: Path) -> None:
    """Delete a directory tree, never crossing into a mount (a killed build may leave /proc etc.)."""
    if not path.exists():
        return
    unmount_all_under(path)
    run(["rm", "-rf", "--one-file-system", path], what=f"removing {path}")
