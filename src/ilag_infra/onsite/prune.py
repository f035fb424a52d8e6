"""Retention, centrally: `restic forget --prune` on each repository of a municipality.

Runs on the operator's machine with the operator's credential (never a site SAS), shows what
would go, and only with yes=True forgets, prunes, checks and measures the space freed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.model.region import Region
from ilag_infra.model.retention import Retention, resolve
from ilag_infra.onsite import jobrecord, operator, restic
from ilag_infra.onsite.snapshots import Snapshot, parse_snapshots
from ilag_infra.onsite.targets import Target

LOCKED_MARKERS = ("repository is already locked", "unable to create lock")
LOCK_RETRY_INTERVAL = 10.0


class PruneError(IlagError):
    """A prune step failed."""


@dataclass
class RepoPrune:
    name: str
    keep: list[Snapshot] = field(default_factory=list)
    remove: list[Snapshot] = field(default_factory=list)
    bytes_before: int | None = None
    bytes_after: int | None = None
    check_ok: bool | None = None
    lock_waits: int = 0
    error: str | None = None

    @property
    def freed(self) -> int | None:
        if self.bytes_before is None or self.bytes_after is None:
            return None
        return self.bytes_before - self.bytes_after

    def to_dict(self) -> dict[str, Any]:
        return {
            "repository": self.name,
            "keep": [s.to_dict() for s in self.keep],
            "remove": [s.to_dict() for s in self.remove],
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "freed": self.freed,
            "check_ok": self.check_ok,
            "lock_waits": self.lock_waits,
            "error": self.error,
        }


@dataclass
class MunicipalityPrune:
    slug: str
    rules: Retention
    container: str
    repos: list[RepoPrune]
    applied: bool = False

    @property
    def ok(self) -> bool:
        return all(r.error is None and r.check_ok is not False for r in self.repos)

    def to_dict(self) -> dict[str, Any]:
        return {
            "municipality": self.slug,
            "rules": self.rules.model_dump(exclude_none=True),
            "container": self.container,
            "applied": self.applied,
            "ok": self.ok,
            "repositories": [r.to_dict() for r in self.repos],
        }


def rules_for(region: Region, slugs: list[str]) -> dict[str, Retention]:
    """Each municipality's keep rules; InputError names every municipality without any."""
    found: dict[str, Retention] = {}
    problems = []
    default = region.region.backup_retention
    for slug in slugs:
        rules = resolve(default, region.municipality(slug).backup_retention)
        if rules is None or not rules.keeps_anything:
            problems.append(
                Problem(
                    "region.yaml",
                    f"municipalities[{slug}].backup_retention",
                    "no keep rules: a prune would have nothing to keep",
                    "set region.backup_retention (e.g. daily: 14) or the municipality's own",
                )
            )
        else:
            found[slug] = rules
    if problems:
        raise InputError(problems)
    return found


