"""The whole input checked at once: region.yaml and every inventory beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ilag_infra.model import backupset, expiry, inventory, placeholders, region, systems
from ilag_infra.model.errors import InputError, Problem


@dataclass(frozen=True)
class ValidationReport:
    region: region.LoadedRegion
    inventories: dict[str, inventory.Inventory]
    systems: systems.LoadedSystems | None = None
    # Shipped example values still in region.yaml and the production stack files: the lab
    # takes them, production refuses them.
    placeholders: list[Problem] = field(default_factory=list)
    # Credentials that run out or get old soon (the site SAS, the SSH user CA keys), from
    # the stack files: warnings only.
    expiring: list[Problem] = field(default_factory=list)

    @property
    def host_count(self) -> int:
        return sum(len(i.hosts) for i in self.inventories.values())

    @property
    def site_count(self) -> int:
        return sum(len(m.sites) for m in self.region.model.municipalities)


def validate(
    region_file: Path,
    loaded: region.LoadedRegion | None = None,
    production: bool = False,
    stacks_root: Path | None = None,
) -> ValidationReport:
    """Check region.yaml and every inventory; raise RegionError/InventoryError on bad input.

    A caller that already loaded the region passes it, so the file is read once per command.
    The placeholders left in region.yaml and in the production stack files under stacks_root
    (documentation addresses, reserved names, zero object ids, the placeholder CA key) are
    counted; for production they are refused.
    """
    loaded = loaded or region.load(region_file)
    found = region.placeholder_problems(loaded)
    if stacks_root is not None:
        found += placeholders.production_stack_problems(stacks_root)
    if production and found:
        raise InputError(found)
    if stacks_root is not None and (bad := expiry.settings_problems(stacks_root)):
        # The warnings below read these settings: a value they cannot read is bad input.
        raise InputError(bad)
    invs = inventory.load_all(loaded, region_file.resolve().parent)
    soon = expiry.warnings(stacks_root) if stacks_root is not None else []
    return ValidationReport(loaded, invs, check_systems(region_file, loaded, invs), found, soon)


def check_systems(
    region_file: Path, loaded: region.LoadedRegion, invs: dict[str, inventory.Inventory]
) -> systems.LoadedSystems | None:
    """systems.yaml beside region.yaml, when there is one: valid, every host in its
    municipality's inventory and every on-site data path in its host's backup set."""
    path = systems.path_beside(region_file)
    if not path.is_file():
        return None
    register = systems.load(path, loaded)
    root = region_file.resolve().parent
    used = {slug for s in register.register.systems for slug in s.municipalities}
    hosts = {slug: set(invs[slug].names) for slug in used if slug in invs}
    sets = backupset.for_region(root, sorted(hosts))
    problems = systems.coverage_problems(register, hosts, sets)
    if problems:
        raise systems.SystemsError(problems)
    return register
