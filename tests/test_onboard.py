"""`ilag onboard`: the plan of a new municipality, the files --apply writes, and the inputs it
refuses without changing a file.

Every test works on a copy of the repository's files in tmp_path and runs the real command and
the real `ilag validate` through cli.app.main.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from ruamel.yaml import YAML

from ilag_infra.cli.app import build_app, main
from ilag_infra.lab.lifecycle import _plan as lab_plan
from ilag_infra.model import inventory, onboard_text, region
from ilag_infra.model.onboard_spec import HostSpec, NetworkSpec, SiteSpec

REPO = Path(__file__).resolve().parents[1]
CIPHERTEXT = "v1:AAAAonboard-test-ciphertext-must-never-be-printed"
# What `ilag validate` reads besides region.yaml: inventories, stacks, the systems register
# and the backup role's defaults (the backup sets).
COPIED = ("region.yaml", "systems.yaml", "Pulumi.yaml", "inventories", "stacks", "roles")
SITE = "lodingen=198.51.100.51:servers=10.51.10.0/24,management=10.51.99.0/24"
FIL = "lodingen-fil01=10.51.10.10:file_servers,backup_clients"
UTIL = "lodingen-util01=10.51.10.20:utility_servers,backup_clients,dns_forwarders,ilag_nodes"
LODINGEN = [
    "onboard",
    "lodingen",
    "--name",
    "Lødingen",
    "--kommunenummer",
    "1851",
    "--population",
    "2066",
    "--spoke-prefix",
    "10.20.24.0/22",
    "--site",
    SITE,
    "--host",
    FIL,
    "--host",
    UTIL,
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        else:
            shutil.copy2(src, root / name)
    return root


def tree_hash(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--region", str(root / "region.yaml")])
    out, err = capsys.readouterr()
    return code, out, err


def with_option(option: str, value: str) -> list[str]:
    """LODINGEN with one option's value replaced (the first occurrence)."""
    args = list(LODINGEN)
    args[args.index(option) + 1] = value
    return args


def test_the_plan_shows_what_it_adds_and_changes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(repo)
    code, out, err = run(repo, capsys, *LODINGEN)
    assert code == 0, out + err
    assert tree_hash(repo) == before
    assert "edit   region.yaml: add the municipalities entry lodingen (Lødingen)" in out
    assert "+   - slug: lodingen" in out
    assert (
        "+     technician_group_object_id: 00000000-0000-0000-0000-000000001851  # placeholder"
        in out
    )
    assert "create inventories/lodingen/hosts.yml: 2 host(s)" in out
    assert "+               ansible_host: 10.51.10.10" in out
    assert "for slug in andoy bo hadsel lodingen oksnes sortland; do" in out
    assert "lgw-lodingen-lodingen-prod-noe" in out and "backup-lodingen" in out
    assert "pulumi config set --secret --path 'ilag:vpnSharedKeys.lodingen'" in out
    assert re.search(r"Lødingen\s+0\.00 % ->\s+\d+\.\d\d %", out)
    assert "Nothing was changed" in out


