"""Restore files of one host from its own repository, verify them, and leave a record.

By default the files go to a new dated directory on the same host and nothing is overwritten.
In place, the snapshot's version is first restored and verified beside the live path, then
swapped in; the live version is kept as `<path>.ilag-before-<stamp>`, never deleted. (restic
0.14 restoring over existing files cannot replace existing symlinks or FIFOs and loses hard
links, so it is never asked to.)
"""

from __future__ import annotations

import posixpath
import re
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko

from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.onsite import hostlist, jobrecord, restic, snapshots, ssh, treewalk, verify
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.snapshots import Node, Snapshot
from ilag_infra.onsite.targets import Target

# Outside every backed-up path, so restored copies are not backed up again.
RESTORE_ROOT = "/var/lib/ilag-restore"
_GLOB = re.compile(r"([*?\[\\])")


@dataclass(frozen=True)
class RestoreRequest:
    host: str
    paths: list[str]
    at: str | None = None
    to: str | None = None
    in_place: bool = False
    # Restore into a scratch directory, compare, remove it: the scheduled production restore test.
    verify_only: bool = False


@dataclass
class RestoreResult:
    host: SshHost
    snapshot: Snapshot
    paths: list[str]
    destination: str
    in_place: bool
    summary: verify.Summary
    restic_verified: bool
    seconds: float
    kept_aside: list[str] = field(default_factory=list)
    record: Path | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.restic_verified and self.summary.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host.name,
            "municipality": self.host.municipality,
            "snapshot": self.snapshot.to_dict(),
            "paths": self.paths,
            "destination": self.destination,
            "in_place": self.in_place,
            "restic_verified": self.restic_verified,
            "seconds": round(self.seconds, 2),
            "kept_aside": self.kept_aside,
            "summary": self.summary.to_dict(),
            "error": self.error,
            "ok": self.ok,
        }


def _bad(key: str, message: str, fix: str) -> InputError:
    return InputError([Problem("command line", key, message, fix)])


def include_pattern(path: str) -> str:
    """restic --include takes glob patterns: escape glob characters in a literal path."""
    return _GLOB.sub(r"\\\1", path)


def normalise(paths: list[str]) -> list[str]:
    if not paths:
        raise _bad("PATH", "no path given", "name at least one absolute path, e.g. /home/x")
    out = []
    for p in paths:
        if not p.startswith("/"):
            raise _bad("PATH", f"{p!r} is not absolute", "give the path as it was on the host")
        norm = posixpath.normpath(p)
        if norm == "/":
            raise _bad("PATH", "/ is the whole host", "name the folders or files to restore")
        out.append(norm)
    return out


def refuse_overlap(paths: list[str]) -> None:
    """In place, each path is swapped on its own: a path given twice, or inside another
    given path, would be swapped inside an already swapped tree. Bad input, nothing changed."""
    clashes = []
    for i, p in enumerate(paths):
        for q in paths[i + 1 :]:
            if p == q or q.startswith(p.rstrip("/") + "/") or p.startswith(q.rstrip("/") + "/"):
                clashes.append(f"{p} and {q}")
    if clashes:
        raise _bad(
            "PATH",
            f"--in-place paths overlap: {'; '.join(clashes)}",
            "give each path once and not one inside another (restore the outer one)",
        )


def swap_line(path: str, aside: str, staged: str) -> str:
    """Shell that moves the live path aside and the staged copy in; prints `kept` when a live
    version was moved aside. If the second move fails the live version is put back, so the
    path is never left missing."""
    q, qa, qs = shlex.quote(path), shlex.quote(aside), shlex.quote(staged)
    return (
        f"kept=0; if [ -e {q} ] || [ -L {q} ]; then mv -T {q} {qa} && kept=1 || exit 1; fi; "
        f"if mv -T {qs} {q}; then [ $kept = 1 ] && echo kept; exit 0; fi; "
        f"if [ $kept = 1 ]; then mv -T {qa} {q} && echo 'live version put back' >&2; fi; exit 1"
    )


def default_destination(snap: Snapshot, now: datetime) -> str:
    return f"{RESTORE_ROOT}/{now.strftime('%Y%m%dT%H%M%SZ')}-{snap.short_id}"