def _tool(argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run rclone or restic; a missing program is bad input with the fix, not a traceback."""
    try:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise InputError(
            [
                Problem(
                    "environment",
                    "PATH",
                    f"{argv[0]} is not installed on this machine (prune runs it here)",
                    f"install {argv[0]} (Debian: apt-get install {argv[0]}) or add it to PATH",
                )
            ]
        ) from None


def _repositories(run: _Runner, remote: str, container: str) -> list[str]:
    """The repositories (top-level folders) in a municipality's container."""
    try:
        listing = json.loads(run.rclone(["lsjson", "--dirs-only", f"{remote}:{container}"]))
    except subprocess.TimeoutExpired:
        raise PruneError(f"listing container {container}: rclone lsjson timed out") from None
    except PruneError as exc:
        raise PruneError(f"listing container {container}: {exc}") from None
    except ValueError:
        raise PruneError(f"listing container {container}: rclone lsjson gave no JSON") from None
    if not isinstance(listing, list):
        raise PruneError(f"listing container {container}: rclone lsjson gave no list")
    return sorted(str(d["Path"]) for d in listing if isinstance(d, dict) and "Path" in d)


class _Runner:
    """restic and rclone on this machine with the operator's access."""

    def __init__(self, access: operator.Access, limit_kib: int | None = None) -> None:
        self.access = access
        self.env = {**os.environ, **access.env}
        # Bandwidth cap for the operator's own link (restic's --limit-*; KiB/s).
        self.limits = (
            [f"--limit-download={limit_kib}", f"--limit-upload={limit_kib}"] if limit_kib else []
        )

    def rclone(self, args: list[str], timeout: float = 300) -> str:
        proc = _tool(["rclone", *args], self.env, timeout)
        if proc.returncode != 0:
            raise PruneError(f"rclone {args[0]}: {restic.last_line(restic.redact(proc.stderr))}")
        return proc.stdout

    def restic(
        self, repo: str, args: list[str], timeout: float = 3600
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "RESTIC_REPOSITORY": f"rclone:{self.access.remote}:{repo}"}
        return _tool(["restic", *self.limits, *args], env, timeout)

    def size(self, path: str) -> int:
        data = json.loads(self.rclone(["size", "--json", f"{self.access.remote}:{path}"]))
        return int(data.get("bytes", 0))


def parse_forget(out: str) -> tuple[list[Snapshot], list[Snapshot]]:
    """(keep, remove) from `restic forget --json` (one group per host)."""
    keep: list[Snapshot] = []
    remove: list[Snapshot] = []
    for line in out.splitlines():
        if line.startswith("["):
            for group in json.loads(line):
                keep += parse_snapshots(group.get("keep") or [], {})
                remove += parse_snapshots(group.get("remove") or [], {})
            break
    return keep, remove


def check_error(stderr: str) -> str:
    """The line a failed `restic check` leaves in the record, redacted like every other."""
    return restic.redact(f"restic check: {restic.last_line(stderr)}")


def _locked(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.returncode != 0 and any(m in proc.stderr for m in LOCKED_MARKERS)


def _waiting(
    run: _Runner, repo: str, args: list[str], result: RepoPrune, lock_wait: float
) -> subprocess.CompletedProcess[str]:
    """restic, retried while a site backup holds the repository lock (0.14: no --retry-lock)."""
    deadline = time.monotonic() + lock_wait
    while True:
        proc = run.restic(repo, args)
        if not _locked(proc) or time.monotonic() + LOCK_RETRY_INTERVAL > deadline:
            return proc
        result.lock_waits += 1
        time.sleep(LOCK_RETRY_INTERVAL)


def _forget(
    run: _Runner, repo: str, rules: Retention, act: bool, result: RepoPrune, lock_wait: float
) -> None:
    # Grouped by host only: a path added or skipped one night must not start a new group
    # that keeps its own full set of snapshots.
    args = ["forget", "--json", "--group-by", "host", *rules.forget_args()]
    args += ["--prune"] if act else ["--dry-run"]
    proc = _waiting(run, repo, args, result, lock_wait)
    if proc.returncode != 0:
        raise PruneError(f"restic forget: {restic.last_line(restic.redact(proc.stderr))}")
    result.keep, result.remove = parse_forget(proc.stdout)


def prune(
    target: Target,
    region: Region,
    slugs: list[str],
    act: bool,
    lock_wait: float = 600.0,
    limit_kib: int | None = None,
) -> list[MunicipalityPrune]:
    """Show (act=False) or do (act=True) the prune of each municipality's repositories."""
    all_rules = rules_for(region, slugs)
    containers = target.stack_outputs().get("backup", "container_names")
    results = []
    for slug in slugs:
        container = str(containers[slug])
        with operator.access(target, slug) as acc:
            run = _Runner(acc, limit_kib)
            repos = _repositories(run, acc.remote, container)
            mp = MunicipalityPrune(slug, all_rules[slug], container, [], applied=act)
            for name in repos:
                repo = f"{container}/{name}"
                r = RepoPrune(name)
                mp.repos.append(r)
                try:
                    if act:
                        r.bytes_before = run.size(repo)
                    _forget(run, repo, all_rules[slug], act, r, lock_wait)
                    if act:
                        r.bytes_after = run.size(repo)
                        check = _waiting(run, repo, ["check"], r, lock_wait)
                        r.check_ok = check.returncode == 0
                        if not r.check_ok:
                            r.error = check_error(check.stderr)
                except (PruneError, subprocess.TimeoutExpired, ValueError) as exc:
                    r.error = restic.redact(str(exc))
        if act:
            jobrecord.write(
                target.repo_root, "prune", slug, {"environment": target.env, **mp.to_dict()}
            )
        results.append(mp)
    return results
