"""One call from planned stacks to the compared matrix: what `ilag access` and `ilag plan` show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ilag_infra.azure.access import facts, intended, rbac, reach
from ilag_infra.azure.access.matrix import Cell, compute
from ilag_infra.azure.plan import PlanResult
from ilag_infra.model.region import Region

INTENDED = Path("policy") / "access.yaml"


@dataclass(frozen=True)
class Outcome:
    cells: list[Cell]
    reach: list[Cell]
    differences: list[intended.Difference]
    gaps: list[Cell]
    intended_path: str
    roles_source: str

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "matrix": [c.to_dict() for c in self.cells + self.reach],
            "differences": [d.message for d in self.differences],
            "gaps": [c.to_dict() for c in self.gaps],
            "intended": self.intended_path,
            "roles_source": self.roles_source,
        }


def evaluate(results: list[PlanResult], region: Region, root: Path) -> Outcome:
    """The matrix of the planned network, identity and backup stacks against the intent:
    backup capabilities against policy/access.yaml, network reach against region.yaml."""
    technicians = {m.slug: m.technician_group_object_id for m in region.municipalities}
    cells = compute(facts.gather(results, technicians))
    wanted = intended.load(root / INTENDED)
    diffs, gaps = intended.compare(cells, wanted)
    network = next((r for r in results if r.stack.split("-", 1)[0] == "network"), None)
    paths = reach.compute(region, network) if network is not None else []
    # The intended reach comes from region.yaml: own spoke, shared DNS and HTTPS, no more.
    diffs += [
        intended.Difference(c, reach.intended(c, region))
        for c in paths
        if c.allowed != reach.intended(c, region)
    ]
    cat = rbac.builtin()
    return Outcome(cells, paths, diffs, gaps, str(INTENDED), f"{cat.source} ({cat.retrieved})")
