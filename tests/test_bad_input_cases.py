"""Each broken input reported in the issue on truthful diffs and unbreakable input: exit 2
with file, key and fix, no traceback; and inventories Ansible itself refuses are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.model import inventory

REPO = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def validate(capsys: pytest.CaptureFixture[str], region_file: Path) -> tuple[int, str]:
    return run(capsys, "validate", "--region", str(region_file))


HUB_MGMT = "  management_networks:\n    - 10.20.1.0/26\n"


@pytest.mark.parametrize(
    ("old", "new", "key", "says"),
    [
        (HUB_MGMT, "  management_networks:\n    - 10.20.1.0/08\n", "management_networks[0]", "8"),
        (HUB_MGMT, "  management_networks:\n    - 0.0.0.0/0\n", "management_networks[0]", "/24"),
        (HUB_MGMT, "  management_networks:\n    - 10.0.0.0/8\n", "management_networks[0]", "/24"),
        # A municipality's server network, not marked as a management network.
        (HUB_MGMT, "  management_networks:\n    - 10.71.10.0/24\n", "[0]", "marked"),
        ("    - 0.no.pool.ntp.org\n", "    - 'null'\n", "ntp_servers[0]", "'null'"),
        ("population: 2634", "population: 9223372036854775808", "population", "2000000"),
        ("population: 2634", "population: !!float abc", "(tag)", "!!float"),
        ("population: 2634", "population: !!timestamp 2020-13-45", "(tag)", "!!timestamp"),
        ("vpn_endpoint: 198.51.100.67", "vpn_endpoint: 198.51.100.66", "vpn_endpoint", "also"),
    ],
)
def test_broken_region_yaml_is_bad_input(
    capsys: pytest.CaptureFixture[str],
    region_copy: Path,
    old: str,
    new: str,
    key: str,
    says: str,
) -> None:
    edit(region_copy, old, new)
    code, err = validate(capsys, region_copy)
    assert code == 2, err
    assert "region.yaml:" in err and key in err and says in err.replace(",", "")
    assert "fix: correct the value" not in err


@pytest.mark.parametrize("command", [["validate"], ["region"], ["plan", "-s", "network"]])
def test_deep_nesting_is_bad_input_everywhere(
    capsys: pytest.CaptureFixture[str], region_copy: Path, command: list[str]
) -> None:
    text = region_copy.read_text(encoding="utf-8")
    region_copy.write_text(text + "deep: " + "[" * 300 + "]" * 300 + "\n", encoding="utf-8")
    code, err = run(capsys, *command, "--region", str(region_copy))
    assert code == 2, err
    assert "nest more than" in err


def test_line_100_is_printed_as_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "region.yaml"
    file.write_text("region:\n" + "# x\n" * 98 + "  bad: value: here\n", encoding="utf-8")
    code, err = validate(capsys, file)
    assert code == 2 and "region.yaml:100:" in err and "💯" not in err


BACKUP = (
    "        backup_clients:\n          hosts:\n            bo-fil01:\n            bo-util01:\n"
)
HOSTS = "          hosts:\n            bo-fil01:\n              ansible_host: 10.67.10.10\n"
BROKEN_INVENTORIES = {
    "hosts as a list": (HOSTS, "          hosts:\n            - bo-fil01\n", "is a list"),
    "hosts as text": (HOSTS, "          hosts: bo-fil01\n", "hosts of group"),
    "hosts as a number": (HOSTS, "          hosts: 7\n", "a number"),
    "children as text": (BACKUP, "        backup_clients:\n          children: x\n", "children of"),
    "children as a list": (
        BACKUP,
        "        backup_clients:\n          children:\n            - x\n",
        "children of",
    ),
    "vars as a list": (HOSTS, HOSTS + "          vars:\n            - a\n", "vars of group"),
    "host named by a number": ("            bo-fil01:\n", "            1:\n", "not a host name"),
    "host named null": ("            bo-fil01:\n", "            ~:\n", "not a host name"),
}
# Shapes that Ansible's own YAML inventory plugin refuses as well.
ANSIBLE_REFUSES = ("hosts as a list", "vars as a list", "children as a list")


@pytest.mark.parametrize("case", sorted(BROKEN_INVENTORIES))
def test_broken_hosts_yml_is_bad_input(
    capsys: pytest.CaptureFixture[str], region_copy: Path, case: str
) -> None:
    old, new, says = BROKEN_INVENTORIES[case]
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(hosts, old, new)
    code, err = validate(capsys, region_copy)
    assert code == 2, err
    assert "bo/hosts.yml:" in err and says in err and "fix:" in err


@pytest.mark.parametrize("case", ANSIBLE_REFUSES)
def test_ansible_itself_refuses_what_we_refuse(tmp_path: Path, case: str) -> None:
    from ansible.errors import AnsibleError
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    old, new, _ = BROKEN_INVENTORIES[case]
    hosts = tmp_path / "hosts.yml"
    shutil.copy(REPO / "inventories" / "bo" / "hosts.yml", hosts)
    edit(hosts, old, new)
    with pytest.raises(AnsibleError):
        inventory_loader.get("yaml").parse(InventoryData(), DataLoader(), str(hosts), cache=False)
    _, problems = inventory.read(hosts, "bo")
    assert problems


def test_host_names_are_compared_without_case(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(
        hosts, HOSTS, HOSTS + "            ANDOY-FIL01:\n              ansible_host: 10.67.10.11\n"
    )
    code, err = validate(capsys, region_copy)
    assert code == 2
    assert "ANDOY-FIL01" in err and "case is ignored" in err


def test_host_indented_too_deep_is_caught(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(hosts, BACKUP, BACKUP.replace("            bo-util01:", "              bo-util01:"))
    code, err = validate(capsys, region_copy)
    assert code == 2 and "'bo-util01' under host bo-fil01" in err and "indent it" in err


def test_production_refuses_the_shipped_placeholders(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    code, _ = validate(capsys, region_copy)
    assert code == 0  # the lab keeps them
    code, err = run(capsys, "validate", "--region", str(region_copy), "--env", "prod")
    assert code == 2
    assert "198.51.100.66 is a documentation placeholder" in err
    assert "andoy.example.net is a documentation placeholder" in err
    assert "00000000-0000-0000-0000-000000001866 is a placeholder object id" in err


@pytest.mark.parametrize(
    ("endpoint", "placeholder"),
    [
        ("vpn.sortland.kommune.no", False),
        ("myexample.com", False),
        ("example.com", True),
        ("fw.andoy.example.org", True),
        ("fw.site.test", True),
        ("gw.invalid", True),
        ("198.51.100.250", True),
        ("198.51.100.1", True),
        ("198.51.101.1", False),
    ],
)
def test_placeholder_rule(region_copy: Path, endpoint: str, placeholder: bool) -> None:
    from ilag_infra.model import region

    edit(region_copy, "vpn_endpoint: 198.51.100.66", f"vpn_endpoint: {endpoint}")
    problems = region.placeholder_problems(region.load(region_copy))
    assert any(endpoint in p.message for p in problems) == placeholder
