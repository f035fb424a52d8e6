"""Exact money: whole øre, and largest-remainder rounding so parts add up to their total."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

ORE = Decimal("0.01")


def round_ore(amount: Fraction | Decimal) -> int:
    """An exact amount in whole øre, half away from zero (the usual rule for kroner and øre)."""
    value = Fraction(amount) * 100
    sign = -1 if value < 0 else 1
    return sign * math.floor(abs(value) + Fraction(1, 2))


def apportion(exact: Sequence[Fraction], total_ore: int) -> list[int]:
    """Whole-øre parts that add up to `total_ore`, each as near its exact amount as possible.

    Largest remainder: every part gets the øre below its exact amount, then the øre still
    missing go one each to the parts with the largest fractions cut off (ties to the earlier
    part, so the result never depends on anything but the order given).
    """
    if not exact:
        if total_ore:
            raise ValueError("cannot apportion a non-zero total over no parts")
        return []
    cents = [a * 100 for a in exact]
    floors = [math.floor(c) for c in cents]
    missing = total_ore - sum(floors)
    # Normally 0 <= missing <= len(parts); a target rounded elsewhere may be one outside that.
    base, extra = divmod(missing, len(floors))
    parts = [f + base for f in floors]
    order = sorted(range(len(cents)), key=lambda i: (-(cents[i] - floors[i]), i))
    for i in order[:extra]:
        parts[i] += 1
    return parts


def to_decimal(ore: int) -> Decimal:
    """Whole øre as kroner with two decimals, exactly."""
    return (Decimal(ore) / 100).quantize(ORE)
