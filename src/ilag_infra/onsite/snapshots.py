"""What is in the backups: each host's snapshots and the files inside one snapshot."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import paramiko

from ilag_infra.model.errors import InputError, Problem
from ilag_infra.onsite import hostlist, restic, ssh
from ilag_infra.onsite.backup import BACKUP_GROUP
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target

# Written by the host's backup script, one JSON object per successful snapshot: restic 0.14's
# `snapshots --json` has no size, so the size each backup added is kept on the host.
HISTORY = "/var/lib/ilag-backup/history.jsonl"
STATUS = "/var/lib/ilag-backup/status.json"
_HEX = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: datetime
    host: str
    paths: list[str]
    tags: list[str] = field(default_factory=list)
    size_added: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["time"] = self.time.isoformat()
        return out


@dataclass(frozen=True)
class Node:
    """One entry of a snapshot as `restic ls --json` (0.14) describes it."""

    path: str
    type: str
    size: int | None
    permissions: str
    mode: int
    uid: int
    gid: int
    mtime: datetime

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mtime"] = self.mtime.isoformat()
        return out


@dataclass
class HostSnapshots:
    host: SshHost
    snapshots: list[Snapshot]
    error: str | None = None


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_added(history: str, status: str) -> dict[str, int]:
    """snapshot id -> bytes added, from the host's history lines and its status file."""
    added: dict[str, int] = {}
    for line in history.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("data_added"), int):
            added[str(item.get("snapshot_id"))] = item["data_added"]
    try:
        data = json.loads(status) if status.strip() else {}
    except ValueError:
        data = {}
    if isinstance(data, dict) and isinstance(data.get("last_data_added"), int):
        added.setdefault(str(data.get("last_snapshot_id")), data["last_data_added"])
    return added


def _added_for(snap_id: str, added: dict[str, int]) -> int | None:
    # The backup summary names the short id; restic lists the full one.
    for key, value in added.items():
        if key and snap_id.startswith(key):
            return value
    return None


def parse_snapshots(items: list[dict[str, Any]], added: dict[str, int]) -> list[Snapshot]:
    """Snapshots from `restic snapshots --json`, oldest first."""
    snaps = [
        Snapshot(
            id=str(it["id"]),
            short_id=str(it.get("short_id") or str(it["id"])[:8]),
            time=parse_time(str(it["time"])),
            host=str(it.get("hostname", "")),
            paths=[str(p) for p in it.get("paths") or []],
            tags=[str(t) for t in it.get("tags") or []],
            size_added=_added_for(str(it["id"]), added),
        )
        for it in items
        if "id" in it and "time" in it
    ]
    return sorted(snaps, key=lambda s: s.time)


def parse_nodes(items: list[dict[str, Any]]) -> list[Node]:
    return [
        Node(
            path=str(it["path"]),
            type=str(it.get("type", "")),
            size=it.get("size") if isinstance(it.get("size"), int) else None,
            permissions=str(it.get("permissions", "")),
            mode=int(it.get("mode", 0)),
            uid=int(it.get("uid", 0)),
            gid=int(it.get("gid", 0)),
            mtime=parse_time(str(it["mtime"])),
        )
        for it in items
        if it.get("struct_type") == "node" and "path" in it and "mtime" in it
    ]


def _bad(key: str, message: str, fix: str) -> InputError:
    return InputError([Problem("command line", key, message, fix)])


def pick(snaps: list[Snapshot], at: str | None, host: str) -> Snapshot:
    """The snapshot meant by --at: an id (prefix), a time (newest at or before it), or latest."""
    if not snaps:
        raise _bad(
            "HOST", f"{host} has no snapshots yet", "run `ilag backup run` for its municipality"
        )
    if not at or at == "latest":
        return snaps[-1]
    wanted = at.lower()
    if _HEX.match(wanted):
        hits = [s for s in snaps if s.id.startswith(wanted)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise _bad("--at", f"snapshot id {at!r} is ambiguous on {host}", "give more digits")
    try:
        moment = parse_time(at.replace("Z", "+00:00") if at.endswith("Z") else at)
    except ValueError:
        raise _bad(
            "--at",
            f"{at!r} is neither a snapshot id of {host} nor a time",
            "use an id from `ilag backup snapshots`, or a time like 2026-11-30T12:00 (UTC)",
        ) from None
    before = [s for s in snaps if s.time <= moment]
    if not before:
        raise _bad(
            "--at",
            f"{moment.isoformat()} is before the first snapshot of {host} "
            f"({snaps[0].time.isoformat(timespec='seconds')})",
            "pick a later time or a snapshot id from `ilag backup snapshots`",
        )
    return before[-1]


def host_snapshots(client: paramiko.SSHClient, host: SshHost) -> list[Snapshot]:
    out = restic.run_ok(client, host, ["snapshots", "--json"], timeout=300)
    _, history, _ = ssh.run(client, f"cat {HISTORY} 2>/dev/null; true")
    _, status, _ = ssh.run(client, f"cat {STATUS} 2>/dev/null; true")
    return parse_snapshots(restic.json_lines(out), parse_added(history, status))


def _one(target: Target, host: SshHost) -> HostSnapshots:
    try:
        with restic.session(target, host) as client:
            return HostSnapshots(host, host_snapshots(client, host))
    except (restic.ResticError, ssh.HostKeyError, ValueError) as exc:
        return HostSnapshots(host, [], str(exc))


def backup_clients(target: Target, slug: str, host: str | None = None) -> list[SshHost]:
    hosts = hostlist.resolve(target, slug, BACKUP_GROUP)
    if host is None:
        return hosts
    chosen = [h for h in hosts if h.name == host]
    if not chosen:
        raise _bad(
            "HOST",
            f"{host!r} is not a backup client of {slug}",
            f"use one of {', '.join(h.name for h in hosts)}",
        )
    return chosen


def list_snapshots(target: Target, slug: str, host: str | None = None) -> list[HostSnapshots]:
    """Every backup client's snapshots (or one host's), read with that host's own credential."""
    hosts = backup_clients(target, slug, host)
    with ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
        return list(pool.map(lambda h: _one(target, h), hosts))


def ls_nodes(
    client: paramiko.SSHClient,
    host: SshHost,
    snap: Snapshot,
    paths: list[str],
    recursive: bool = False,
) -> list[Node]:
    """`restic ls` of a snapshot: a directory's own entry and its contents (all levels if
    recursive); a file's own entry."""
    flags = ["--recursive"] if recursive else []
    out = restic.run_ok(client, host, ["ls", "--json", *flags, snap.id, *paths], timeout=600)
    return parse_nodes(restic.json_lines(out))


def ls(
    target: Target, host: SshHost, at: str | None, path: str | None
) -> tuple[Snapshot, list[Node]]:
    """The entries of one snapshot of host, below path (everything when path is None)."""
    with restic.session(target, host) as client:
        snap = pick(host_snapshots(client, host), at, host.name)
        nodes = ls_nodes(client, host, snap, [path] if path else [])
    if path and not nodes:
        raise _bad(
            "PATH",
            f"{path} is not in snapshot {snap.short_id} of {host.name}",
            f"browse it with `ilag backup ls {host.name} {snap.short_id}`",
        )
    return snap, nodes
