"""Where a run goes: the local lab (the default) or the municipalities' real servers."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ilag_infra.model.errors import InputError, Problem
from ilag_infra.onsite import outputs

EnvName = Literal["lab", "prod"]
DEFAULT_LAB_DIR = "/var/lib/ilag-lab"
# Hosts the lab booted are in this group of the lab's overlay inventory; a lab run is limited
# to it, so inventory servers without a lab twin are not tried.
LAB_GROUP = "ilag_lab"


def lab_dir() -> Path:
    return Path(os.environ.get("ILAG_LAB_DIR", DEFAULT_LAB_DIR))


def lab_prefix() -> ipaddress.IPv4Network | None:
    """The address range the running lab created, from its state file."""
    try:
        data = json.loads((lab_dir() / "state.json").read_text(encoding="utf-8"))
        return ipaddress.IPv4Network(data["lab_prefix"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Target:
    """Everything a run needs to know about where it goes."""

    env: EnvName
    repo_root: Path
    outputs_file: Path | None = None
    stack_suffix: str | None = None

    def inventory_sources(self, slug: str) -> list[Path]:
        """Inventories in precedence order (later wins)."""
        base = [
            self.repo_root / "inventories" / "region.yml",
            self.repo_root / "inventories" / slug / "hosts.yml",
        ]
        if self.env == "lab":
            base.append(lab_dir() / "inventory" / f"{slug}.yml")
        return base

    def known_hosts(self, slug: str) -> Path:
        """The pinned host keys of a municipality: nothing else is trusted."""
        if self.env == "lab":
            return lab_dir() / "known_hosts" / slug
        return self.repo_root / "inventories" / slug / "known_hosts"

    @property
    def limit_group(self) -> str | None:
        return LAB_GROUP if self.env == "lab" else None

    def host_pattern(self, user_limit: str | None) -> str | None:
        """The Ansible host pattern of a run: the user's limit, kept inside the lab's hosts.

        `a,b,&ilag_lab` is (a or b) and ilag_lab; `ilag_lab:&a,b` would select b unguarded.
        """
        group = self.limit_group
        if group and user_limit:
            return f"{user_limit},&{group}"
        return group or user_limit

    def check_ready(self, slug: str, require_pins: bool = True) -> None:
        """Refuse early, with the fix, when the inventory or pinned keys are missing."""
        problems = []
        for src in self.inventory_sources(slug):
            if not src.exists():
                fix = (
                    "run `ilag lab up`"
                    if self.env == "lab" and lab_dir() in src.parents
                    else "create it (see docs/interfaces.md)"
                )
                problems.append(Problem(str(src), "(file)", f"inventory for {slug} not found", fix))
        kh = self.known_hosts(slug)
        if require_pins and not kh.exists():
            fix = (
                "run `ilag lab up`"
                if self.env == "lab"
                else f"pin each server's host key with `ilag bootstrap HOST --env {self.env}`"
            )
            problems.append(Problem(str(kh), "(file)", f"no pinned host keys for {slug}", fix))
        if problems:
            raise InputError(problems)

    def stack_outputs(self) -> outputs.StackOutputs:
        if self.outputs_file is not None:
            return outputs.from_file(self.outputs_file)
        if self.env == "lab":
            return outputs.from_file(lab_dir() / "outputs.json")
        return outputs.from_pulumi(self.stack_suffix, cwd=self.repo_root)
