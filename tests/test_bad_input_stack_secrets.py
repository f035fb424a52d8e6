"""Secret maps in stack config: every entry encrypted, and a map where a map belongs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ilag_infra.azure import plan
from ilag_infra.model.errors import EXIT_BAD_INPUT, InputError

REPO = Path(__file__).resolve().parents[1]
SECURE = "{secure: v1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY}"


def _root(tmp_path: Path, keys: str) -> Path:
    for name in ("Pulumi.yaml", "region.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "stacks").mkdir()
    text = (REPO / "stacks" / "Pulumi.network.yaml").read_text(encoding="utf-8")
    (tmp_path / "stacks" / "Pulumi.network.yaml").write_text(
        text.rstrip("\n") + "\n" + keys, encoding="utf-8"
    )
    return tmp_path


def _keys(**entries: str) -> str:
    lines = ["  ilag:vpnSharedKeys:"]
    for slug in ("andoy", "bo", "hadsel", "oksnes", "sortland"):
        lines.append(f"    {slug}: {entries.get(slug, SECURE)}")
    return "\n".join(lines) + "\n"


def _problems(root: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        plan.run("network", root=root)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    return [str(p) for p in caught.value.problems]


def test_all_entries_secure_plans(tmp_path: Path) -> None:
    assert plan.run("network", root=_root(tmp_path, _keys())).resources


def test_one_plain_entry_beside_secure_ones_is_refused(tmp_path: Path) -> None:
    (problem,) = _problems(_root(tmp_path, _keys(bo="not-encrypted-key")))
    assert "Pulumi.network.yaml:" in problem
    assert "ilag:vpnSharedKeys.bo" in problem and "plain text" in problem
    assert "pulumi config set --secret --path 'ilag:vpnSharedKeys.bo'" in problem
    assert "not-encrypted-key" not in problem


def test_plain_site_entry_in_a_per_site_map_is_refused(tmp_path: Path) -> None:
    per_site = f"{{andenes: {SECURE}, risoyhamn: plain-site-key}}"
    (problem,) = _problems(_root(tmp_path, _keys(andoy=per_site)))
    assert "ilag:vpnSharedKeys.andoy.risoyhamn" in problem
    assert "plain-site-key" not in problem


@pytest.mark.parametrize("value", ["just-one-string", SECURE])
def test_a_single_value_where_the_map_belongs(tmp_path: Path, value: str) -> None:
    (problem,) = _problems(_root(tmp_path, f"  ilag:vpnSharedKeys: {value}\n"))
    assert "Pulumi.network.yaml:" in problem and "ilag:vpnSharedKeys:" in problem
    assert "must be a mapping slug" in problem
    assert "pulumi config set --secret --path 'ilag:vpnSharedKeys.<slug>'" in problem