def test_apply_writes_four_files_and_validate_passes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(repo)
    old_region = (repo / "region.yaml").read_text(encoding="utf-8")
    code, out, err = run(repo, capsys, *LODINGEN, "--apply")
    assert code == 0, out + err
    assert "ilag validate (of the result, before writing): ok, 6 municipalities" in out
    after = tree_hash(repo)
    assert sorted(set(after) - set(before)) == ["inventories/lodingen/hosts.yml"]
    changed = sorted(p for p in before if before[p] != after[p])
    # The stack files change only in their `for slug in` comments.
    assert changed == ["region.yaml", "stacks/Pulumi.backup.yaml", "stacks/Pulumi.network.yaml"]
    assert not list(repo.rglob("*.onboard-tmp"))

    text = (repo / "region.yaml").read_text(encoding="utf-8")
    assert text.startswith(old_region)  # appended: every comment and line kept as it was
    m = region.load(repo / "region.yaml").model.municipality("lodingen")
    assert (m.name, m.kommunenummer, m.population) == ("Lødingen", "1851", 2066)
    assert str(m.spoke_prefix) == "10.20.24.0/22"
    assert [str(n) for n in m.management_networks] == ["10.51.99.0/24"]
    assert m.sites[0].vpn_endpoint == "198.51.100.51"

    inv, problems = inventory.read(inventory.inventory_path(repo, "lodingen"), "lodingen")
    assert problems == []
    assert inv.names == ["lodingen-fil01", "lodingen-util01"]
    assert inv.in_group("backup_clients") == {"lodingen-fil01", "lodingen-util01"}
    assert inv.in_group("ilag_nodes") == {"lodingen-util01"}
    assert inv.hosts["lodingen-util01"].address == "10.51.10.20"

    assert main(["validate", "--region", str(repo / "region.yaml")]) == 0
    capsys.readouterr()
    # The repository's YAML style holds for what was written.
    written = [*changed, "inventories/lodingen/hosts.yml"]
    lint = subprocess.run(
        [sys.executable, "-m", "yamllint", "-s", "-c", str(REPO / ".yamllint"), *written],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    # A second apply is refused: the slug is taken now.
    code, _, err = run(repo, capsys, *LODINGEN, "--apply")
    assert code == 2 and "inventories/lodingen exists already" in err
    assert tree_hash(repo) == after


def test_the_lab_would_boot_its_hosts(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The lab's own plan (no root needed) gives the new municipality a bridge, its
    inventory's first hosts and its node."""
    assert run(repo, capsys, *LODINGEN, "--apply")[0] == 0
    wanted = lab_plan(region.load(repo / "region.yaml"), repo, 2, "10.250.0.0/16")
    assert wanted.names["lodingen"] == ["lodingen-fil01", "lodingen-util01"]
    assert wanted.nodes["lodingen"] == ["lodingen-util01"]
    net = wanted.netplan.net("lodingen")
    assert str(net.subnet) == "10.250.6.0/24"  # appended: the others keep their /24


def test_onboard_then_offboard_gives_back_the_files(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(repo)
    assert run(repo, capsys, *LODINGEN, "--apply")[0] == 0
    code, out, err = run(repo, capsys, "offboard", "lodingen", "--apply")
    assert code == 0, out + err
    assert tree_hash(repo) == before


REFUSED = [
    pytest.param(with_option("--spoke-prefix", "10.20.18.0/23"), "--spoke-prefix", id="spoke"),
    pytest.param(
        with_option("--site", "lodingen=198.51.100.51:servers=10.66.10.0/25"),
        "--site lodingen",
        id="site-network",
    ),
    pytest.param(
        with_option("--site", "lodingen=198.51.100.51:servers=10.20.25.0/24"),
        "--site lodingen",
        id="site-in-own-spoke",
    ),
    pytest.param(with_option("--kommunenummer", "1866"), "--kommunenummer", id="kommunenr-taken"),
    pytest.param(with_option("--kommunenummer", "185"), "--kommunenummer", id="kommunenr-short"),
    pytest.param(with_option("--kommunenummer", "18a1"), "--kommunenummer", id="kommunenr-alpha"),
    pytest.param(with_option("lodingen", "bo"), "KOMMUNE", id="slug-taken"),
    pytest.param(with_option("lodingen", "lødingen"), "KOMMUNE", id="slug-not-ascii"),
    pytest.param(with_option("lodingen", "Lodingen"), "KOMMUNE", id="slug-uppercase"),
    pytest.param(with_option("lodingen", "1851-lodingen"), "KOMMUNE", id="slug-digit-first"),
    pytest.param(with_option("--name", "Hadsel"), "--name", id="name-taken"),
    pytest.param(with_option("--population", "0"), "--population", id="population"),
    pytest.param(with_option("--site", "lodingen=198.51.100.51"), "--site", id="site-shape"),
    pytest.param(
        with_option("--site", "lodingen=10.1.2.3:servers=10.51.10.0/24"),
        "--site lodingen",
        id="endpoint-private",
    ),
    pytest.param(
        with_option("--site", "andenes=198.51.100.71:servers=10.51.10.0/24"),
        "--site andenes",
        id="endpoint-taken",
    ),
    pytest.param(
        with_option("--host", "lodingen-fil01=10.66.10.10:file_servers"),
        "--host",
        id="host-outside",
    ),
    pytest.param(
        with_option("--host", "lodingen-fil01=10.51.10.10:file_server"),
        "--host lodingen-fil01",
        id="group-typo",
    ),
    pytest.param(
        with_option("--host", "bo-fil01=10.51.10.10:file_servers"), "--host", id="host-taken"
    ),
    pytest.param(
        with_option("--host", "Lodingen-FIL01=10.51.10.10:file_servers"), "--host", id="host-case"
    ),
    pytest.param(
        LODINGEN[:-2],  # without the last --host, the node
        "no host is in group ilag_nodes",
        id="no-node",
    ),
    pytest.param([a for a in LODINGEN if a not in ("--site", SITE)], "--site", id="no-site"),
    pytest.param([a for a in LODINGEN if a not in ("--name", "Lødingen")], "--name", id="no-name"),
]


@pytest.mark.parametrize(("args", "option"), REFUSED)
def test_refused_input_changes_no_file(
    args: list[str], option: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(repo)
    code, out, err = run(repo, capsys, *args, "--apply")
    assert code == 2, out + err
    assert option in err, err
    assert tree_hash(repo) == before
    counted = re.search(r"bad input \((\d+) problem", err)
    if counted:
        # Every problem ends in a fix that says what to do.
        fixes = re.findall(r"^\s+fix: (.*)$", err, re.MULTILINE)
        assert len(fixes) == int(counted.group(1)), err
        assert all(f.strip() for f in fixes), err
    else:
        # A missing option: the command-line library's usage error, which points to --help.
        assert "Try 'ilag onboard --help' for help." in err, err


@pytest.mark.parametrize(
    ("option", "value", "fix"),
    [
        pytest.param(
            "--host",
            "lodingen-fil01=10.51.10.10:file_servers,backup_clients,backup_clients",
            "give each group once, e.g. --host "
            "lodingen-fil01=10.51.10.10:file_servers,backup_clients",
            id="group-twice",
        ),
        pytest.param(
            "--site",
            "lodingen=198.51.100.51:servers=10.51.10.0/24,servers=10.51.11.0/24",
            "give each network of a site its own name",
            id="network-name-twice",
        ),
    ],
)
def test_a_name_given_twice_in_one_option_is_refused(
    option: str, value: str, fix: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(repo)
    code, out, err = run(repo, capsys, *with_option(option, value), "--apply")
    assert code == 2, out + err
    assert f"(command line): {option} {value}: " in err, err
    assert f"fix: {fix}" in err, err
    assert "YAML" not in err  # the user wrote no YAML
    assert tree_hash(repo) == before


def test_the_restic_password_is_set_before_the_backup_stack_and_the_first_apply(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The vault file `ilag apply` reads, then the backup stack's escrow of the same
    password: both in the secrets and in the order, before `pulumi up -s backup`."""
    code, out, _ = run(repo, capsys, *LODINGEN, "--json")
    assert code == 0
    data = json.loads(out)
    vault = "inventories/lodingen/group_vars/lodingen/vault.yml"
    secrets = {(s["where"], s["key"]): s for s in data["secrets"]}
    assert "ansible-vault create" in secrets[(vault, "vault_restic_password")]["command"]
    escrow = secrets[("stacks/Pulumi.backup.yaml", "ilag:resticPasswords.lodingen")]
    assert escrow["command"] == (
        "pulumi config set --secret --path 'ilag:resticPasswords.lodingen' -s backup"
    )
    assert "SAME password as vault_restic_password" in escrow["note"]
    keys = [s["key"] for s in data["secrets"]]
    assert keys.index("vault_restic_password") < keys.index("ilag:resticPasswords.lodingen")

    steps = data["steps"]

    def at(text: str) -> int:
        found = [n for n, step in enumerate(steps) if text in step]
        assert len(found) == 1, (text, steps)
        return found[0]

    made = at(f'ansible-vault create --vault-password-file "$ILAG_VAULT_PASSWORD_FILE" {vault}')
    escrowed = at("pulumi config set --secret --path 'ilag:resticPasswords.lodingen' -s backup")
    assert at("ilag onboard lodingen") < made < escrowed < at("pulumi up -s backup")
    assert escrowed < at("ilag apply lodingen")

    code, out, _ = run(repo, capsys, *LODINGEN)
    assert code == 0
    order = out[out.index("\nOrder\n") :]
    assert re.search(r"\d\. ansible-vault create .*vault\.yml", order)
    assert re.search(
        r"\d\. pulumi config set --secret --path 'ilag:resticPasswords\.lodingen'", order
    )
    secrets_text = out[out.index("\nSecrets and placeholders\n") : out.index("\nCost key\n")]
    assert f"{vault}: vault_restic_password:" in secrets_text
    assert "stacks/Pulumi.backup.yaml: ilag:resticPasswords.lodingen:" in secrets_text


def test_a_failed_write_leaves_nothing_behind(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stack file's temporary sibling cannot be written (a directory is in its place): the
    already written temporary files and the new inventory directory go again."""
    blocker = repo / "stacks" / "Pulumi.network.yaml.onboard-tmp"
    blocker.mkdir()
    before = tree_hash(repo)
    code, _, err = run(repo, capsys, *LODINGEN, "--apply")
    assert code == 1 and "nothing was changed" in err
    assert tree_hash(repo) == before
    assert not (repo / "inventories" / "lodingen").exists()
    assert not (repo / "region.yaml.onboard-tmp").exists()


def test_keys_already_set_for_the_others_stay_and_are_never_shown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A network stack file that holds the others' encrypted keys: onboard adds none, says the
    plan stops until the new one is set, and prints no ciphertext."""
    path = repo / "stacks" / "Pulumi.network.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["config"]["ilag:vpnSharedKeys"] = {"bo": {"secure": CIPHERTEXT}}
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    code, out, err = run(repo, capsys, *LODINGEN, "--apply")
    assert code == 0, out + err
    assert "until ilag:vpnSharedKeys.lodingen is set, `ilag plan -s network`" in out
    assert CIPHERTEXT not in out + err
    keys = YAML(typ="safe").load(path.read_text(encoding="utf-8"))["config"]["ilag:vpnSharedKeys"]
    assert keys == {"bo": {"secure": CIPHERTEXT}}


def test_restic_passwords_set_for_the_others_stay_and_are_never_shown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup stack file that holds the others' encrypted restic passwords: onboard adds
    none, says the plan stops until the new one is set, and prints no ciphertext."""
    path = repo / "stacks" / "Pulumi.backup.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["config"]["ilag:resticPasswords"] = {"bo": {"secure": CIPHERTEXT}}
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    code, out, err = run(repo, capsys, *LODINGEN, "--apply")
    assert code == 0, out + err
    assert "until ilag:resticPasswords.lodingen is set, `ilag plan -s backup`" in out
    assert CIPHERTEXT not in out + err
    saved = YAML(typ="safe").load(path.read_text(encoding="utf-8"))["config"]
    assert saved["ilag:resticPasswords"] == {"bo": {"secure": CIPHERTEXT}}


def test_without_the_others_restic_passwords_there_is_no_such_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(repo, capsys, *LODINGEN)
    assert code == 0
    assert "sets ilag:resticPasswords for the other" not in out


def test_a_region_file_of_another_name_is_only_written_by_apply(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The staging copy links what it does not copy; a region file named otherwise is copied
    before the new text goes in, never written through the link."""
    (repo / "region.yaml").rename(repo / "other.yaml")
    before = tree_hash(repo)
    code = main([*LODINGEN, "--region", str(repo / "other.yaml")])
    assert code == 0, capsys.readouterr()
    assert tree_hash(repo) == before
    assert main([*LODINGEN, "--region", str(repo / "other.yaml"), "--apply"]) == 0
    assert "slug: lodingen" in (repo / "other.yaml").read_text(encoding="utf-8")


def test_json_has_the_files_and_shares(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(repo, capsys, *LODINGEN, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["applied"] is None and "texts" not in data
    assert [f["path"] for f in data["files"]] == [
        "region.yaml",
        "inventories/lodingen/hosts.yml",
        "stacks/Pulumi.backup.yaml",
        "stacks/Pulumi.network.yaml",
    ]
    assert sum(s["after"]["percent"] for s in data["shares"]) == pytest.approx(100)


def test_text_that_yaml_would_misread_is_quoted() -> None:
    for value in ("Yes", "No", "1851", "Bø: nord", "# x", "Lødingen ", "null"):
        assert YAML(typ="safe").load(f"k: {onboard_text.scalar(value)}") == {"k": value}
    assert onboard_text.scalar("Lødingen") == "Lødingen"
    assert onboard_text.scalar("10.51.10.0/24") == "10.51.10.0/24"


def test_a_host_without_groups_sits_under_the_municipality() -> None:
    text = onboard_text.hosts_file(
        "x", "X", "0001", "a", [HostSpec("x-a", "10.1.1.1"), HostSpec("x-b", "10.1.1.2", ("g",))]
    )
    data = YAML(typ="safe").load(text)
    node = data["all"]["children"]["x"]
    assert node["hosts"] == {"x-a": {"ansible_host": "10.1.1.1"}}
    assert node["children"]["g"]["hosts"] == {"x-b": {"ansible_host": "10.1.1.2"}}
    entry = onboard_text.region_entry(
        "x",
        "X",
        "0001",
        1,
        None,
        "00000000-0000-0000-0000-000000000001",
        True,
        [SiteSpec("a", "x.example.net", (NetworkSpec("management", "10.1.1.0/24"),))],
    )
    site = YAML(typ="safe").load(entry)[0]["sites"][0]
    assert site["networks"] == [{"name": "management", "prefix": "10.1.1.0/24", "management": True}]


def test_ilag_diff_shows_exactly_its_azure_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the apply in a clone of the repository, `ilag diff HEAD` names the municipality as
    new, and the resources it creates are exactly those the plan listed."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    monkeypatch.setenv("ILAG_ROOT", str(clone))
    monkeypatch.chdir(clone)
    code, out, _ = run(clone, capsys, *LODINGEN, "--apply", "--json")
    assert code == 0
    resources = json.loads(out)["resources"]
    # The diff writes azure-native types without the provider, ilag's components in full.
    planned = {(r["type"].removeprefix("azure-native:"), r["name"]) for r in resources}
    assert main(["diff", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "Lødingen (lodingen) [new]: 2 host(s): lodingen-fil01, lodingen-util01" in out
    created = re.findall(r"^  \+ create (\S+) (\S+)", out, re.MULTILINE)
    assert {(t, n) for t, n in created if t != "SAS"} == planned
    assert not re.search(r"\bdelete \w+:\w+", out)
    # Every municipality's cost share moves, and the diff says from what to what.
    shares = re.findall(r"^  (\S+) \((\w+)\): (.+?) -> (.+)$", out, re.MULTILINE)
    moved = {slug: (before, after) for _, slug, before, after in shares}
    assert moved["lodingen"][0] == "not a member" and moved["lodingen"][1].endswith("%")
    assert set(moved) == {"hadsel", "oksnes", "bo", "sortland", "andoy", "lodingen"}
    assert all(b != a for b, a in moved.values())


JOIN = re.compile(r"^## Join\b.*?(?=^## )", re.MULTILINE | re.DOTALL)


def test_the_join_section_names_commands_that_exist() -> None:
    doc = (REPO / "docs" / "operators.md").read_text(encoding="utf-8")
    section = JOIN.search(doc)
    assert section, "docs/operators.md has no '## Join' section"
    root = typer.main.get_command(build_app())
    text = re.sub(r"\\\n\s*", " ", section.group(0))  # continuation lines
    commands = [
        line.strip().split("  #")[0]
        for line in text.splitlines()
        if line.strip().startswith("ilag ")
    ]
    assert any(c.startswith("ilag onboard") for c in commands)
    for command in commands:
        words = shlex.split(command)
        cmd, args = root, words[1:]
        while getattr(cmd, "commands", None) and args and args[0] in cmd.commands:
            cmd, args = cmd.commands[args[0]], args[1:]
        assert not getattr(cmd, "commands", None), f"{command}: no such command"
        cmd.make_context("ilag", [a for a in args if not a.startswith("<") and a != "…"])
