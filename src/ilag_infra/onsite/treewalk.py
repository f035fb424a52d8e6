"""The metadata of restored files as the host itself sees them (lstat, link targets, xattrs).

WALKER runs with the host's python3 (sent on stdin, nothing installed): one JSON line per entry.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

import paramiko

from ilag_infra.model.errors import IlagError

WALKER = r"""
import hashlib, json, os, stat, sys
KINDS = [(stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"),
         (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "chardev"),
         (stat.S_ISBLK, "dev")]
digest = sys.argv[1] == "sha256"
def emit(path):
    st = os.lstat(path)
    kind = next((k for test, k in KINDS if test(st.st_mode)), "other")
    item = {"path": path, "type": kind, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
            "gid": st.st_gid, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "ino": st.st_ino, "nlink": st.st_nlink}
    if kind == "symlink":
        item["target"] = os.readlink(path)
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:
        names = []
    # With digests, values too ("name=hex"), so ACLs and xattrs are compared byte for byte.
    item["xattrs"] = [n + "=" + os.getxattr(path, n, follow_symlinks=False).hex()
                      for n in names] if digest else names
    if digest and kind == "file":
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        item["sha256"] = h.hexdigest()
    print(json.dumps(item))
for root in sys.argv[2:]:
    if not os.path.lexists(root):
        print(json.dumps({"path": root, "type": "missing"}))
        continue
    emit(root)
    if os.path.isdir(root) and not os.path.islink(root):
        for base, dirs, files in os.walk(root):
            for name in sorted(dirs) + sorted(files):
                emit(os.path.join(base, name))
"""


@dataclass(frozen=True)
class Entry:
    path: str
    type: str
    mode: int = 0
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime_ns: int = 0
    ino: int = 0
    nlink: int = 1
    target: str | None = None
    xattrs: tuple[str, ...] = ()
    sha256: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entry:
        return cls(
            path=str(d["path"]),
            type=str(d["type"]),
            mode=int(d.get("mode", 0)),
            uid=int(d.get("uid", 0)),
            gid=int(d.get("gid", 0)),
            size=int(d.get("size", 0)),
            mtime_ns=int(d.get("mtime_ns", 0)),
            ino=int(d.get("ino", 0)),
            nlink=int(d.get("nlink", 1)),
            target=d.get("target"),
            xattrs=tuple(d.get("xattrs") or ()),
            sha256=d.get("sha256"),
        )


def walk(
    client: paramiko.SSHClient, roots: list[str], sha256: bool = False, timeout: float = 1800
) -> list[Entry]:
    """Every entry under roots on the host (a root that does not exist comes back as 'missing')."""
    stdin, stdout, stderr = client.exec_command(
        "python3 - "
        + ("sha256" if sha256 else "meta")
        + " "
        + " ".join(shlex.quote(r) for r in roots),
        timeout=timeout,
    )
    stdin.write(WALKER)
    stdin.channel.shutdown_write()
    out = stdout.read().decode("utf-8", errors="surrogateescape")
    err = stderr.read().decode(errors="replace")
    rc = stdout.channel.recv_exit_status()
    if rc != 0:
        raise IlagError(f"listing restored files failed ({rc}): {err.strip()[-300:]}")
    return [Entry.from_dict(json.loads(line)) for line in out.splitlines() if line.strip()]
