"""One revision's Ansible side, as the diff needs it: municipalities, their hosts and groups,
inline variables and plays, read through the one inventory model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ilag_infra.diff.ansible_plays import Play, read_plays
from ilag_infra.model import inventory
from ilag_infra.model.errors import IlagError, InventoryError, Problem
from ilag_infra.model.region import Region
from ilag_infra.model.region import load as load_region

if TYPE_CHECKING:
    from ansible.inventory.manager import InventoryManager


@dataclass
class View:
    """One revision's Ansible side: municipalities, their hosts and groups, plays, roles."""

    root: Path
    region: Region | None
    names: dict[str, str]
    hosts: dict[str, dict[str, set[str]]]  # slug → host → groups (with ancestors, 'all', slug)
    host_vars: dict[str, dict[str, Any]]  # host → vars written inline in hosts.yml
    group_vars: dict[str, dict[str, dict[str, Any]]]  # slug → group → inline vars
    plays: list[Play]
    imports: dict[str, list[str]]  # playbook → playbooks it imports
    broken: set[str] = field(default_factory=set)  # slugs whose hosts.yml does not validate
    problems: list[Problem] = field(default_factory=list)  # why they do not
    _managers: dict[str, InventoryManager] = field(default_factory=dict, repr=False)

    @property
    def slugs(self) -> list[str]:
        return list(self.hosts)

    def all_hosts(self) -> dict[str, set[str]]:
        return {h: g for per in self.hosts.values() for h, g in per.items()}

    def slug_of(self, host: str) -> str | None:
        for slug, per in self.hosts.items():
            if host in per:
                return slug
        return None

    def select(self, pattern: str) -> set[str]:
        """Hosts a play's pattern reaches, one municipality at a time as runs see them, by
        Ansible's own pattern code. A municipality whose inventory does not validate counts
        whole: what it would select cannot be known, so nothing is hidden."""
        out: set[str] = set()
        for slug, per in self.hosts.items():
            if slug in self.broken:
                out |= set(per)
                continue
            if slug not in self._managers:
                try:
                    self._managers[slug] = inventory.manager(inventory.sources(self.root, slug))
                except InventoryError as exc:
                    self.broken.add(slug)
                    self.problems.extend(exc.problems)
                    out |= set(per)
                    continue
            out |= set(inventory.select(self._managers[slug], pattern))
        return out


def read_view(root: Path) -> View:
    """Read a revision checked out at root; what cannot be read is left out, not fatal."""
    region: Region | None
    try:
        region = load_region(root / "region.yaml").model
    except IlagError:
        region = None
    slugs = list(region.slugs) if region else []
    slugs += [s for s in inventory.inventory_slugs(root) if s not in slugs]
    names = {m.slug: m.name for m in region.municipalities} if region else {}
    hosts: dict[str, dict[str, set[str]]] = {}
    hvars: dict[str, dict[str, Any]] = {}
    gvars: dict[str, dict[str, dict[str, Any]]] = {}
    broken: set[str] = set()
    found: list[Problem] = []
    for slug in slugs:
        per: dict[str, set[str]] = {}
        path = inventory.inventory_path(root, slug)
        if path.is_file():
            inv, problems = inventory.read(path, slug)
            if problems:
                broken.add(slug)
                found.extend(problems)
            for host in inv.hosts.values():
                per[host.name] = {"all", slug, *host.groups}
                hvars.setdefault(host.name, {}).update(host.vars)
            gvars[slug] = inv.group_vars
        hosts[slug] = per
    plays, imports = read_plays(root)
    return View(root, region, names, hosts, hvars, gvars, plays, imports, broken, found)
