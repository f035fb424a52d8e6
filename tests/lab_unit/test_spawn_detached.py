"""Lab daemons start clean: no descriptor of the caller (a held lock, say) reaches them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ilag_infra.lab.hosts import spawn_detached


def test_daemon_inherits_no_descriptor_of_the_caller(tmp_path: Path) -> None:
    held = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    os.set_inheritable(held, True)
    log = tmp_path / "child.log"
    try:
        pid = spawn_detached(["sh", "-c", "ls /proc/$$/fd"], log)
        os.waitpid(pid, 0)
    finally:
        os.close(held)
    deadline = time.monotonic() + 5
    while not log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    fds = {int(x) for x in log.read_text().split()}
    assert {0, 1, 2} <= fds
    assert held not in fds
