"""Lab host names, the inventory overlay and pinned known_hosts."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ilag_infra.lab import inventory, names, net
from ilag_infra.model.errors import InventoryError

REPO = Path(__file__).resolve().parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM4ooAAX/1aUir6ryq8syPOc+71KG50Y0h5Q+8jVdLbA root@x"


def test_inventory_hosts_in_order_without_duplicates() -> None:
    hosts = names.read_inventory_hosts(REPO / "inventories" / "sortland" / "hosts.yml")
    assert hosts == ["sortland-fil01", "sortland-fil02", "sortland-db01", "sortland-util01"]


def test_lab_names_take_inventory_names_then_generate() -> None:
    inv = ["andoy-fil01", "andoy-util01"]
    assert names.lab_host_names("andoy", inv, 1) == ["andoy-fil01"]
    assert names.lab_host_names("andoy", inv, 4) == [
        "andoy-fil01",
        "andoy-util01",
        "andoy-lab01",
        "andoy-lab02",
    ]
    # A generated name never repeats an inventory name.
    assert names.lab_host_names("bo", ["bo-lab01"], 2) == ["bo-lab01", "bo-lab02"]


def test_missing_inventory_means_only_generated_names(tmp_path: Path) -> None:
    assert names.read_inventory_hosts(tmp_path / "nope.yml") == []


def test_unbootable_host_name_is_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "hosts.yml"
    f.write_text("all:\n  children:\n    x:\n      hosts:\n        Bad_Name:\n")
    with pytest.raises(InventoryError, match="Bad_Name"):
        names.read_inventory_hosts(f)


def _overlay() -> dict[str, object]:
    plan = net.plan(net.DEFAULT_LAB_PREFIX, ["hadsel", "bo", "oksnes", "sortland"], 2)
    n = plan.net("sortland")
    hosts = [
        inventory.LabHost("sortland-fil01", str(n.host_ip(0)), KEY),
        inventory.LabHost("sortland-fil02", str(n.host_ip(1)), KEY),
    ]
    inv = ["sortland-fil01", "sortland-fil02", "sortland-db01", "sortland-util01"]
    return inventory.render_overlay(
        "sortland", n, plan, hosts, inv, Path("/var/lib/ilag-lab/keys/operator_ed25519")
    )


def test_overlay_gives_address_user_key_and_lab_overrides() -> None:
    children = _overlay()["all"]["children"]  # type: ignore[index]
    fil01 = children["sortland"]["hosts"]["sortland-fil01"]
    assert fil01["ansible_host"] == "10.250.4.11"
    assert fil01["ansible_user"] == "root"
    assert fil01["ansible_ssh_private_key_file"] == "/var/lib/ilag-lab/keys/operator_ed25519"
    # SSH from the machine (the bridge's .1) must survive the firewall.
    assert fil01["network__ssh_host_allow_networks"] == ["10.250.4.0/24"]
    assert fil01["baseline__ntp_servers"] == ["10.250.4.1"]
    assert fil01["network__resolvers"] == ["10.250.255.1"]
    assert set(children[inventory.LAB_GROUP]["hosts"]) == {"sortland-fil01", "sortland-fil02"}


def test_inventory_hosts_without_a_lab_twin_point_at_unreachable_lab_addresses() -> None:
    children = _overlay()["all"]["children"]  # type: ignore[index]
    absent = children[inventory.ABSENT_GROUP]["hosts"]
    assert set(absent) == {"sortland-db01", "sortland-util01"}
    first_24 = ipaddress.IPv4Network("10.250.0.0/24")  # no bridge: the unreachable route
    assert all(ipaddress.IPv4Address(h["ansible_host"]) in first_24 for h in absent.values())


def test_overlay_yaml_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sortland.yml"
    inventory.write_yaml(path, _overlay(), "# header\n")
    text = path.read_text()
    assert text.startswith("# header\n---\n")
    assert YAML(typ="safe").load(text) == _overlay()


def test_known_hosts_pins_name_and_address() -> None:
    lines = inventory.known_hosts_lines([inventory.LabHost("bo-fil01", "10.250.2.11", KEY)])
    assert lines == f"bo-fil01,10.250.2.11 {' '.join(KEY.split()[:2])}\n"


def test_known_hosts_refuses_a_non_address() -> None:
    with pytest.raises(ValueError):
        inventory.known_hosts_lines([inventory.LabHost("bo-fil01", "bo-fil01", KEY)])


def test_every_lab_override_names_a_documented_role_default() -> None:
    """A renamed role variable must not leave the lab setting a name no role reads."""
    defaults = list((REPO / "roles").glob("*/defaults/main.yml"))
    assert len(defaults) == 5
    known: set[str] = set()
    for f in defaults:
        data = YAML(typ="safe").load(f.read_text()) or {}
        known.update(data)
    plan = net.plan(net.DEFAULT_LAB_PREFIX, ["bo"], 1)
    overrides = inventory.lab_overrides(plan.net("bo"), str(plan.service_ip))
    roles = {p.parent.parent.name for p in defaults}
    unknown = [name for name in overrides if name.split("__")[0] in roles and name not in known]
    assert unknown == []
