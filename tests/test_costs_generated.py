"""Exports generated from today's offline plan split the same way in every schema."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ilag_infra.costs import exports, render, split
from ilag_infra.model.region import load

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "tests" / "fixtures" / "costs"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cost_export_generator", FIX / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_committed_edge_cases_are_what_the_generator_writes() -> None:
    gen = generator()
    for name, make in gen.edge_cases().items():
        assert (FIX / name).read_bytes() == make(), f"{name} is stale: run generate.py"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three schemas written from the plan as it is now (the stacks may have changed)."""
    out = tmp_path_factory.mktemp("generated")
    files = {}
    for name, data in generator().generated().items():
        path = out / Path(name).name
        path.write_bytes(data)
        files[path.name.split("-")[0]] = path
    return files


def test_focus_ea_and_mca_from_the_plan_split_alike(fresh: dict[str, Path]) -> None:
    region = load(REPO / "region.yaml").model
    texts = {
        schema: render.csv_text(split.split(exports.read([path]), region, split.Period(2026, 10)))
        for schema, path in fresh.items()
    }
    assert set(texts) == {"focus", "ea", "mca"}
    assert texts["focus"] == texts["ea"] == texts["mca"]


def test_every_municipality_pays_for_its_own_vpn_links(fresh: dict[str, Path]) -> None:
    region = load(REPO / "region.yaml").model
    result = split.split(exports.read([fresh["focus"]]), region)
    # Each site has a VPN connection tagged to its municipality: all have direct costs.
    assert all(line.direct > 0 for line in result.lines)
    assert result.untagged == []
    assert {"network", "identity", "backup"} <= set(result.services)
