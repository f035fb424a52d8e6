"""Running machine commands and finding the lab's processes in /proc."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from ilag_infra.lab.errors import LabError


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    fix: str = "",
    check: bool = True,
    timeout: float | None = 600,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise LabError naming the step, the command's stderr and a fix."""
    argv = [os.fspath(c) for c in cmd]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise LabError(f"{what}: {argv[0]} is not installed; run `make setup`") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{what}: `{' '.join(argv)}` did not finish in {timeout} s") from None
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        message = f"{what}: `{' '.join(argv)}` exited {done.returncode}"
        if detail:
            message += ":\n    " + "\n    ".join(detail)
        if fix:
            message += f"\n    fix: {fix}"
        raise LabError(message)
    return done


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] != "Z"


def all_pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def parent_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def children(pid: int) -> list[int]:
    """Direct children of a process (all threads), read from /proc/PID/task/*/children."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below pid, parents before children."""
    out: list[int] = []
    todo = children(pid)
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(children(p))
    return out


def root_of(pid: int) -> Path | None:
    """A process's root as a path here: a chroot's directory (containers show just "/")."""
    try:
        return Path(os.readlink(f"/proc/{pid}/root"))
    except OSError:
        return None


def overlay_upper_of_root(pid: int) -> Path | None:
    """The overlay upper dir of the filesystem a process sees as `/`, or None.

    A container process's root is its host's overlay, and the overlay's options name the
    upper dir, so this finds container processes even when their nspawn is gone and the
    machine-side mount was removed. (readlink /proc/PID/root just says "/" for them.)
    """
    try:
        with open(f"/proc/{pid}/mountinfo") as f:
            return parse_root_upper(f.read())
    except OSError:
        return None


def parse_root_upper(mountinfo: str) -> Path | None:
    """The overlay upper dir mounted on "/" in a mountinfo text, or None."""
    upper = None
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if not sep or len(fields) < 5 or fields[4] != "/":
            continue
        fstype, _, rest = tail.partition(" ")
        upper = None  # a later mount on "/" hides an earlier one
        if fstype == "overlay":
            for option in rest.split(" ", 1)[-1].split(","):
                if option.startswith("upperdir="):
                    upper = Path(option.removeprefix("upperdir="))
    return upper


def is_under(path: Path, top: Path) -> bool:
    return path == top or top in path.parents
