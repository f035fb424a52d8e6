"""The split's promises, for any month: the lines add up to the export total to the øre."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilag_infra.costs.exports import CostRow, Export, parse_amount, parse_day
from ilag_infra.costs.money import apportion, round_ore
from ilag_infra.costs.split import Period, split
from ilag_infra.costs.tags import TagError, parse_tags
from ilag_infra.model import cost
from ilag_infra.model.errors import InputError
from ilag_infra.model.region import CostKey, Region, load

REPO = Path(__file__).resolve().parent.parent
REGION = load(REPO / "region.yaml").model
OWNERS = [*REGION.slugs, "shared", "", "Andøy", "1870"]
SERVICES = ["network", "identity", "backup", "dns", ""]


def row(amount: Decimal, owner: str, service: str, day: int = 1) -> CostRow:
    tags = {k: v for k, v in (("municipality", owner), ("service", service)) if v}
    start = datetime(2026, 10, day, tzinfo=UTC)
    return CostRow(
        "export.csv", 2, amount, "NOK", start, start + timedelta(days=1), "Usage",
        "/subscriptions/x/resourceGroups/rg/providers/p/t/r", "r", "rg", "", tags,
    )  # fmt: skip


amounts = st.decimals(
    min_value=Decimal("-5000"), max_value=Decimal("100000"), places=8, allow_nan=False
)
rows = st.lists(
    st.builds(
        row,
        amounts,
        st.sampled_from(OWNERS),
        st.sampled_from(SERVICES),
        st.integers(1, 31),
    ),
    min_size=1,
    max_size=40,
)
keys = st.one_of(
    st.just(CostKey(method="equal")),
    st.just(CostKey(method="population")),
    st.builds(
        lambda x: CostKey(method="weighted", equal_share=x),
        st.sampled_from([0.0, 0.3, 1 / 3, 0.5, 0.999, 1.0]),
    ),
)
populations = st.lists(st.integers(1, 700_000), min_size=5, max_size=5)


@settings(max_examples=300, deadline=None)
@given(rows, keys, populations)
def test_lines_always_sum_to_the_total_to_the_ore(
    charges: list[CostRow], key: CostKey, pops: list[int]
) -> None:
    region = REGION.model_copy(
        update={
            "cost_key": key,
            "municipalities": [
                m.model_copy(update={"population": p})
                for m, p in zip(REGION.municipalities, pops, strict=True)
            ],
        }
    )
    result = split(Export([], charges), region, Period(2026, 10))
    exact = sum((c.amount for c in charges), Decimal(0))
    assert result.total == exact.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert len(result.lines) == 5
    assert sum(x.total for x in result.lines) == result.total
    for x in result.lines:
        assert x.direct + x.shared == x.total
        assert sum(x.by_service.values()) == x.total
        assert x.total.as_tuple().exponent == -2
    # Each line is within one øre per rounding step of its exact amount.
    shares = cost.exact_shares(region)
    pooled = sum(
        (c.amount for c in charges if c.tags.get("municipality", "") in ("", "shared")),
        Decimal(0),
    )
    for x in result.lines:
        own = sum(
            (
                c.amount
                for c in charges
                if c.tags.get("municipality", "").lower()
                in (x.slug, x.name.lower(), x.kommunenummer)
            ),
            Decimal(0),
        )
        exact_line = Fraction(own) + shares[x.slug] * Fraction(pooled)
        assert abs(Fraction(x.total) - exact_line) < Fraction(1, 100)


@given(st.lists(st.fractions(min_value=-1000, max_value=1000), min_size=1, max_size=8))
def test_apportion_hits_the_rounded_total(parts: list[Fraction]) -> None:
    target = round_ore(sum(parts, Fraction(0)))
    got = apportion(parts, target)
    assert sum(got) == target
    assert all(abs(g - p * 100) < 1 for g, p in zip(got, parts, strict=True))


def test_shares_are_exact_and_match_the_float_ones() -> None:
    exact = cost.exact_shares(REGION)
    assert sum(exact.values()) == 1
    floats = cost.shares(REGION)
    assert all(abs(float(exact[s]) - floats[s]) < 1e-12 for s in REGION.slugs)
    # Bø: 0.3/5 + 0.7 * 2634/30610
    assert exact["bo"] == Fraction(3, 50) + Fraction(7, 10) * Fraction(2634, 30610)


def test_one_krone_split_five_ways_still_adds_up() -> None:
    result = split(Export([], [row(Decimal("1.00"), "shared", "network")]), REGION)
    assert sum(x.total for x in result.lines) == Decimal("1.00")
    assert sorted(x.total for x in result.lines) == sorted(
        Decimal(v) for v in ("0.25", "0.12", "0.16", "0.30", "0.17")
    )


def test_region_type_is_what_split_reads() -> None:
    assert isinstance(REGION, Region)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"municipality":"andoy","service":"network"}', {"municipality": "andoy", "service": "network"}),
        ('"municipality": "andoy","Service": "backup"', {"municipality": "andoy", "service": "backup"}),
        ("", {}),
        ("{}", {}),
        ('"Kommune": "Øksnes"', {"kommune": "Øksnes"}),
    ],
)  # fmt: skip
def test_tags_in_both_export_styles(text: str, expected: dict[str, str]) -> None:
    assert parse_tags(text) == expected


@pytest.mark.parametrize("text", ['"a": b', "[1,2]", '"a": {"b": "c"}'])
def test_tags_that_are_not_pairs(text: str) -> None:
    with pytest.raises(TagError):
        parse_tags(text)


def test_amounts_are_exact_decimals() -> None:
    assert parse_amount("0.1", ",") + parse_amount("0.2", ",") == Decimal("0.3")
    assert parse_amount("1.2E-05", ",") == Decimal("0.000012")
    assert parse_amount("-3,40", ";") == Decimal("-3.40")
    for bad in ("3,40", "NaN", "Infinity", "", "1 000.00"):
        with pytest.raises(ValueError):
            parse_amount(bad, ",")


def test_dates_are_us_as_azure_writes_them() -> None:
    assert parse_day("10/03/2026", ",").isoformat() == "2026-10-03"
    assert parse_day("2026-10-03", ",").isoformat() == "2026-10-03"
    assert parse_day("03.10.2026", ";").isoformat() == "2026-10-03"
    assert parse_day("2026-10-03T00:00:00.0000000Z", ",").isoformat() == "2026-10-03"
    assert parse_day("10/3/2026 12:00:00 AM", ",").isoformat() == "2026-10-03"
    for bad in ("13/10/2026", "03.10.2026", "02/30/2026", "yesterday"):
        with pytest.raises(ValueError):
            parse_day(bad, ",")


def test_focus_end_is_exclusive() -> None:
    last_day = datetime(2026, 10, 31, tzinfo=UTC)
    inside = CostRow(
        "f.csv", 2, Decimal(1), "NOK", last_day, last_day + timedelta(days=1), "Usage",
        "", "", "", "", {"municipality": "shared"},
    )  # fmt: skip
    assert split(Export([], [inside]), REGION, Period(2026, 10)).total == Decimal("1.00")
    with pytest.raises(InputError) as info:
        split(Export([], [inside]), REGION, Period(2026, 11))
    assert "row 2, column ChargePeriodStart" in str(info.value)


@pytest.mark.parametrize("huge", ["1e400", "-1E13", "1000000000000"])
def test_an_amount_beyond_any_bill_is_bad_input(huge: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_amount(huge, ",")
