"""Open policy and rule findings of the offline plan, for the page."""

from __future__ import annotations

from pathlib import Path

from ilag_infra.model.region import LoadedRegion
from ilag_infra.report.page import Finding


def from_plan(loaded: LoadedRegion, root: Path) -> list[Finding]:
    """Plan the three stacks offline (a few seconds) and keep what the policies reported,
    and what the access matrix (`ilag access`) finds: a difference from the intended matrix
    is mandatory, a declared gap advisory, one line per identity and capability."""
    from ilag_infra.azure import plan  # the Pulumi SDK is heavy; only load it when asked
    from ilag_infra.azure.access import outcome

    found: list[Finding] = []
    results = plan.run_many(plan.STACK_ORDER, loaded, root=root)
    for result in results:
        for v in result.violations:
            found.append(Finding(v.policy, f"{result.stack}: {v.name}", v.message, v.enforcement))
    access = outcome.evaluate(results, loaded.model, root)
    for d in access.differences:
        found.append(Finding("access-matrix", d.cell.identity, d.message, "mandatory"))
    gaps: dict[tuple[str, str], list[str]] = {}
    for cell in access.gaps:
        gaps.setdefault((cell.identity, cell.capability), []).append(cell.municipality)
    for (identity, capability), slugs in gaps.items():
        found.append(
            Finding(
                "access-gap",
                identity,
                f"{identity} can {capability} on {', '.join(sorted(slugs))} "
                f"(a declared gap in {access.intended_path}; docs/security.md says how it closes)",
                "advisory",
            )
        )
    return found
