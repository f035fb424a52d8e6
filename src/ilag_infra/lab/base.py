"""The cached Debian 12 base root every lab host boots from (read-only lower layer)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ilag_infra.lab.errors import LabError
from ilag_infra.lab.overlay import remove_tree
from ilag_infra.lab.paths import LabPaths
from ilag_infra.lab.proc import all_pids, cmdline, is_under, pid_alive, root_of, run

SUITE = "bookworm"
# Bump when the post-debootstrap recipe below changes, so cached bases are rebuilt.
RECIPE_VERSION = 1

# Everything the roles install is pre-seeded: lab hosts have no route out and never download.
# systemd-resolved is included but left disabled: the network role decides whether it runs.
PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "systemd-resolved",
    "dbus",
    "openssh-server",
    "python3",
    "sudo",
    "chrony",
    "nftables",
    "restic",
    "rclone",
    "unattended-upgrades",
    # The hardening controls of the baseline role (issue 12).
    "acct",
    "auditd",
    "kmod",
    "libpam-pwquality",
    "locales",
    "tzdata",
    "ca-certificates",
    "iproute2",
    "procps",
    "less",
)

SOURCES_DEB822 = Path("/etc/apt/sources.list.d/debian.sources")
SOURCES_LIST = Path("/etc/apt/sources.list")

Progress = Callable[[str], None]
_PER_PACKAGE = re.compile(r"^(Retrieving|Validating|Extracting|Unpacking|Configuring) \S+( \S+)?$")


def mirror_from_deb822(text: str, suite: str = SUITE) -> str | None:
    """The first `deb` URI whose stanza carries the suite itself (not -updates/-security)."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#") or line[0].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        if suite not in fields.get("suites", "").split():
            continue
        uris = fields.get("uris", "").split()
        if uris:
            return uris[0]
    return None


def mirror_from_list(text: str, suite: str = SUITE) -> str | None:
    """The first `deb URI SUITE ...` line of a one-line-style sources.list."""
    for line in text.splitlines():
        parts = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(parts) >= 3 and parts[0] == "deb" and parts[2] == suite:
            return parts[1]
    return None


def machine_mirror() -> str:
    """The Debian mirror this machine already uses, so the lab adds no new network peer."""
    for path, parse in ((SOURCES_DEB822, mirror_from_deb822), (SOURCES_LIST, mirror_from_list)):
        if path.is_file():
            found = parse(path.read_text())
            if found:
                return found
    raise LabError(
        f"no Debian {SUITE} mirror found in {SOURCES_DEB822} or {SOURCES_LIST}\n"
        f"    fix: configure apt for {SUITE} on this machine (the lab reuses its mirror)"
    )


def wanted_stamp(packages: tuple[str, ...] = PACKAGES) -> dict[str, object]:
    return {"suite": SUITE, "packages": sorted(packages), "recipe": RECIPE_VERSION}


def base_is_current(paths: LabPaths, packages: tuple[str, ...] = PACKAGES) -> bool:
    if not (paths.base_root / "usr/lib/systemd/systemd").exists():
        return False
    try:
        stamp = json.loads(paths.base_stamp.read_text())
    except (OSError, ValueError):
        return False
    want = wanted_stamp(packages)
    return all(stamp.get(k) == v for k, v in want.items())


def _builders(tree: Path) -> list[int]:
    found = []
    for pid in all_pids():
        if pid == os.getpid() or not pid_alive(pid):
            continue
        mentions = any(str(tree) in arg for arg in cmdline(pid))
        chrooted = (root := root_of(pid)) is not None and is_under(root, tree)
        if mentions or chrooted:
            found.append(pid)
    return found


def _kill_builders(tree: Path) -> None:
    """Kill a debootstrap (and its chrooted dpkg) left running by a killed build of tree.

    Repeated, because a live debootstrap forks new children while it is being killed.
    """
    for _ in range(50):
        pids = _builders(tree)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    raise LabError(f"processes building {tree} do not die: {_builders(tree)}")


def _finish_root(root: Path) -> None:
    """Make the debootstrapped tree a neutral template: nothing host-specific, nothing shared."""
    # Host keys and machine-id written by package scripts would be identical on every host.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    # systemd-resolved's package script points resolv.conf at its stub; the lab writes its own.
    resolv = root / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("")
    run(
        ["systemctl", f"--root={root}", "disable", "systemd-resolved.service"],
        what="disabling systemd-resolved in the base root",
    )
    run(
        ["systemctl", f"--root={root}", "enable", "systemd-networkd.service"],
        what="enabling systemd-networkd in the base root",
    )
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def _debootstrap(target: Path, mirror: str, packages: tuple[str, ...], progress: Progress) -> None:
    cmd = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(packages)}",
        SUITE,
        str(target),
        mirror,
    ]
    start = time.monotonic()
    steps = 0
    log_tail: list[str] = []
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    except FileNotFoundError:
        raise LabError("debootstrap is not installed; run `make setup`") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        log_tail = [*log_tail[-19:], line]
        if not line.startswith("I: "):
            continue
        message = line[3:]
        elapsed = f"  base [{time.monotonic() - start:4.0f} s]"
        # Milestones are shown as they come; the hundreds of per-package lines only as a
        # count, so a slow mirror still shows life without flooding the log.
        if _PER_PACKAGE.match(message.rstrip(".")):
            steps += 1
            if steps % 100 == 0:
                progress(f"{elapsed} {steps} package steps done")
        else:
            progress(f"{elapsed} {message}")
    if proc.wait() != 0:
        tail = "\n    ".join(log_tail[-8:])
        raise LabError(
            f"debootstrap {SUITE} from {mirror} failed (exit {proc.returncode}):\n    {tail}\n"
            "    fix: check that this machine reaches its Debian mirror (`apt-get update`)"
        )


def ensure_base(
    paths: LabPaths, progress: Progress, packages: tuple[str, ...] = PACKAGES
) -> tuple[Path, float | None]:
    """Build the base root if missing or stale; return it and the build seconds (None if cached)."""
    paths.cache.mkdir(parents=True, exist_ok=True)
    with open(paths.cache / "base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if base_is_current(paths, packages):
            return paths.base_root, None
        # Half-built trees from a killed build: never used, always removed.
        for stale in paths.cache.glob("base.tmp-*"):
            progress(f"  removing an unfinished base build {stale.name}")
            _kill_builders(stale)
            remove_tree(stale)
        mirror = machine_mirror()
        progress(
            f"building the Debian {SUITE} base root from {mirror} "
            f"({len(packages)} packages; takes a few minutes, cached afterwards)"
        )
        start = time.monotonic()
        tmp = paths.cache / f"base.tmp-{os.getpid()}"
        _debootstrap(tmp, mirror, packages, progress)
        _finish_root(tmp)
        (tmp / "etc/ilag-lab-base.json").write_text(json.dumps(wanted_stamp(packages)) + "\n")
        # Swap atomically: the old base goes aside first, so `base` is always whole or absent.
        old = paths.cache / f"base.old-{os.getpid()}"
        if paths.base_root.exists():
            paths.base_root.rename(old)
        tmp.rename(paths.base_root)
        paths.base_stamp.write_text(json.dumps(wanted_stamp(packages), indent=2) + "\n")
        if old.exists():
            remove_tree(old)
        for leftover in paths.cache.glob("base.old-*"):
            remove_tree(leftover)
        elapsed = time.monotonic() - start
        progress(f"base root ready in {elapsed:.0f} s: {paths.base_root}")
        return paths.base_root, elapsed
