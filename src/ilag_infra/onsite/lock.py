"""One apply per municipality at a time, and the holder named.

With a record store (ILAG_RECORDS_URL), the lock is a blob lease the whole region sees
(onsite/lease.py). Without one (the lab or an offline checkout), it is a local flock on
runs/locks/<slug>.lock, which only this machine sees; apply says so.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ilag_infra.onsite import lease, recordstore
from ilag_infra.onsite.lease import LockedError

__all__ = ["LOCAL_NOTE", "OFFLINE_NOTE", "LockedError", "apply_lock", "municipality_lock"]

OFFLINE_NOTE = (
    f"the record store ({recordstore.STORE_ENV}) cannot be reached: this check ran under "
    "this machine's own file lock, and its records wait in runs/outbox/ until the store is back"
)
LOCAL_NOTE = (
    f"no record store configured ({recordstore.STORE_ENV}): the apply lock is this machine's "
    "own file lock (runs/locks/), which another checkout does not see"
)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return (
            f"pid {info['pid']} ({info['user']}@{info['host']}, run {info['run_id']}, "
            f"since {info['since']})"
        )
    except (OSError, ValueError, KeyError):
        return "another process"


@contextmanager
def municipality_lock(lock_dir: Path, slug: str, run_id: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock for slug; wait up to `wait` seconds, then refuse naming the holder."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{slug}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"{slug} is already being applied by {_holder(path)}; runs on one "
                        f"municipality must not interleave. Wait for it, or pass --wait SECONDS."
                    ) from None
                time.sleep(0.5)
        info = {
            "pid": os.getpid(),
            "user": os.environ.get("USER", str(os.getuid())),
            "host": socket.gethostname(),
            "run_id": run_id,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def apply_lock(
    lock_dir: Path,
    env: str,
    slug: str,
    run_id: str,
    wait: float = 0.0,
    offline_ok: bool = False,
) -> Iterator[str]:
    """The region's lease when a store is configured, else the local flock; yields which.

    offline_ok (a check, which changes nothing): when the store cannot be reached, hold the
    local flock instead and yield "offline", so a node's checks still run with the link down.
    A run that changes servers never falls back: it refuses and says how to choose."""
    url = recordstore.store_url()
    if url is None:
        with municipality_lock(lock_dir, slug, run_id, wait):
            yield "local"
        return
    with ExitStack() as stack:
        try:
            stack.enter_context(lease.held(url, env, slug, run_id, wait))
            kind = "lease"
        except lease.StoreUnreachable:
            if not offline_ok:
                raise
            stack.enter_context(municipality_lock(lock_dir, slug, run_id, wait))
            kind = "offline"
        yield kind
