"""The disaster-recovery drill on the lab: lose a municipality's servers, rebuild them from code
and backup, and measure how long it took (RTO) and how much was lost (RPO).

Steps, each timed: write a known data set on every backup client and record its manifest,
back up; then the disaster (the hosts' roots, overlay and all, are destroyed); rebuild from the
base; re-pin the new host keys through the console path (the container's own key file stands in
for reading the fingerprint on the server's console); converge with site.yml; restore the data
from each host's own repository; verify the manifest byte for byte, with metadata.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paramiko

from ilag_infra.lab import rebuild, state
from ilag_infra.lab.drill_report import fmt_seconds
from ilag_infra.lab.errors import LabError
from ilag_infra.lab.paths import lab_paths
from ilag_infra.lab.state import LabState
from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.model.region import Region
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite import (
    backup,
    bootstrap,
    restic,
    restore,
    snapshots,
    ssh,
    treewalk,
    verify,
)
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.runner import ApplyRequest
from ilag_infra.onsite.targets import Target

DATA = "/root/ilag-drill"
SSH_TIMEOUT = 120.0
Progress = Callable[[str], None]

# A data set with every kind of entry a restore must bring back. Random content, so a
# wrong restore cannot pass by accident. ACL and xattr through python3 (no acl tools needed).
MAKE_DATA = r"""
import os, struct, sys
root = sys.argv[1]
os.makedirs(root + "/dokumenter/æøå-mappe", exist_ok=True)
for i in range(12):
    with open(f"{root}/dokumenter/fil-{i:02d}.bin", "wb") as f:
        f.write(os.urandom(1000 * (i + 1) ** 2 * 3))
with open(root + "/dokumenter/æøå-mappe/Vesterålen.txt", "w") as f:
    f.write("Andøy, Øksnes, Bø, Sortland, Hadsel\n" * 100)
open(root + "/tom.txt", "w").close()
os.chown(root + "/dokumenter/fil-00.bin", 1234, 5678)
os.chmod(root + "/dokumenter/fil-00.bin", 0o640)
os.chmod(root + "/dokumenter/fil-01.bin", 0o600)
os.link(root + "/dokumenter/fil-02.bin", root + "/hardlenke.bin")
os.symlink("dokumenter/fil-03.bin", root + "/snarvei")
os.symlink("finnes-ikke", root + "/brutt-lenke")
os.mkfifo(root + "/kø")
os.setxattr(root + "/dokumenter/fil-04.bin", "user.ilag.klasse", "intern".encode())
acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in [
    (0x01, 6, 0xFFFFFFFF), (0x02, 4, 65534), (0x04, 4, 0xFFFFFFFF),
    (0x10, 4, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)])
os.setxattr(root + "/dokumenter/fil-05.bin", "system.posix_acl_access", acl)
os.utime(root + "/dokumenter/fil-06.bin", (946684800, 946684800))
"""


@dataclass
class HostDrill:
    name: str
    files: int = 0
    bytes: int = 0
    snapshot: str | None = None
    snapshot_time: datetime | None = None
    rpo_seconds: float | None = None
    rto_seconds: float | None = None
    steps: dict[str, float] = field(default_factory=dict)
    refused_unconfirmed_key: bool | None = None
    differences: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.differences and self.rto_seconds is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.name,
            "files": self.files,
            "bytes": self.bytes,
            "snapshot": self.snapshot,
            "snapshot_time": self.snapshot_time.isoformat() if self.snapshot_time else None,
            "rpo_seconds": _r(self.rpo_seconds),
            "rto_seconds": _r(self.rto_seconds),
            "steps": {k: _r(v) for k, v in self.steps.items()},
            "refused_unconfirmed_key": self.refused_unconfirmed_key,
            "differences": self.differences,
            "error": self.error,
            "ok": self.ok,
        }


@dataclass
class DrillResult:
    slug: str
    disaster_at: datetime
    hosts: list[HostDrill]
    steps: dict[str, float] = field(default_factory=dict)
    record: Path | None = None
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.hosts) and all(h.ok for h in self.hosts)

    @property
    def rto_seconds(self) -> float | None:
        values = [h.rto_seconds for h in self.hosts]
        return None if None in values else max(v for v in values if v is not None)

    @property
    def rpo_seconds(self) -> float | None:
        values = [h.rpo_seconds for h in self.hosts if h.rpo_seconds is not None]
        return max(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "municipality": self.slug,
            "disaster_at": self.disaster_at.isoformat(),
            "rto_seconds": _r(self.rto_seconds),
            "rpo_seconds": _r(self.rpo_seconds),
            "steps": {k: _r(v) for k, v in self.steps.items()},
            "hosts": [h.to_dict() for h in self.hosts],
            "ok": self.ok,
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _run(client: paramiko.SSHClient, command: str, stdin: str | None = None) -> str:
    i, o, e = client.exec_command(command, timeout=600)
    if stdin is not None:
        i.write(stdin)
    i.channel.shutdown_write()
    out, err = o.read().decode(), e.read().decode(errors="replace")
    rc = o.channel.recv_exit_status()
    if rc != 0:
        raise IlagError(f"{command!r} exited {rc}: {err.strip()[-300:]}")
    return out


def _connect(target: Target, h: SshHost) -> paramiko.SSHClient:
    return ssh.connect(h, target.known_hosts(h.municipality))


def _manifest(target: Target, h: SshHost) -> dict[str, dict[str, Any]]:
    client = _connect(target, h)
    try:
        return verify.manifest(treewalk.walk(client, [DATA], sha256=True))
    finally:
        client.close()


def _prepare(target: Target, h: SshHost) -> dict[str, dict[str, Any]]:
    """A fresh data set on a backup client; its manifest."""
    client = _connect(target, h)
    try:
        _run(client, f"rm -rf {DATA}")
        _run(client, f"python3 - {DATA}", stdin=MAKE_DATA)
    finally:
        client.close()
    return _manifest(target, h)


def _console_fingerprint(lab: LabState, name: str) -> str:
    """The fingerprint as a technician reads it on the server's console (`ssh-keygen -lf`);
    in the lab, the container's own key file is that console."""
    return ssh.fingerprint(ssh.public_key(rebuild.console_public_key(lab.host(name))))


