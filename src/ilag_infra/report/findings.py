"""Open policy and rule findings of the offline plan, for the page."""

from __future__ import annotations

from pathlib import Path

from ilag_infra.model.region import LoadedRegion
from ilag_infra.report.page import Finding


def from_plan(loaded: LoadedRegion, root: Path) -> list[Finding]:
    """Plan the three stacks offline (a few seconds) and keep what the policies reported."""
    from ilag_infra.azure import plan  # the Pulumi SDK is heavy; only load it when asked

    found: list[Finding] = []
    for result in plan.run_many(plan.STACK_ORDER, loaded, root=root):
        for v in result.violations:
            found.append(Finding(v.policy, f"{result.stack}: {v.name}", v.message, v.enforcement))
    return found
