"""Each municipality's share of the shared costs at both revisions, when region.yaml's
municipalities, populations or cost key change (a municipality joins or leaves)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ilag_infra.model import cost, region
from ilag_infra.model.errors import IlagError


@dataclass(frozen=True)
class CostShare:
    slug: str
    name: str
    before: str | None  # "18.27 %"; None: not a member at that revision
    after: str | None

    @property
    def line(self) -> str:
        return f"{self.name} ({self.slug}): {self.before or 'not a member'} -> " + (
            self.after or "leaves"
        )


def _percent(share: Fraction) -> str:
    return f"{float(share * 100):.2f} %"


def _shares(tree: Path) -> tuple[dict[str, Fraction], dict[str, str]]:
    """Shares and names at one revision; none when its region.yaml is missing or invalid
    (validate and the ansible part of the diff name that)."""
    path = tree / "region.yaml"
    if not path.is_file():
        return {}, {}
    try:
        model = region.load(path).model
    except IlagError:
        return {}, {}
    return cost.exact_shares(model), {m.slug: m.name for m in model.municipalities}


def changes(base_tree: Path, head_tree: Path) -> list[CostShare]:
    """Every municipality's share before and after, or nothing when no share moves."""
    before, base_names = _shares(base_tree)
    after, head_names = _shares(head_tree)
    if not before or not after or before == after:
        return []
    names = {**base_names, **head_names}
    slugs = list(dict.fromkeys([*before, *after]))
    return [
        CostShare(
            s,
            names[s],
            _percent(before[s]) if s in before else None,
            _percent(after[s]) if s in after else None,
        )
        for s in slugs
    ]
