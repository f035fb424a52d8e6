"""What every command gets from one place: repository root, region (loaded once), target,
resolved municipalities and the console."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from ilag_infra.cli.console import make_console
from ilag_infra.model import paths
from ilag_infra.model.errors import InputError, Problem

if TYPE_CHECKING:  # loaded when a command needs them, so a command that does not stays fast
    from ilag_infra.model import region
    from ilag_infra.onsite.targets import EnvName, Target

REGION_ENV = "ILAG_REGION"


def env_name(env: str) -> EnvName:
    """--env / ILAG_ENV as a target name; anything else is bad input (exit 2)."""
    if env == "lab":
        return "lab"
    if env == "prod":
        return "prod"
    raise InputError(
        [Problem("command line", "--env / ILAG_ENV", f"unknown env {env!r}", "use lab or prod")]
    )


@dataclass
class Context:
    """One command's view of the world. Build it once at the top of a command."""

    env: str = "lab"
    outputs_file: Path | None = None
    stack_suffix: str | None = None
    # An explicit region file; its directory is then the repository (inventories/ beside it).
    region_path: Path | None = None
    # A second console on stderr keeps stdout clean for --json.
    json: bool = False
    console: Console = field(default_factory=make_console)
    _root: Path | None = field(default=None, repr=False)
    _region: region.LoadedRegion | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        env_name(self.env)  # refuse a bad --env before any work
        if self.region_path is None and os.environ.get(REGION_ENV):
            # Commands without a --region option still follow ILAG_REGION (one place for all).
            self.region_path = Path(os.environ[REGION_ENV])
        if self.json:
            self.console = make_console(stderr=True)

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = (
                self.region_path.resolve().parent if self.region_path else paths.repo_root()
            )
        return self._root

    @property
    def region_file(self) -> Path:
        return self.region_path or paths.region_file(self.root)

    @property
    def region(self) -> region.LoadedRegion:
        """The region, read from disk the first time only."""
        if self._region is None:
            from ilag_infra.model import region

            self._region = region.load(self.region_file)
        return self._region

    @property
    def target(self) -> Target:
        from ilag_infra.onsite.targets import Target

        return Target(env_name(self.env), self.root, self.outputs_file, self.stack_suffix)

    def slugs(self, names: list[str] | None, all_: bool = False) -> list[str]:
        """The command line's municipalities as known slugs (bad names are bad input)."""
        from ilag_infra.onsite import apply as apply_mod

        return apply_mod.resolve_slugs(self.region.model, names or [], all_)


def make_target(env: str, outputs_file: Path | None, suffix: str | None) -> Target:
    """The target of a command that needs nothing else (kept for command modules that
    predate Context)."""
    return Context(env, outputs_file, suffix).target