def _sh(client: paramiko.SSHClient, line: str, timeout: float = 120) -> tuple[int, str, str]:
    return ssh.run(client, line, timeout=timeout)


def _must_be_new(client: paramiko.SSHClient, host: SshHost, dest: str) -> None:
    _rc, out, _ = _sh(client, f"ls -A {shlex.quote(dest)} 2>/dev/null | head -1; true")
    if out.strip():
        raise _bad(
            "--to",
            f"{dest} on {host.name} exists and is not empty; a restore never overwrites",
            "choose a new or empty directory, or leave out --to",
        )


def _restic_restore(
    client: paramiko.SSHClient, host: SshHost, snap: Snapshot, dest: str, paths: list[str]
) -> tuple[bool, str]:
    """restic restore with --verify (content re-read and checked); (ok, last message)."""
    args = ["restore", snap.id, "--target", dest, "--verify"]
    for p in paths:
        args += ["--include", include_pattern(p)]
    rc, out, err = restic.run(client, host, args, timeout=6 * 3600)
    verified = rc == 0 and "finished verifying" in (out + err)
    return verified, restic.last_line(err or out)


def _check_paths(
    client: paramiko.SSHClient, host: SshHost, snap: Snapshot, paths: list[str]
) -> list[Node]:
    nodes: list[Node] = []
    missing = []
    for p in paths:
        found = snapshots.ls_nodes(client, host, snap, [p], recursive=True)
        # `ls DIR` lists DIR's contents; the entry itself comes from its parent's listing.
        if not any(n.path == p for n in found):
            parent = snapshots.ls_nodes(client, host, snap, [posixpath.dirname(p)])
            found = [n for n in parent if n.path == p] + found
        if not any(n.path == p for n in found):
            missing.append(p)
        nodes += found
    if missing:
        raise _bad(
            "PATH",
            f"not in snapshot {snap.short_id} of {host.name}: {', '.join(missing)}",
            f"look with `ilag backup ls {host.name} {snap.short_id} /`, or pick another --at",
        )
    # A path inside another given path is listed twice; keep one of each.
    return list({n.path: n for n in nodes}.values())


def restore(
    target: Target,
    slugs: list[str],
    req: RestoreRequest,
    confirm: Callable[[str], bool] | None = None,
) -> RestoreResult:
    """Restore req.paths of req.host from its own repository; InputError changes nothing."""
    paths = normalise(req.paths)
    if sum([req.in_place, req.to is not None, req.verify_only]) > 1:
        raise _bad("--in-place", "--in-place, --to and --verify-only exclude each other", "use one")
    if req.to is not None and not req.to.startswith("/"):
        raise _bad("--to", f"{req.to!r} is not absolute", "give an absolute directory")
    if req.in_place:
        refuse_overlap(paths)
    host = hostlist.find(target, slugs, req.host)
    started = time.monotonic()
    with recorded_failure(target, "restore", host, paths, req.in_place, started):
        result = _restore(target, host, paths, req, confirm)
    result.seconds = time.monotonic() - started
    result.record = jobrecord.write(
        target.repo_root, "restore", host.name, {"environment": target.env, **result.to_dict()}
    )
    return result


