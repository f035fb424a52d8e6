"""`ilag validate` and `ilag region` as an operator uses them: exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ilag_infra.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_validate_accepts_shipped_region(
    capsys: pytest.CaptureFixture[str], repo_root: Path
) -> None:
    code, out, _ = run(capsys, "validate", "--region", str(repo_root / "region.yaml"))
    assert code == 0
    assert "5 municipalities" in out and "12 hosts" in out


def test_overlap_in_two_municipalities_exits_2_naming_both(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    edit(region_copy, "prefix: 10.68.10.0/24", "prefix: 10.70.10.0/25")
    code, _, err = run(capsys, "validate", "--region", str(region_copy))
    assert code == 2
    assert "oksnes" in err and "sortland" in err
    assert "10.70.10.0/25" in err and "10.70.10.0/24" in err
    assert "Nothing was changed" in err


def test_host_outside_its_networks(capsys: pytest.CaptureFixture[str], region_copy: Path) -> None:
    inv = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(inv, "ansible_host: 10.67.10.20", "ansible_host: 10.66.10.21")
    code, _, err = run(capsys, "validate", "--region", str(region_copy))
    assert code == 2
    assert "bo-util01 at 10.66.10.21 is outside bo's networks" in err
    assert "hosts.yml:" in err


def test_duplicate_host_address_across_municipalities(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    inv = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(
        inv,
        "bo-util01:\n              ansible_host: 10.67.10.20",
        "hadsel-fil01:\n              ansible_host: 10.67.10.20",
    )
    code, _, err = run(capsys, "validate", "--region", str(region_copy))
    assert code == 2
    assert (
        "host name hadsel-fil01 is also used in hadsel" in err
        or "host name hadsel-fil01 is also used in bo" in err
    )


def test_missing_and_unknown_inventories(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    invs = region_copy.parent / "inventories"
    (invs / "andoy").rename(invs / "andoya")
    code, _, err = run(capsys, "validate", "--region", str(region_copy))
    assert code == 2
    assert "municipality 'andoy' has no inventory" in err
    assert "inventory for unknown municipality 'andoya'" in err


def test_region_table_and_mermaid(capsys: pytest.CaptureFixture[str], repo_root: Path) -> None:
    code, out, _ = run(capsys, "region", "--region", str(repo_root / "region.yaml"))
    assert code == 0
    assert "Andøy (andoy)" in out and "10.71.110.0/24" in out and "%" in out
    code, out, _ = run(capsys, "region", "--mermaid", "--region", str(repo_root / "region.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    assert sum(1 for x in lines if x.strip().startswith("subgraph")) == 6
    assert sum(1 for x in lines if x.strip() == "end") == 6
    assert sum(1 for x in lines if "<-->|IPsec IKEv2|" in x) == 7


def test_unknown_option_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _err = run(capsys, "validate", "--no-such-option")
    assert code == 2


def test_console_script_exit_code(region_copy: Path) -> None:
    edit(region_copy, "location: norwayeast ", "location: westeurope ")
    proc = subprocess.run(
        [sys.executable, "-m", "ilag_infra.cli.app", "validate", "-r", str(region_copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "region.location" in proc.stderr and "norwayeast" in proc.stderr
