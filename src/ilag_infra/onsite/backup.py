"""Backups as an operator sees them: start one now, and read each host's last result."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import paramiko

from ilag_infra.model.secrets import redact_text
from ilag_infra.onsite import escrow, hostlist, jobrecord, ssh
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target

BACKUP_GROUP = "backup_clients"
FACT = "/etc/ansible/facts.d/ilag_backup.fact"
SERVICE = "ilag-backup.service"


@dataclass
class BackupStatus:
    host: SshHost
    state: str
    last_success: datetime | None = None
    snapshot_id: str | None = None
    error: str | None = None
    fresh: bool = False
    # The paths of the newest snapshot (None from an agent too old to record them).
    snapshot_paths: list[str] | None = None
    # The municipality's escrowed restic password tried on this host's repository:
    # escrow_checked says it was tried, escrow_error why it failed (None: it opened).
    escrow_checked: bool = False
    escrow_error: str | None = None

    @property
    def age(self) -> timedelta | None:
        return datetime.now(UTC) - self.last_success if self.last_success else None

    @property
    def verdict(self) -> str:
        """fresh, failed (the last run failed, however recent) or stale (too old or missing)."""
        if self.fresh:
            return "fresh"
        return "failed" if self.state in ("failed", "partial") else "stale"

    def to_dict(self) -> dict[str, Any]:
        age = self.age
        return {
            "municipality": self.host.municipality,
            "host": self.host.name,
            "state": self.state,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "age_seconds": round(age.total_seconds()) if age else None,
            "snapshot_id": self.snapshot_id,
            "snapshot_paths": self.snapshot_paths,
            "verdict": self.verdict,
            "error": self.error,
            "escrow": ("ok" if self.escrow_error is None else "failed")
            if self.escrow_checked
            else None,
            "escrow_error": self.escrow_error,
        }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def interpret(host: SshHost, data: dict[str, Any], max_age: timedelta) -> BackupStatus:
    """Turn the host's status file into a verdict: fresh means a recent successful snapshot."""
    last = _parse_time(data.get("last_success"))
    status = BackupStatus(
        host,
        str(data.get("state", "unknown")),
        last,
        data.get("last_snapshot_id"),
        data.get("last_error"),
    )
    paths = data.get("last_snapshot_paths")
    if isinstance(paths, list):
        status.snapshot_paths = [str(p) for p in paths]
    status.fresh = (
        last is not None
        and status.state == "ok"
        and datetime.now(UTC) - last <= max_age
        and bool(status.snapshot_id)
    )
    return status


def _read_status(
    client: paramiko.SSHClient, host: SshHost, command: str | None, max_age: timedelta
) -> BackupStatus:
    failure = None
    if command:
        rc, _, err = ssh.run(client, command, timeout=1800)
        if rc != 0:
            tail = err.strip().splitlines()[-1:] or [f"exit {rc}"]
            # the service's own output is already redacted; keep only its last line
            failure = tail[0][:300]
    rc, out, err = ssh.run(client, FACT)
    if rc != 0:
        return BackupStatus(host, "not installed", error=err.strip()[:200] or FACT)
    try:
        data = json.loads(out)
    except ValueError:
        return BackupStatus(host, "unreadable", error="status is not JSON")
    status = interpret(host, data if isinstance(data, dict) else {}, max_age)
    if failure is not None:
        # The run just failed; the fact still knows the earlier success, so keep it.
        status.state, status.error, status.fresh = "failed", failure, False
    return status


def _on_host(
    target: Target,
    host: SshHost,
    command: str | None,
    max_age: timedelta,
    escrowed: str | None = None,
) -> BackupStatus:
    try:
        client = ssh.connect(host, target.known_hosts(host.municipality))
    except (OSError, paramiko.SSHException, ssh.HostKeyError) as exc:
        return BackupStatus(host, "unreachable", error=str(exc)[:200])
    try:
        status = _read_status(client, host, command, max_age)
        if escrowed is not None:
            status.escrow_checked = True
            try:
                rc, _, err = ssh.run(client, escrow.check_command(), timeout=300, stdin=escrowed)
            except (OSError, paramiko.SSHException) as exc:
                # A timeout or a dropped connection: not a verdict on the password.
                status.escrow_error = f"not tried to the end: {str(exc)[:200] or 'timed out'}"
            else:
                status.escrow_error = escrow.verdict(rc, err)
        return status
    finally:
        client.close()


