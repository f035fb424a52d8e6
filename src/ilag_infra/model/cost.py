"""How the municipalities split shared costs, from the cost key in region.yaml."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from ilag_infra.model.region import Region


def shares(region: Region) -> dict[str, float]:
    """Each municipality's fraction of a shared cost; the fractions add up to 1."""
    munis = region.municipalities
    total_pop = sum(m.population for m in munis)
    key = region.cost_key
    if key.method == "equal":
        equal = 1.0
    elif key.method == "population":
        equal = 0.0
    else:
        equal = key.equal_share if key.equal_share is not None else 0.0
    n = len(munis)
    return {m.slug: equal / n + (1 - equal) * m.population / total_pop for m in munis}


def exact_shares(region: Region) -> dict[str, Fraction]:
    """The same shares as exact fractions, for money: they add up to exactly 1."""
    munis = region.municipalities
    total_pop = sum(m.population for m in munis)
    key = region.cost_key
    if key.method == "equal":
        equal = Fraction(1)
    elif key.method == "population":
        equal = Fraction(0)
    else:
        # region.yaml holds e.g. 0.30; read it as the decimal a person wrote, not the binary float.
        equal = Fraction(Decimal(repr(key.equal_share or 0.0)))
    n = len(munis)
    return {m.slug: equal / n + (1 - equal) * Fraction(m.population, total_pop) for m in munis}


def describe(region: Region) -> str:
    """One line a person can read: which key, in words."""
    key = region.cost_key
    if key.method == "weighted" and key.equal_share is not None:
        eq = round(key.equal_share * 100)
        return f"{eq} % split equally, {100 - eq} % by population"
    return {"equal": "split equally", "population": "by population"}.get(key.method, key.method)
