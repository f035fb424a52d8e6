"""Host patterns through the one inventory model: Ansible's own pattern code, per
municipality as a run sees it (moved here from the diff's former hand-made matcher)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.diff.ansible_view import read_view
from ilag_infra.model import inventory

INVENTORIES = {
    "a": {"file_servers": ["a-fil01"], "database_servers": ["a-db01"]},
    "b": {"file_servers": ["b-fil01"]},
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inv")
    for slug, groups in INVENTORIES.items():
        lines = ["all:", "  children:", f"    {slug}:", "      children:"]
        for group, hosts in groups.items():
            lines += [f"        {group}:", "          hosts:"]
            lines += [f"            {h}:" for h in hosts]
        path = inventory.inventory_path(root, slug)
        path.parent.mkdir(parents=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", {"a-fil01", "a-db01", "b-fil01"}),
        ("file_servers", {"a-fil01", "b-fil01"}),
        ("file_servers:!b", {"a-fil01"}),
        ("a:&file_servers", {"a-fil01"}),
        ("*-db01,b-fil01", {"a-db01", "b-fil01"}),
        ("{{ target }}", {"a-fil01", "a-db01", "b-fil01"}),
        # What the hand-made matcher missed: regular expressions and slices.
        ("~^[ab]-fil", {"a-fil01", "b-fil01"}),
        ("~.*db", {"a-db01"}),
        ("all[0]", {"a-fil01", "b-fil01"}),
        ("a[1:]", {"a-db01"}),
        ("no-such-host", set()),
    ],
)
def test_host_patterns(root: Path, pattern: str, expected: set[str]) -> None:
    assert inventory.select_in(root, ["a", "b"], pattern) == expected
    assert read_view(root).select(pattern) == expected


def test_a_municipality_whose_inventory_is_broken_counts_whole(tmp_path: Path) -> None:
    path = inventory.inventory_path(tmp_path, "c")
    path.parent.mkdir(parents=True)
    path.write_text("all:\n  children:\n    c:\n      hosts:\n        c-fil01:\n      vars: [1]\n")
    view = read_view(tmp_path)
    assert view.broken == {"c"}
    assert view.select("nothing-matches-this") == {"c-fil01"}