def _on_backup_clients(
    target: Target,
    slugs: list[str],
    command: str | None,
    max_age: timedelta,
    escrowed: dict[str, str] | None = None,
) -> list[BackupStatus]:
    """Run command (if any) on every backup client in parallel, then read its status, and
    try the municipality's escrowed password on its repository (if given)."""
    hosts = [h for slug in slugs for h in hostlist.resolve(target, slug, BACKUP_GROUP)]
    passwords = escrowed or {}
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
        return list(
            pool.map(
                lambda h: _on_host(target, h, command, max_age, passwords.get(h.municipality)),
                hosts,
            )
        )


def status(
    target: Target, slugs: list[str], max_age: timedelta, escrowed: dict[str, str] | None = None
) -> list[BackupStatus]:
    """Each backup client's last backup, read over SSH from its local fact. With escrowed
    (slug → password), each client's repository is also opened with that password."""
    return _on_backup_clients(target, slugs, None, max_age, escrowed)


def escrow_checks(
    slugs: list[str],
    source: escrow.EscrowSource,
    rows: Sequence[BackupStatus],
    unavailable: dict[str, escrow.EscrowCheck],
) -> list[escrow.EscrowCheck]:
    """Per municipality: the escrow could not be read, or what each backup client said."""
    checks = []
    for slug in slugs:
        if slug in unavailable:
            check = unavailable[slug]
            checks.append(check)
            # The hosts' rows (--json, the record) carry the failure too.
            for s in rows:
                if s.host.municipality == slug:
                    s.escrow_checked, s.escrow_error = True, check.summary()
            continue
        check = escrow.EscrowCheck(slug, source.where(slug), fix=source.mismatch_fix(slug))
        for s in rows:
            if s.host.municipality != slug:
                continue
            check.hosts[s.host.name] = (
                s.escrow_error
                if s.escrow_checked
                else f"not tried: the host is {s.state} ({s.error or 'no detail'})"
            )
        checks.append(check)
    return checks


def run_now(target: Target, slugs: list[str], max_age: timedelta) -> list[BackupStatus]:
    """Start the backup service on every backup client and wait for it (it is a oneshot)."""
    return _on_backup_clients(target, slugs, f"systemctl start {SERVICE}", max_age)


def write_records(
    repo_root: Path,
    env: str,
    action: Literal["status", "run"],
    statuses: Sequence[BackupStatus],
    max_age: timedelta,
    escrows: Sequence[escrow.EscrowCheck] = (),
) -> list[Path]:
    """One backup record per municipality (action status or run) for `ilag report`.

    Per host: state, last_success, fresh and verdict, as the report's backup section reads them.
    One municipality per record, so the report never lists another municipality's hosts.
    The escrow check, when it ran, is kept beside the hosts (`escrow`); `ok` stays the
    backups' own verdict.
    """
    checked = {c.slug: c for c in escrows}
    by_slug: dict[str, list[BackupStatus]] = {}
    for s in statuses:
        by_slug.setdefault(s.host.municipality, []).append(s)
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    written = []
    for slug, rows in by_slug.items():
        hosts = [
            {**s.to_dict(), "fresh": s.fresh, "error": redact_text(s.error) if s.error else None}
            for s in rows
        ]
        fields = {
            "environment": env,
            "municipality": slug,
            "action": action,
            "checked_at": checked_at,
            "max_age_hours": round(max_age.total_seconds() / 3600, 2),
            "ok": all(s.fresh for s in rows),
            "hosts": hosts,
        }
        if slug in checked:
            fields["escrow"] = checked[slug].to_dict()
        written.append(jobrecord.write(repo_root, "backup", slug, fields))
    return written
