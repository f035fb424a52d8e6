"""What validate reads, checked in full: each class of broken input found by the generator's
second round is refused with exit 2, file, key and fix, and the valid files it refused pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.diff.ansible_view import read_view
from ilag_infra.model import formats, inventory

BO_HOSTS = "          hosts:\n            bo-fil01:\n              ansible_host: 10.67.10.10\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


def validate(capsys: pytest.CaptureFixture[str], region_file: Path) -> tuple[int, str]:
    return run(capsys, "validate", "--region", str(region_file))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(capsys: pytest.CaptureFixture[str], region_file: Path, *says: str) -> str:
    code, err = validate(capsys, region_file)
    assert code == 2, err
    assert "fix:" in err
    for text in says:
        assert text in err, (text, err)
    return err


# --- 1: a group that contains itself through an anchor ------------------------------------

RECURSIVE = """---
all:
  children:
    bo: &g
      children:
        file_servers:
          hosts:
            bo-fil01:
              ansible_host: 10.67.10.10
        loop: *g
"""


def test_recursive_anchor_is_refused_not_a_traceback(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    hosts.write_text(RECURSIVE, encoding="utf-8")
    refused(capsys, region_copy, "bo/hosts.yml:10:", "(aliases)", "*g refers to &g")
    view = read_view(region_copy.parent)
    assert view.broken == {"bo"} and any("&g" in p.message for p in view.problems)


def test_ansible_failing_inside_is_a_problem(tmp_path: Path) -> None:
    """Ansible's plugin reached directly (as the diff does) fails on recursion deep inside
    its YAML code: that is reported, never raised."""
    path = tmp_path / "hosts.yml"
    path.write_text(RECURSIVE, encoding="utf-8")
    problems = inventory.ansible_problems(path)
    assert problems and problems[0].key == "(inventory)" and problems[0].fix


# --- 3: host names that are patterns or groups --------------------------------------------


@pytest.mark.parametrize("name", ["all", "ungrouped", "localhost", "bo", "BO", "andoy"])
def test_host_named_like_a_pattern_or_group_is_refused(
    capsys: pytest.CaptureFixture[str], region_copy: Path, name: str
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(
        hosts,
        BO_HOSTS,
        BO_HOSTS + f"            {name}:\n              ansible_host: 10.67.10.11\n",
    )
    refused(capsys, region_copy, "bo/hosts.yml:", f"host name {name} is also", "rename the host")


def test_host_named_like_another_municipalitys_group_is_refused(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    andoy = region_copy.parent / "inventories" / "andoy" / "hosts.yml"
    edit(andoy, "        file_servers:\n", "        nas:\n")
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(hosts, BO_HOSTS, BO_HOSTS + "            nas:\n              ansible_host: 10.67.10.11\n")
    refused(capsys, region_copy, "bo/hosts.yml:", "host name nas is also a group in andoy")


def test_group_named_all_below_the_top_is_refused(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(hosts, "        utility_servers:\n", "        all:\n")
    refused(capsys, region_copy, "bo/hosts.yml:", "group name 'all'")


# --- 4: every file under inventories/ -----------------------------------------------------

INVENTORY_FILES = {
    "host in region.yml": (
        "region.yml",
        "---\nall:\n  hosts:\n    rogue01:\n      ansible_host: 203.0.113.9\n",
        ("region.yml:", "host rogue01 is declared in the region-wide inventory"),
    ),
    "region.yml not an inventory": (
        "region.yml",
        "---\nall:\n  hosts: [a, b]\n",
        ("region.yml:", "is a list"),
    ),
    "group_vars not YAML": (
        "group_vars/file_servers.yml",
        "---\nnetwork__group_allow: [\n",
        ("group_vars/file_servers.yml:", "not valid YAML"),
    ),
    "group_vars a list": (
        "group_vars/all.yml",
        "---\n- a\n- b\n",
        ("group_vars/all.yml", "not a mapping"),
    ),
    "group_vars bad variable name": (
        "group_vars/all.yml",
        "---\n1st: x\n",
        ("group_vars/all.yml:2:", "not a variable name"),
    ),
    "group_vars alias bomb": (
        "group_vars/all.yml",
        "---\n"
        + "\n".join(
            ['l0: &l0 ["a","a","a","a","a","a","a","a","a"]']
            + [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
        )
        + "\n",
        ("group_vars/all.yml:", "(aliases)"),
    ),
    "group_vars ProxyCommand": (
        "sortland/group_vars/database_servers/ssh.yml",
        "---\nansible_ssh_common_args: -o ProxyCommand=nc evil 22\n",
        ("database_servers/ssh.yml:2:", "ansible_ssh_common_args"),
    ),
    "host_vars overrides the address": (
        "sortland/host_vars/sortland-db01.yml",
        "---\nansible_host: 203.0.113.9\n",
        ("sortland-db01.yml:2:", "ansible_host in host_vars/sortland-db01", "override"),
    ),
    "region host_vars overrides the address": (
        "host_vars/bo-fil01.yaml",
        "---\nansible_ssh_host: 203.0.113.9\n",
        ("host_vars/bo-fil01.yaml:2:", "ansible_ssh_host"),
    ),
    "host_vars for no host": (
        "sortland/host_vars/sortland-db02.yml",
        "---\nbackup_agent__host_pre_hooks: []\n",
        ("sortland-db02.yml", "does not declare"),
    ),
    "host_vars for another municipality's host": (
        "sortland/host_vars/bo-fil01.yml",
        "---\nbackup_agent__host_pre_hooks: []\n",
        ("sortland/host_vars/bo-fil01.yml", "does not declare"),
    ),
    "host_vars with a tag": (
        "sortland/host_vars/sortland-db01.yml",
        "---\nx: !!python/object:os.system ls\n",
        ("sortland-db01.yml:2:", "(tag)"),
    ),
}


@pytest.mark.parametrize("case", sorted(INVENTORY_FILES))
def test_every_file_under_inventories_is_checked(
    capsys: pytest.CaptureFixture[str], region_copy: Path, case: str
) -> None:
    relative, text, says = INVENTORY_FILES[case]
    path = region_copy.parent / "inventories" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    refused(capsys, region_copy, *says)


def test_group_vars_inline_address_is_refused(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(hosts, BO_HOSTS, BO_HOSTS + "          vars:\n            ansible_host: 203.0.113.9\n")
    refused(capsys, region_copy, "bo/hosts.yml:", "ansible_host is set for group file_servers")


def test_vault_files_and_valid_vars_pass(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    vault = region_copy.parent / "inventories" / "andoy" / "group_vars" / "andoy" / "vault.yml"
    vault.parent.mkdir(parents=True)
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6135\n3438\n", encoding="utf-8")
    inline = region_copy.parent / "inventories" / "andoy" / "group_vars" / "andoy" / "main.yml"
    inline.write_text("---\nsecret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6135\n", "utf-8")
    code, err = validate(capsys, region_copy)
    assert code == 0, err


# --- 5: every prefix that grants access ---------------------------------------------------

STRAUME = "{name: management, prefix: 10.67.99.0/24, management: true}"


@pytest.mark.parametrize(
    ("new", "says"),
    [
        ("{name: management, prefix: 128.0.0.0/1, management: true}", "wider than /24"),
        ("{name: management, prefix: 8.8.8.0/24, management: true}", "add public_reason"),
        ("{name: management, prefix: 8.8.0.0/16}", "wider than /24"),
        ("{name: management, prefix: 224.0.0.0/24}", "holds no ordinary hosts"),
        ("{name: management, prefix: 10.67.99.0/24, public_reason: old}", "only for a public"),
    ],
)
def test_access_prefixes_are_private_or_a_reasoned_public_24(
    capsys: pytest.CaptureFixture[str], region_copy: Path, new: str, says: str
) -> None:
    edit(region_copy, STRAUME, new)
    refused(capsys, region_copy, "region.yaml:", "networks[1].", says)


def test_public_24_with_a_reason_passes(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    reason = 'public_reason: "the library\'s old public allocation, kept by the ISP"'
    edit(
        region_copy,
        STRAUME,
        "{name: management, prefix: 8.8.8.0/24, management: true, " + reason + "}",
    )
    code, err = validate(capsys, region_copy)
    assert code == 0, err


def test_public_spoke_is_refused(capsys: pytest.CaptureFixture[str], region_copy: Path) -> None:
    edit(region_copy, "spoke_prefix: 10.20.16.0/22", "spoke_prefix: 20.20.16.0/22")
    refused(capsys, region_copy, "spoke_prefix", "not private space")


# --- 6: display names ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Bø", "bø", " Bø", "BØ"])
def test_display_names_are_unique(
    capsys: pytest.CaptureFixture[str], region_copy: Path, name: str
) -> None:
    edit(region_copy, "name: Øksnes", f"name: {name!r}".replace("'", '"'))
    refused(capsys, region_copy, "municipalities[2].name", "is also the name of municipalities[1]")


@pytest.mark.parametrize("char", ["\\x1b[31m", "\\u202e", "\\n", "\\u200b", "\\x00"])
def test_display_names_hold_no_control_characters(
    capsys: pytest.CaptureFixture[str], region_copy: Path, char: str
) -> None:
    edit(region_copy, "name: Øksnes", f'name: "Øks{char}nes"')
    refused(capsys, region_copy, "municipalities[2].name", "control or invisible")


# --- 7: formats matched whole -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("slug: bo\n", 'slug: "bo\\n"\n', "municipalities[1].slug"),
        ("name: straume", 'name: "straume\\n"', "sites[0].name"),
        ("{name: servers, prefix: 10.67", '{name: "servers\\n", prefix: 10.67', "networks[0].name"),
        ("dns_domain: ilag.internal", 'dns_domain: "ilag.internal\\n"', "dns_domain"),
        ("- 0.no.pool.ntp.org", '- "0.no.pool.ntp.org\\n"', "ntp_servers[0]"),
        (
            "vpn_endpoint: vpn-risoyhamn.andoy.example.net",
            'vpn_endpoint: "vpn-risoyhamn.andoy.example.net\\n"',
            "vpn_endpoint",
        ),
        (
            "technician_group_object_id: 00000000-0000-0000-0000-000000001867",
            'technician_group_object_id: "00000000-0000-0000-0000-000000001867\\n"',
            "technician_group_object_id",
        ),
        ('kommunenummer: "1867"', 'kommunenummer: "１８６７"', "kommunenummer"),
        ('kommunenummer: "1867"', 'kommunenummer: "1867\\n"', "kommunenummer"),
        ('kommunenummer: "1867"', 'kommunenummer: "١٨٦٧"', "kommunenummer"),
        ("name: ilag\n", 'name: "ilag\\n"\n', "region.name"),
    ],
)
def test_formats_are_matched_whole(
    capsys: pytest.CaptureFixture[str], region_copy: Path, old: str, new: str, key: str
) -> None:
    edit(region_copy, old, new)
    refused(capsys, region_copy, "region.yaml:", key)


@pytest.mark.parametrize("name", ['"bo-fil02\\n"', '"bo-fil0２"', '"bo-fil02 "', '"bo-fıl02"'])
def test_host_names_are_matched_whole(
    capsys: pytest.CaptureFixture[str], region_copy: Path, name: str
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(
        hosts,
        BO_HOSTS,
        BO_HOSTS + f"            {name}:\n              ansible_host: 10.67.10.11\n",
    )
    refused(capsys, region_copy, "bo/hosts.yml:", "is not a host name")


def test_one_place_for_every_format() -> None:
    for pattern in (formats.SLUG, formats.HOST, formats.FQDN, formats.UUID, formats.KOMMUNENUMMER):
        assert pattern.flags & formats.re.ASCII
    assert not formats.matches(formats.KOMMUNENUMMER, "１８７１")
    assert not formats.matches(formats.SLUG, "andoy\n")
    assert not formats.matches(formats.FQDN, "a.example.no\n")
    assert formats.matches(formats.FQDN, "a.example.no")


# --- 10: valid files that were refused ----------------------------------------------------


def test_brackets_in_comments_are_not_nesting(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    edit(region_copy, "  dns_domain: ilag.internal", "  dns_domain: ilag.internal  # " + "[" * 33)
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(hosts, "all:\n", "# {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\nall:\n")
    code, err = validate(capsys, region_copy)
    assert code == 0, err


def test_long_and_short_str_tags_are_the_same(
    capsys: pytest.CaptureFixture[str], region_copy: Path
) -> None:
    edit(region_copy, 'kommunenummer: "1867"', "kommunenummer: !!str 1867")
    edit(region_copy, "name: Hadsel", "name: !!str Hadsel")
    edit(region_copy, "name: Øksnes", "name: !<tag:yaml.org,2002:str> Øksnes")
    code, err = validate(capsys, region_copy)
    assert code == 0, err


# --- 11: bounds and addresses usable for their role ---------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("    daily: 14\n", "    daily: 1000000000000000000000000000000\n", "daily"),
        ("    yearly: 3\n", "    yearly: 101\n", "yearly"),
        ("    weekly: 8\n", "    weekly: 5000\n", "weekly"),
        ("- 0.no.pool.ntp.org", "- 0.0.0.0", "ntp_servers[0]"),
        ("- 0.no.pool.ntp.org", "- 224.0.1.1", "ntp_servers[0]"),
        ("- 0.no.pool.ntp.org", "- 255.255.255.255", "ntp_servers[0]"),
        ("- 0.no.pool.ntp.org", "- 127.0.0.1", "ntp_servers[0]"),
        ("- 0.no.pool.ntp.org", "- 10.20.1.0", "ntp_servers[0]"),
        ("- 0.no.pool.ntp.org", "- 10.20.1.255", "ntp_servers[0]"),
        ("- 0.no.pool.ntp.org", "- 010.20.1.4", "ntp_servers[0]"),
    ],
)
def test_bounds_and_usable_addresses_in_region(
    capsys: pytest.CaptureFixture[str], region_copy: Path, old: str, new: str, key: str
) -> None:
    edit(region_copy, old, new)
    refused(capsys, region_copy, "region.yaml:", key)


@pytest.mark.parametrize("address", ["10.67.10.0", "10.67.10.255"])
def test_host_address_is_not_a_network_or_broadcast_address(
    capsys: pytest.CaptureFixture[str], region_copy: Path, address: str
) -> None:
    hosts = region_copy.parent / "inventories" / "bo" / "hosts.yml"
    edit(hosts, "ansible_host: 10.67.10.10", f"ansible_host: {address}")
    refused(capsys, region_copy, "bo/hosts.yml:", "not a server's")
