"""The region model accepts the shipped region and rejects each kind of bad input clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.model import cost, region
from ilag_infra.model.errors import RegionError


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(RegionError) as info:
        region.load(path)
    return [str(p) for p in info.value.problems]


def test_shipped_region_is_valid(repo_root: Path) -> None:
    loaded = region.load(repo_root / "region.yaml")
    m = loaded.model
    assert m.slugs == ["hadsel", "bo", "oksnes", "sortland", "andoy"]
    assert {x.slug: x.kommunenummer for x in m.municipalities} == {
        "hadsel": "1866",
        "bo": "1867",
        "oksnes": "1868",
        "sortland": "1870",
        "andoy": "1871",
    }
    assert m.municipality("andoy").name == "Andøy"
    assert m.region.location == "norwayeast"


def test_cost_shares_add_up_and_follow_the_key(repo_root: Path) -> None:
    m = region.load(repo_root / "region.yaml").model
    s = cost.shares(m)
    assert sum(s.values()) == pytest.approx(1.0)
    # 30 % equal over five municipalities plus 70 % by population.
    total = sum(x.population for x in m.municipalities)
    assert s["sortland"] == pytest.approx(0.3 / 5 + 0.7 * 10618 / total)
    assert s["sortland"] > s["hadsel"] > s["oksnes"] > s["bo"]


def test_overlap_between_two_municipalities_names_both(region_copy: Path) -> None:
    # A /16 in Bø swallowing Hadsel's /24: a subtle overlap.
    edit(
        region_copy,
        "{name: clients, prefix: 10.67.32.0/21}",
        "{name: clients, prefix: 10.66.0.0/16}",
    )
    msgs = problems_of(region_copy)
    joined = "\n".join(msgs)
    assert "10.66.0.0/16" in joined and "10.66.10.0/24" in joined
    assert "bo (site straume, clients)" in joined and "hadsel (site stokmarknes" in joined
    assert "municipalities[1].sites[0].networks[2].prefix" in joined
    assert "region.yaml:" in joined  # file and line


def test_spoke_overlapping_hub_is_rejected(region_copy: Path) -> None:
    edit(region_copy, "spoke_prefix: 10.20.16.0/22", "spoke_prefix: 10.20.2.0/23")
    assert any("overlaps the hub 10.20.0.0/22" in m for m in problems_of(region_copy))


def test_unknown_key_suggests_the_right_one(region_copy: Path) -> None:
    edit(region_copy, "    population: 8236", "    populaton: 8236")
    msgs = problems_of(region_copy)
    assert any("unknown key 'populaton'" in m and "did you mean 'population'?" in m for m in msgs)
    assert any("municipalities[0].population" in m and "add 'population'" in m for m in msgs)


def test_duplicate_slug_and_number(region_copy: Path) -> None:
    edit(region_copy, "slug: bo", "slug: hadsel")
    edit(region_copy, 'kommunenummer: "1868"', 'kommunenummer: "1866"')
    joined = "\n".join(problems_of(region_copy))
    assert "slug 'hadsel' is used by municipalities[0] too" in joined
    assert "kommunenummer '1866' is used by municipalities[0] too" in joined


def test_non_ascii_slug_gets_a_transliteration(region_copy: Path) -> None:
    edit(region_copy, "slug: andoy", "slug: andøy")
    assert any("try 'andoy'" in m for m in problems_of(region_copy))


def test_unquoted_kommunenummer_explains_quoting(region_copy: Path) -> None:
    edit(region_copy, 'kommunenummer: "1871"', "kommunenummer: 1871")
    assert any("quoted text" in m for m in problems_of(region_copy))


@pytest.mark.parametrize(
    "endpoint", ["10.1.2.3", "192.168.1.1", "172.20.0.1", "100.64.1.1", "127.0.0.1"]
)
def test_private_vpn_endpoint_is_rejected(region_copy: Path, endpoint: str) -> None:
    edit(region_copy, "vpn_endpoint: 198.51.100.67", f"vpn_endpoint: {endpoint}")
    assert any("is not a public address" in m for m in problems_of(region_copy))


def test_host_bits_set_suggests_network(region_copy: Path) -> None:
    edit(region_copy, "prefix: 10.68.10.0/24", "prefix: 10.68.10.5/24")
    assert any("did you mean 10.68.10.0/24?" in m for m in problems_of(region_copy))


def test_gateway_subnet_too_small(region_copy: Path) -> None:
    edit(region_copy, "gateway: 10.20.0.0/27", "gateway: 10.20.0.0/29")
    assert any("smaller than /27" in m for m in problems_of(region_copy))


def test_yaml_syntax_error_has_a_line(region_copy: Path) -> None:
    edit(region_copy, "  name: ilag\n", "  name: [ilag\n")
    (msg,) = problems_of(region_copy)
    assert "not valid YAML" in msg and "region.yaml:" in msg


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    assert "file not found" in problems_of(tmp_path / "nope.yaml")[0]


def test_any_number_of_municipalities(region_copy: Path) -> None:
    text = region_copy.read_text(encoding="utf-8")
    text += """
  - slug: lodingen
    name: Lødingen
    kommunenummer: "1851"
    population: 2100
    technician_group_object_id: 00000000-0000-0000-0000-000000001851
    sites:
      - name: sentrum
        vpn_endpoint: 198.51.100.51
        networks:
          - {name: servers, prefix: 10.51.10.0/24}
"""
    region_copy.write_text(text, encoding="utf-8")
    assert region.load(region_copy).model.slugs[-1] == "lodingen"
