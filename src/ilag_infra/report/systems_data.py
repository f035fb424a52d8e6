"""Everything the systems views need, gathered once: the register (checked as
`ilag validate` checks it), each host's backup set, the records, the status rows, the
matrix and the risk register."""

from __future__ import annotations

import ast
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from ilag_infra.model import backupset, inventory, yamlsource
from ilag_infra.model.errors import Problem
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.systems import LoadedSystems, SystemsError
from ilag_infra.model.validate import check_systems
from ilag_infra.report import risk, systems
from ilag_infra.report.records import Records

BACKUP_STACK = Path("stacks") / "Pulumi.backup.yaml"


@dataclass(frozen=True)
class SystemsView:
    register: LoadedSystems
    rows: list[systems.SystemStatus]
    matrix: systems.Matrix
    platform: risk.Platform
    backup_sets: dict[str, dict[str, list[str]]]
    records: Records

    def risks(self, row: systems.SystemStatus) -> list[risk.Threat]:
        return risk.threats(row, self.platform)


def code_date(root: Path) -> datetime | None:
    """The date of the commit the code is at: the date of every fact read from code."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%cI"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        return datetime.fromisoformat(out) if out else None
    except ValueError:
        return None


def immutability_days(root: Path) -> int:
    """ilag:backupImmutabilityDays of the backup stack (0, no WORM, when not set)."""
    path = root / BACKUP_STACK
    if not path.is_file():
        return 0
    data, _ = yamlsource.load(path)
    config = data.get("config") if isinstance(data, dict) else None
    value = config.get("ilag:backupImmutabilityDays") if isinstance(config, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


IDENTITY_DEFAULTS = Path("roles") / "identity" / "defaults" / "main.yml"


def restore_principals(root: Path, slug: str) -> list[str]:
    """The SSH certificate principals that may log in to the municipality's servers (and so
    restore), as the identity role derives them: its identity__principals expression,
    rendered for the municipality."""
    path = root / IDENTITY_DEFAULTS
    if not path.is_file():
        return []
    data, _ = yamlsource.load(path)
    expression = data.get("identity__principals") if isinstance(data, dict) else None
    if not isinstance(expression, str):
        return []
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        rendered = env.from_string(expression).render(identity__municipality=slug)
        value = ast.literal_eval(rendered.strip())
    except (jinja2.TemplateError, ValueError, SyntaxError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def load(
    root: Path, region_file: Path, loaded: LoadedRegion, records: Records, slugs: list[str]
) -> SystemsView:
    invs = inventory.load_all(loaded, root)
    register = check_systems(region_file, loaded, invs)
    if register is None:
        raise SystemsError(
            [
                Problem(
                    str(region_file.resolve().parent / "systems.yaml"),
                    "(file)",
                    "file not found",
                    "create systems.yaml beside region.yaml; see docs/systems.md",
                )
            ]
        )
    used = sorted({s for sys_ in register.register.systems for s in sys_.municipalities})
    sets = backupset.for_region(root, [s for s in used if s in invs])
    rows = systems.status(register, records, sets, slugs)
    platform = risk.Platform(
        immutability_days=immutability_days(root),
        code_date=code_date(root),
        restore_principals={slug: restore_principals(root, slug) for slug in loaded.model.slugs},
    )
    return SystemsView(
        register, rows, systems.matrix(register, list(loaded.model.slugs)), platform, sets, records
    )
