"""The lab's record of what it created, so any later run can find and remove it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ilag_infra.lab.errors import LabError
from ilag_infra.lab.paths import LabPaths


class HostState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    slug: str
    ip: str
    bridge: str
    root: str
    upper: str
    work: str
    log: str
    host_public_key: str = ""
    nspawn_pid: int | None = None


class BridgeState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    slug: str
    name: str
    subnet: str
    gateway: str


class LabState(BaseModel):
    """Written before each thing is created (phase `starting`), so a killed run leaves a map."""

    model_config = ConfigDict(extra="ignore")

    phase: str = "starting"  # starting | up
    state_dir: str
    repo_root: str
    region_file: str
    lab_prefix: str
    hosts_per_municipality: int
    service_ip: str
    bridges: list[BridgeState] = []
    hosts: list[HostState] = []
    azurite_pid: int | None = None
    blob_endpoint: str = ""
    # Machine sysctls the lab raised (fs.inotify.*): the values before, and what it set.
    inotify_original: dict[str, int] = {}
    inotify_raised: dict[str, int] = {}

    def hosts_of(self, slug: str) -> list[HostState]:
        return [h for h in self.hosts if h.slug == slug]

    def host(self, name: str) -> HostState:
        for h in self.hosts:
            if h.name == name:
                return h
        raise LabError(f"no lab host {name!r}; hosts: {', '.join(h.name for h in self.hosts)}")

    def bridge(self, slug: str) -> BridgeState:
        for b in self.bridges:
            if b.slug == slug:
                return b
        known = ", ".join(b.slug for b in self.bridges)
        raise LabError(f"no lab network for municipality {slug!r}; lab has: {known}")


def save(paths: LabPaths, state: LabState) -> None:
    """Replace state.json atomically: a reader sees the old or the new file, never half."""
    paths.state.mkdir(parents=True, exist_ok=True)
    tmp = paths.state_file.with_suffix(".json.tmp")
    tmp.write_text(state.model_dump_json(indent=2) + "\n")
    os.replace(tmp, paths.state_file)


def load(paths: LabPaths) -> LabState | None:
    """The recorded lab, or None if there is none (or the record is unreadable)."""
    try:
        return LabState.model_validate_json(paths.state_file.read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def locked(paths: LabPaths) -> Iterator[None]:
    """Hold the lab lock: one `up`/`down` at a time. The kernel drops it if we are killed."""
    paths.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Python opens files close-on-exec, so booted hosts and Azurite never inherit the lock.
    with open(paths.lock_file, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(
                f"another `ilag lab` command holds {paths.lock_file}; wait for it to finish"
            ) from None
        yield


def remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)