@contextmanager
def recorded_failure(
    target: Target, kind: str, host: SshHost, paths: list[str], in_place: bool, started: float
) -> Iterator[None]:
    """A restore that fails after it reached the host still leaves a run record (the error
    redacted); bad input changed nothing and leaves none."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        jobrecord.write(
            target.repo_root,
            kind,
            host.name,
            {
                "environment": target.env,
                "host": host.name,
                "municipality": host.municipality,
                "paths": paths,
                "in_place": in_place,
                "seconds": round(time.monotonic() - started, 2),
                "error": restic.redact(f"{type(exc).__name__}: {exc}"),
                "ok": False,
            },
        )
        raise


def _restore(
    target: Target,
    host: SshHost,
    paths: list[str],
    req: RestoreRequest,
    confirm: Callable[[str], bool] | None,
) -> RestoreResult:
    now = datetime.now(UTC)
    with restic.session(target, host) as client:
        snap = snapshots.pick(snapshots.host_snapshots(client, host), req.at, host.name)
        nodes = _check_paths(client, host, snap, paths)
        if req.in_place:
            question = (
                f"Replace {', '.join(paths)} on {host.name} with snapshot {snap.short_id} "
                f"({snap.time.isoformat(timespec='seconds')})? The current version is kept "
                "beside it as <path>.ilag-before-<time>."
            )
            if confirm is not None and not confirm(question):
                raise _bad("--in-place", "not confirmed; nothing was changed", "answer y, or --yes")
            result = _in_place(client, host, snap, paths, nodes, now)
        else:
            dest = req.to or default_destination(snap, now)
            if req.verify_only:
                dest = dest.replace(f"{RESTORE_ROOT}/", f"{RESTORE_ROOT}/verify-", 1)
            _must_be_new(client, host, dest)
            _sh(client, f"mkdir -p -m 0700 {shlex.quote(dest)}")
            verified, message = _restic_restore(client, host, snap, dest, paths)
            entries = treewalk.walk(client, [dest + p for p in paths])
            summary = verify.compare(nodes, entries, dest)
            if req.verify_only:
                _sh(client, f"rm -rf {shlex.quote(dest)}", timeout=600)
            result = RestoreResult(
                host,
                snap,
                paths,
                dest,
                False,
                summary,
                verified,
                0.0,
                error=None if verified else f"restic restore: {message}",
            )
    return result


def _in_place(
    client: paramiko.SSHClient,
    host: SshHost,
    snap: Snapshot,
    paths: list[str],
    nodes: list[Node],
    now: datetime,
) -> RestoreResult:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    verified_all = True
    messages: list[str] = []
    stages: dict[str, str] = {}
    try:
        for p in paths:
            # Staged beside the live path (same file system, so the swap is a rename), in a
            # directory of its own: two paths in one folder must not share (and delete) one.
            parent = posixpath.dirname(p)
            base = shlex.quote(f"{parent}/.ilag-restore-{stamp}")
            _rc, out, err = _sh(
                client, f"mkdir -p {shlex.quote(parent)} && mktemp -d {base}.XXXXXX"
            )
            if not out.strip():
                raise IlagError(f"{host.name}: no stage directory beside {p}: {err.strip()[-300:]}")
            stages[p] = out.strip()
            ok, message = _restic_restore(client, host, snap, stages[p], [p])
            verified_all &= ok
            if not ok:
                messages.append(message)
        staged = _compare_staged(client, nodes, paths, stages)
        if not verified_all or not staged.ok:
            return RestoreResult(
                host,
                snap,
                paths,
                "/",
                True,
                staged,
                verified_all,
                0.0,
                error="staged copy did not verify; the live files were left alone"
                + (f" ({'; '.join(messages)})" if messages else ""),
            )
        kept: list[str] = []
        for p in paths:
            aside = f"{p}.ilag-before-{stamp}"
            rc, out, err = _sh(client, swap_line(p, aside, stages[p] + p))
            if rc != 0:
                raise IlagError(
                    f"{host.name}: swapping in {p} failed ({', '.join(kept) or 'nothing'} "
                    f"kept aside so far): {err.strip()[-300:]}"
                )
            if out.startswith("kept"):
                kept.append(aside)
    finally:
        # Only after every swap (or none): each stage holds its own path's copy.
        for stage in stages.values():
            _sh(client, f"rm -rf {shlex.quote(stage)}", timeout=600)
    final = verify.compare(nodes, treewalk.walk(client, paths), "")
    return RestoreResult(host, snap, paths, "/", True, final, verified_all, 0.0, kept)


def _compare_staged(
    client: paramiko.SSHClient, nodes: list[Node], paths: list[str], stages: dict[str, str]
) -> verify.Summary:
    total = verify.Summary()
    for p in paths:
        mine = [n for n in nodes if n.path == p or n.path.startswith(p.rstrip("/") + "/")]
        part = verify.compare(mine, treewalk.walk(client, [stages[p] + p]), stages[p])
        total.files += part.files
        total.dirs += part.dirs
        total.symlinks += part.symlinks
        total.others += part.others
        total.bytes += part.bytes
        total.hardlink_groups += part.hardlink_groups
        total.with_xattrs += part.with_xattrs
        total.differences += part.differences
        total.extra += part.extra
    return total
