"""Compare restored files with the snapshot they came from, and sum them up for a person."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ilag_infra.onsite.snapshots import Node
from ilag_infra.onsite.treewalk import Entry

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Go's os.FileMode keeps the special bits apart from the permission bits.
_GO_SETUID, _GO_SETGID, _GO_STICKY = 1 << 23, 1 << 22, 1 << 20


def unix_mode(go_mode: int) -> int:
    """The chmod bits of a Go os.FileMode as restic stores it."""
    mode = go_mode & 0o777
    if go_mode & _GO_SETUID:
        mode |= 0o4000
    if go_mode & _GO_SETGID:
        mode |= 0o2000
    if go_mode & _GO_STICKY:
        mode |= 0o1000
    return mode


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass
class Summary:
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    others: int = 0
    bytes: int = 0
    hardlink_groups: int = 0
    with_xattrs: int = 0
    differences: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def compare(nodes: list[Node], entries: list[Entry], prefix: str = "") -> Summary:
    """What differs between snapshot nodes and the restored entries found under prefix.

    Checked: presence, type, size, mode, owner and mtime (to the microsecond, as restic's
    listing gives it). Content is checked by `restic restore --verify`. restic 0.14's listing
    does not show link targets, xattrs or hard links, so those are counted, not compared.
    """
    found = {e.path: e for e in entries}
    prefix = prefix.rstrip("/")
    s = Summary()
    seen: set[str] = set()
    inodes: dict[int, int] = {}
    for node in nodes:
        where = prefix + node.path
        seen.add(where)
        got = found.get(where)
        if got is None or got.type == "missing":
            s.differences.append(f"{node.path}: missing")
            continue
        if got.type != node.type:
            s.differences.append(f"{node.path}: type {got.type}, snapshot has {node.type}")
            continue
        if node.type == "file":
            s.files += 1
            s.bytes += got.size
            if got.nlink > 1:
                inodes[got.ino] = inodes.get(got.ino, 0) + 1
            if node.size is not None and got.size != node.size:
                s.differences.append(f"{node.path}: size {got.size}, snapshot has {node.size}")
        elif node.type == "dir":
            s.dirs += 1
        elif node.type == "symlink":
            s.symlinks += 1
        else:
            s.others += 1
        if got.xattrs:
            s.with_xattrs += 1
        if node.type != "symlink" and got.mode != unix_mode(node.mode):
            s.differences.append(
                f"{node.path}: mode {got.mode:04o}, snapshot has {unix_mode(node.mode):04o}"
            )
        if (got.uid, got.gid) != (node.uid, node.gid):
            s.differences.append(
                f"{node.path}: owner {got.uid}:{got.gid}, snapshot has {node.uid}:{node.gid}"
            )
        if got.mtime_ns // 1000 != micros(node.mtime):
            s.differences.append(f"{node.path}: mtime differs from the snapshot")
    s.hardlink_groups = sum(1 for n in inodes.values() if n > 1)
    s.extra = sorted(e.path for e in entries if e.path not in seen and e.type != "missing")
    return s


def manifest(entries: list[Entry]) -> dict[str, dict[str, Any]]:
    """path -> what must survive a restore: content digest, size, type, mode, owner, mtime,
    link target, xattrs/ACLs (with values when walked with digests) and the link count.
    The inode number is left out: it is new on a new disk."""
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        item = asdict(e)
        item.pop("ino")
        item.pop("path")
        item["xattrs"] = list(e.xattrs)
        if e.type == "dir":
            item.pop("size")  # a directory's size is the file system's business
        out[e.path] = item
    return out


def manifest_differences(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[str]:
    """Every path whose entry is missing, extra or different, with the fields that differ."""
    found = []
    for path in sorted(before.keys() | after.keys()):
        if path not in after:
            found.append(f"{path}: missing")
        elif path not in before:
            found.append(f"{path}: not in the manifest")
        elif before[path] != after[path]:
            fields = sorted(k for k in before[path] if before[path][k] != after[path].get(k))
            found.append(f"{path}: {', '.join(fields)} differ")
    return found