def _repin(target: Target, lab: LabState, slug: str, name: str, drill: HostDrill) -> None:
    """Apply must refuse the new key until it is confirmed; then pin it as `ilag bootstrap
    HOST --replace --fingerprint FP` does."""
    h = next(x for x in snapshots.backup_clients(target, slug) if x.name == name)
    try:
        _connect(target, h).close()
        drill.refused_unconfirmed_key = False
    except ssh.HostKeyError:
        drill.refused_unconfirmed_key = True
    contact = bootstrap.first_contact(target, [slug], name, replace=True)
    if not bootstrap.fingerprint_confirmed(
        _console_fingerprint(lab, name), contact.decision.presented
    ):
        raise IlagError(f"{name}: the presented key is not the one on the console; not pinned")
    if contact.decision.verdict != "already-pinned":
        bootstrap.pin(contact)


@dataclass
class RegionDrill:
    """Several municipalities lost at the same moment (a region-wide ransomware attack) and
    recovered together: the region's RTO runs from that moment to the last verified host."""

    disaster_at: datetime
    municipalities: list[DrillResult]
    steps: dict[str, float] = field(default_factory=dict)
    workers: int = 1
    record: Path | None = None
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.municipalities) and all(m.ok for m in self.municipalities)

    @property
    def rto_seconds(self) -> float | None:
        values = [m.rto_seconds for m in self.municipalities]
        return None if None in values or not values else max(v for v in values if v is not None)

    @property
    def bytes_verified(self) -> int:
        return sum(h.bytes for m in self.municipalities for h in m.hosts if h.ok)

    @property
    def bytes_lost(self) -> int:
        return sum(h.bytes for m in self.municipalities for h in m.hosts if not h.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "disaster_at": self.disaster_at.isoformat(),
            "rto_seconds": _r(self.rto_seconds),
            "rpo_seconds": {m.slug: _r(m.rpo_seconds) for m in self.municipalities},
            "bytes_verified": self.bytes_verified,
            "bytes_lost": self.bytes_lost,
            "hosts": sum(len(m.hosts) for m in self.municipalities),
            "workers": self.workers,
            "steps": {k: _r(v) for k, v in self.steps.items()},
            "municipalities": [m.to_dict() for m in self.municipalities],
            "ok": self.ok,
        }


def workers_for(hosts: int) -> int:
    """Restores at once: two per core (restic waits on the store as much as it computes), and
    never more than there are hosts."""
    return max(1, min(hosts, 2 * (os.cpu_count() or 1)))


def _refuse_outside_lab(target: Target) -> None:
    if target.env != "lab":
        raise InputError(
            [
                Problem(
                    "command line",
                    "--env",
                    "the drill destroys servers; it runs only on the lab",
                    "in production, test restores with `ilag restore HOST PATH --verify-only`",
                )
            ]
        )


def drill(region: Region, target: Target, slug: str, progress: Progress) -> DrillResult:
    """One municipality's drill. Lab only: it destroys the municipality's lab hosts."""
    return drill_region(region, target, [slug], progress).municipalities[0]


