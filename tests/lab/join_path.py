"""The way in for a sixth municipality, as commands: shared by the lab test (a short path) and
bench/onboard.py (the whole path, timed). Each step is a real `ilag` command in a process of
its own, run against a clean checkout, so what is timed is what an operator types."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SLUG = "lodingen"
ONBOARD = [
    "onboard", SLUG, "--name", "Lødingen", "--kommunenummer", "1851", "--population", "2066",
    "--spoke-prefix", "10.20.24.0/22",
    "--site", "lodingen=198.51.100.51:servers=10.51.10.0/24,management=10.51.99.0/24",
    "--host", "lodingen-fil01=10.51.10.10:file_servers,backup_clients",
    "--host", "lodingen-util01=10.51.10.20:utility_servers,backup_clients,dns_forwarders,ilag_nodes",
]  # fmt: skip


def clean_checkout(repo: Path, dest: Path) -> Path:
    """A clone of the repository at HEAD; Azurite comes from the repository's node_modules."""
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True)
    (dest / "node_modules").symlink_to(repo / "node_modules")
    return dest


@dataclass
class Step:
    name: str
    args: list[str]
    seconds: float = 0.0
    rc: int | None = None
    out: str = ""
    tail: str = ""


@dataclass
class JoinPath:
    """Runs `ilag` with the checkout's own code (PYTHONPATH) and its region (ILAG_REGION)."""

    checkout: Path
    progress: Callable[[str], None] = print
    steps: list[Step] = field(default_factory=list)

    def run(self, name: str, *args: str) -> Step:
        step = Step(name, list(args))
        env = {
            **os.environ,
            "PYTHONPATH": str(self.checkout / "src"),
            "ILAG_REGION": str(self.checkout / "region.yaml"),
        }
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from ilag_infra.cli.app import main; "
             "sys.exit(main(sys.argv[1:]))", *args],
            cwd=self.checkout, env=env, capture_output=True, text=True,
        )  # fmt: skip
        step.seconds = time.monotonic() - start
        step.rc = done.returncode
        step.out = done.stdout
        step.tail = (done.stdout + done.stderr)[-1500:]
        self.steps.append(step)
        self.progress(f"{name:<14} {step.seconds:6.1f} s  exit {step.rc}")
        return step

    @property
    def total(self) -> float:
        return sum(s.seconds for s in self.steps)
