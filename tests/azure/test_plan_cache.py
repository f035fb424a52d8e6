"""The plan cache: a hit is the plan a fresh run gives, and every kind of input misses."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from ilag_infra.azure import plan, plan_cache
from ilag_infra.cli.plan_view import render

REPO = Path(__file__).resolve().parents[2]
SECURE = "v1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
SKU = ("ilag:vpnGatewaySku: VpnGw2AZ", "ilag:vpnGatewaySku: VpnGw3AZ")
ENDPOINT = ("vpn_endpoint: 198.51.100.66", "vpn_endpoint: 203.0.113.77")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with the shipped network stack, one encrypted key, and its own cache."""
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "region.yaml"):
        shutil.copy(REPO / name, project / name)
    text = (REPO / "stacks" / "Pulumi.network.yaml").read_text(encoding="utf-8")
    keys = "\n".join(
        f"    {slug}: {{secure: {SECURE}}}"
        for slug in ("andoy", "bo", "hadsel", "oksnes", "sortland")
    )
    (project / "stacks" / "Pulumi.network.yaml").write_text(
        text.rstrip("\n") + "\n  ilag:vpnSharedKeys:\n" + keys + "\n", encoding="utf-8"
    )
    monkeypatch.setenv(plan_cache.ENV, str(tmp_path / "cache"))
    return project


def _stored(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.json"))


def _same(result: plan.PlanResult) -> dict[str, Any]:
    data = result.to_dict()
    data["seconds"] = 0
    return data


def _text(result: plan.PlanResult) -> list[str]:
    return [re.sub(r"\d+\.\d+ s\)", "X s)", str(line)) for line in render(result)]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_hit_prints_what_a_fresh_plan_prints(root: Path) -> None:
    cache = root.parent / "cache"
    fresh = plan.run("network", root=root)
    stored = plan.run("network", root=root, cache=True)
    assert len(_stored(cache)) == 1
    hit = plan.run("network", root=root, cache=True)
    assert len(_stored(cache)) == 1
    for result in (stored, hit):
        assert json.dumps(_same(result), ensure_ascii=False) == json.dumps(
            _same(fresh), ensure_ascii=False
        )
        assert _text(result) == _text(fresh)


def test_a_hit_is_read_from_the_store(root: Path) -> None:
    """What the store holds is what comes back: the second run did not plan again."""
    cache = root.parent / "cache"
    plan.run("network", root=root, cache=True)
    (path,) = _stored(cache)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["plan"]["outputs"]["marker"] = "from the store"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert plan.run("network", root=root, cache=True).outputs["marker"] == "from the store"


def test_a_broken_store_file_plans_afresh(root: Path) -> None:
    cache = root.parent / "cache"
    first = plan.run("network", root=root, cache=True)
    (path,) = _stored(cache)
    for broken in ("{not json", '{"format": 1, "plan": {"stack": "network"}}', "[]"):
        path.write_text(broken, encoding="utf-8")
        assert _same(plan.run("network", root=root, cache=True)) == _same(first)


def test_no_secret_is_stored(root: Path) -> None:
    cache = root.parent / "cache"
    plan.run("network", root=root, cache=True)
    (path,) = _stored(cache)
    text = path.read_text(encoding="utf-8")
    assert SECURE not in text and SECURE.split(":")[1] not in text
    assert plan.SECRET in text
    assert path.stat().st_mode & 0o077 == 0


def test_off_stores_nothing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plan_cache.ENV, "off")
    plan.run("network", root=root, cache=True)
    assert not (root.parent / "cache").exists()


@pytest.mark.parametrize(
    ("where", "change", "seen"),
    [
        ("stacks/Pulumi.network.yaml", SKU, "VpnGw3AZ"),
        ("region.yaml", ENDPOINT, "203.0.113.77"),
    ],
    ids=["stack-yaml", "region-yaml"],
)
def test_a_changed_file_misses(root: Path, where: str, change: tuple[str, str], seen: str) -> None:
    cache = root.parent / "cache"
    before = plan.run("network", root=root, cache=True)
    assert seen not in json.dumps(before.to_dict())
    _replace(root / where, *change)
    after = plan.run("network", root=root, cache=True)
    assert seen in json.dumps(after.to_dict())
    assert len(_stored(cache)) == 2
    assert _same(after) == _same(plan.run("network", root=root))


def _key(root: Path, **changes: Any) -> str:
    args: dict[str, Any] = {
        "root": root,
        "config": {"ilag:vpnGatewaySku": "VpnGw2AZ"},
        "secret_keys": {"ilag:vpnSharedKeys"},
        "region_file": root / "region.yaml",
        "upstream": {"network": {"hubVnetId": "a"}},
        "preview": False,
        "production": False,
    }
    args.update(changes)
    return plan_cache.key("identity", **args)


def test_every_input_is_in_the_key(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _key(root)
    assert _key(root) == base
    variants = {
        "config": _key(root, config={"ilag:vpnGatewaySku": "VpnGw3AZ"}),
        "secret keys": _key(root, secret_keys=set()),
        "upstream outputs": _key(root, upstream={"network": {"hubVnetId": "b"}}),
        "preview": _key(root, preview=True),
        "production": _key(root, production=True),
    }
    _replace(root / "Pulumi.yaml", "name: ilag", "name: ilag  # changed")
    variants["Pulumi.yaml"] = _key(root)
    (root / "stacks" / "Pulumi.identity.yaml").write_text("config: {}\n", encoding="utf-8")
    variants["another stack file"] = _key(root)
    monkeypatch.setattr(plan_cache, "_source_digest", "0" * 64)
    variants["program source"] = _key(root)
    monkeypatch.setattr(plan_cache, "PACKAGES", (*plan_cache.PACKAGES, "ruamel.yaml"))
    variants["package versions"] = _key(root)
    keys = [base, *variants.values()]
    assert len(set(keys)) == len(keys), variants


def test_a_changed_program_source_changes_the_digest(tmp_path: Path) -> None:
    package = Path(plan_cache.__file__).resolve().parents[1]
    copy = tmp_path / "ilag_infra"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert plan_cache.tree_digest(copy) == plan_cache.source_digest()
    program = copy / "azure" / "network.py"
    program.write_text(program.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert plan_cache.tree_digest(copy) != plan_cache.source_digest()


def test_the_cli_plans_through_the_cache(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ilag plan` stores the three stacks' plans, and prints the same from them."""
    from ilag_infra.cli.app import main

    assert main(["plan", "--json"]) == 0
    done = capsys.readouterr().out
    assert len(_stored(root.parent / "cache")) == 3
    assert main(["plan", "--json"]) == 0
    again = capsys.readouterr().out
    assert len(_stored(root.parent / "cache")) == 3
    seconds = re.compile(r'"seconds": [0-9.]+')
    assert seconds.sub("", again) == seconds.sub("", done)