def drill_region(
    region: Region, target: Target, slugs: list[str], progress: Progress
) -> RegionDrill:
    """Lose every backup client of the municipalities at once, rebuild, converge, restore and
    verify them together, as far in parallel as the machine allows. Lab only."""
    _refuse_outside_lab(target)
    clients = {slug: snapshots.backup_clients(target, slug) for slug in slugs}
    every = [h for slug in slugs for h in clients[slug]]
    names = [h.name for h in every]
    workers = workers_for(len(every))
    progress(f"converging {', '.join(slugs)} and writing the data set on {len(every)} hosts")
    req = ApplyRequest("", target.repo_root / "playbooks" / "site.yml", strategy="mitogen")
    converged = apply_mod.apply(region, target, slugs, req, lambda _: None)
    if not converged.ok:
        raise IlagError(f"converge before the drill failed on {converged.problem_hosts}")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        before = dict(zip(names, pool.map(lambda h: _prepare(target, h), every), strict=True))
    progress(f"backing up {len(every)} hosts")
    statuses = backup.run_now(target, slugs, max_age=timedelta(hours=1))
    failed = [s.host.name for s in statuses if not s.fresh]
    if failed:
        raise IlagError(f"backup before the drill failed on {', '.join(failed)}")
    newest = {
        r.host.name: r.snapshots[-1]
        for slug in slugs
        for r in snapshots.list_snapshots(target, slug)
    }
    drills = {n: HostDrill(n) for n in names}
    for n, d in drills.items():
        d.files = sum(1 for e in before[n].values() if e["type"] == "file")
        d.bytes = sum(int(e.get("size") or 0) for e in before[n].values() if e["type"] == "file")
        d.snapshot, d.snapshot_time = newest[n].short_id, newest[n].time

    # --- the disaster: from here on the clock runs -------------------------------------------
    disaster_at = datetime.now(UTC)
    t0 = time.monotonic()
    for d in drills.values():
        assert d.snapshot_time is not None
        d.rpo_seconds = (disaster_at - d.snapshot_time).total_seconds()
    results = [
        DrillResult(slug, disaster_at, [drills[h.name] for h in clients[slug]]) for slug in slugs
    ]
    region_drill = RegionDrill(disaster_at, results, workers=workers)

    def step(name: str, fn: Callable[[], None]) -> None:
        start = time.monotonic()
        progress(f"{name} ({len(every)} hosts)")
        fn()
        region_drill.steps[name] = time.monotonic() - start
        for m in results:
            m.steps[name] = region_drill.steps[name]
        for d in drills.values():
            d.steps.setdefault(name, region_drill.steps[name])

    paths = lab_paths()
    with state.locked(paths):
        lab = state.load(paths)
        if lab is None:
            raise LabError("no lab is up on this machine; start one with `ilag lab up`")
        step("destroy", lambda: rebuild.destroy(lab, names))
        step("rebuild", lambda: rebuild.rebuild(paths, lab, names, progress, SSH_TIMEOUT))

    def repin() -> None:
        for slug in slugs:
            for h in clients[slug]:
                _repin(target, lab, slug, h.name, drills[h.name])

    step("re-pin", repin)
    unconverged: dict[str, list[str]] = {}

    def converge() -> None:
        outcome = apply_mod.apply(region, target, slugs, req, lambda _: None)
        # A run can fail with no host to blame (the lock held, the runner stopped before any
        # host): that municipality did not converge either.
        for r in outcome.results:
            if not r.succeeded:
                unconverged[r.slug] = r.failed_hosts + r.unreachable_hosts or [
                    f"the run ({r.status}, exit {r.rc})"
                ]

    step("converge", converge)
    for slug, bad in unconverged.items():
        # One municipality's failed rebuild must not stop the others' recovery: its hosts
        # are marked failed and the rest go on to restore.
        for h in clients[slug]:
            drills[h.name].error = f"converge after the rebuild failed on {', '.join(bad)}"

    def restore_and_verify(h: SshHost) -> None:
        d = drills[h.name]
        if d.error:
            return
        start = time.monotonic()
        try:
            res = restore.restore(
                target,
                [h.municipality],
                restore.RestoreRequest(h.name, [DATA], at=d.snapshot, in_place=True),
                lambda _q: True,
            )
            d.steps["restore"] = time.monotonic() - start
            if not res.ok:
                d.error = res.error or "restore did not verify against the snapshot"
            mid = time.monotonic()
            d.differences = verify.manifest_differences(before[h.name], _manifest(target, h))
            d.steps["verify"] = time.monotonic() - mid
            elapsed = time.monotonic() - t0
            if not d.error and not d.differences:
                d.rto_seconds = elapsed  # RTO ends at verified data, never at a failed host
            progress(f"{h.name}: {'verified' if d.ok else 'FAILED'} at {fmt_seconds(elapsed)}")
        except (IlagError, OSError, paramiko.SSHException) as exc:
            # One host's lost connection is that host's failure: the others' restores and
            # every municipality's record still go on.
            d.error = restic.redact(f"{type(exc).__name__}: {exc}")

    progress(f"restoring and verifying {len(every)} hosts, {workers} at a time")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(restore_and_verify, every))
    return region_drill
