"""`ilag offboard`: the plan of a municipality's exit, and the file changes of --apply.

Every test works on a copy of the repository's files in tmp_path and runs the real command
and the real `ilag validate` through cli.app.main.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shlex
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
import typer
from ruamel.yaml import YAML

from ilag_infra.cli.app import build_app, main
from ilag_infra.model import offboard, region
from ilag_infra.model.retention import Retention

REPO = Path(__file__).resolve().parents[1]
# What `ilag validate` reads besides region.yaml: inventories, stacks, the systems register
# and the backup role's defaults (the backup sets).
COPIED = ("region.yaml", "systems.yaml", "Pulumi.yaml", "inventories", "stacks", "roles")
CIPHERTEXT = "v1:AAAAbo-offboard-test-ciphertext-must-never-be-printed"
LAST = "2026-12-31"


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


def set_vpn_keys(root: Path) -> None:
    """The shape `pulumi config set --secret --path 'ilag:vpnSharedKeys.<slug>'` leaves."""
    path = root / "stacks" / "Pulumi.network.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["config"]["ilag:vpnSharedKeys"] = {
        "bo": {"secure": CIPHERTEXT},
        "andoy": {"andenes": {"secure": "v1:andenes"}, "risoyhamn": {"secure": "v1:risoyhamn"}},
    }
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)


def test_the_plan_changes_nothing_and_says_the_backups_are_kept(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_vpn_keys(repo)
    before = tree_hash(repo)
    code, out, _ = run(repo, capsys, "offboard", "bo", "--last-backup", LAST)
    assert code == 0, out
    assert tree_hash(repo) == before
    assert "container backup-bo is KEPT until its retention ends: 2029-12-31" in out
    assert "pulumi state delete 'urn:pulumi:backup::ilag::ilag:backup:MunicipalityContainer" in out
    assert "restic -r <their repository>/bo-fil01 copy --from-repo" in out
    assert "lgw-bo-straume-prod-noe" in out and "vcn-bo-straume-prod-noe" in out
    assert "site-sas-bo" in out and "ilag:vpnSharedKeys.bo" in out
    assert "remove inventories/bo/" in out
    assert "Nothing was changed" in out
    assert CIPHERTEXT not in out and "v1:andenes" not in out


def test_the_cost_key_gives_bos_share_to_the_others(repo: Path) -> None:
    loaded = region.load(repo / "region.yaml")
    p = offboard.plan(loaded, "bo", repo, dt.date(2026, 12, 31))
    by = {c.slug: c for c in p.shares}
    assert by["bo"].before > 0 and by["bo"].after == 0
    for slug, c in by.items():
        if slug != "bo":
            assert c.after > c.before, slug
    assert sum((c.before for c in p.shares), Fraction(0)) == 1
    assert sum((c.after for c in p.shares), Fraction(0)) == 1
    # Weighted 0.30: the equal part is now split four ways.
    total = sum(m.population for m in loaded.model.municipalities if m.slug != "bo")
    hadsel = Fraction(3, 10) / 4 + Fraction(7, 10) * Fraction(8236, total)
    assert by["hadsel"].after == hadsel


def test_json_has_the_shares_and_no_secret(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_vpn_keys(repo)
    code, out, _ = run(repo, capsys, "offboard", "bo", "--json", "--last-backup", LAST)
    assert code == 0
    data = json.loads(out)
    assert data["applied"] is None
    assert data["backups"]["container"] == "backup-bo"
    assert data["backups"]["kept_until"] == "2029-12-31"
    assert sum(s["after"]["percent"] for s in data["shares"]) == pytest.approx(100)
    assert CIPHERTEXT not in out


def test_retention_dates_follow_the_keep_rules_and_worm(repo: Path) -> None:
    day = dt.date(2024, 2, 29)
    assert offboard.retention_end(day, Retention(daily=14, weekly=8)) == dt.date(2024, 4, 25)
    assert offboard.retention_end(day, Retention(daily=7, monthly=12)) == dt.date(2025, 2, 28)
    assert offboard.retention_end(day, Retention(yearly=3)) == dt.date(2027, 2, 28)
    path = repo / "stacks" / "Pulumi.backup.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("ilag:backupImmutabilityDays: 0", "ilag:backupImmutabilityDays: 2000").replace(
            "ilag:deleteRetentionDays: 30", "ilag:deleteRetentionDays: 60"
        ),
        encoding="utf-8",
    )
    p = offboard.plan(region.load(repo / "region.yaml"), "bo", repo, dt.date(2026, 12, 31))
    assert p.backups.immutability_days == 2000
    assert p.backups.kept_until == dt.date(2029, 12, 31)
    # WORM for 2000 days outlasts the 365-day lifecycle rule plus 60 days of soft delete.
    assert p.backups.versions_gone_by == dt.date(2029, 12, 31) + dt.timedelta(days=2000)


def test_apply_removes_exactly_bo_and_validate_passes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_vpn_keys(repo)
    before = tree_hash(repo)
    code, out, err = run(repo, capsys, "offboard", "bo", "--apply", "--last-backup", LAST)
    assert code == 0, out + err
    assert "ilag validate: ok, 4 municipalities" in out
    assert CIPHERTEXT not in out + err
    after = tree_hash(repo)
    gone = sorted(set(before) - set(after))
    assert gone and all(p.startswith("inventories/bo/") for p in gone)
    changed = sorted(p for p in after if before[p] != after[p])
    # The backup stack file only in its comment: the resticPasswords loop drops bo.
    assert changed == [
        "region.yaml",
        "stacks/Pulumi.backup.yaml",
        "stacks/Pulumi.network.yaml",
        "systems.yaml",
    ]
    assert "for slug in andoy hadsel oksnes sortland; do" in (
        repo / "stacks" / "Pulumi.backup.yaml"
    ).read_text(encoding="utf-8")

    loaded = region.load(repo / "region.yaml")
    assert loaded.model.slugs == ["hadsel", "oksnes", "sortland", "andoy"]
    text = (repo / "region.yaml").read_text(encoding="utf-8")
    assert text.startswith("# ILAG IKT: the single source of truth")  # comments kept
    assert text.count("# SSB table 07459") == 4
    network = (repo / "stacks" / "Pulumi.network.yaml").read_text(encoding="utf-8")
    assert "for slug in andoy hadsel oksnes sortland; do" in network
    keys = YAML().load(network)["config"]["ilag:vpnSharedKeys"]
    assert set(keys) == {"andoy"} and CIPHERTEXT not in network
    assert "bo:" not in (repo / "systems.yaml").read_text(encoding="utf-8")

    assert main(["validate", "--region", str(repo / "region.yaml")]) == 0
    capsys.readouterr()
    # A second apply has nothing to do: bo is no longer a municipality.
    code, _, err = run(repo, capsys, "offboard", "bo", "--apply")
    assert code == 2
    assert "no municipality 'bo'" in err and "Nothing was changed" in err
    assert tree_hash(repo) == after


def test_unknown_and_bad_input_are_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(repo, capsys, "offboard", "lodingen")
    assert code == 2 and "use one of: hadsel, bo, oksnes, sortland, andoy" in err
    code, _, err = run(repo, capsys, "offboard", "bo", "--last-backup", "31.12.2026")
    assert code == 2 and "--last-backup" in err


def test_the_last_municipality_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    yaml = YAML()
    path = repo / "region.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"))
    del data["municipalities"][1:]
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    code, _, err = run(repo, capsys, "offboard", "hadsel", "--apply")
    assert code == 2 and "last municipality" in err


def test_a_reference_it_cannot_remove_is_named(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = repo / "inventories" / "group_vars" / "all.yml"
    path.write_text(
        path.read_text(encoding="utf-8") + "\nexample__fallback_host: bo-fil01\n", encoding="utf-8"
    )
    before = tree_hash(repo)
    code, _, err = run(repo, capsys, "offboard", "bo", "--apply")
    assert code == 2
    assert "inventories/group_vars/all.yml" in err and "example__fallback_host" in err
    assert tree_hash(repo) == before


@pytest.mark.parametrize("slug", ["bo", "hadsel"])
def test_the_azure_resources_are_what_the_offline_plan_drops(
    slug: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan derives its resources from region.yaml and the naming rules; the stacks'
    real programs, planned offline before and after, must drop exactly those."""
    from ilag_infra.azure import plan

    loaded = region.load(repo / "region.yaml")
    mine = offboard.plan(loaded, slug, repo, dt.date(2026, 12, 31))
    before = plan.run_many(plan.STACK_ORDER, loaded, root=repo)
    assert run(repo, capsys, "offboard", slug, "--apply")[0] == 0
    after = plan.run_many(plan.STACK_ORDER, region.load(repo / "region.yaml"), root=repo)
    old = {r.urn for result in before for r in result.resources}
    new = {r.urn for result in after for r in result.resources}
    assert old - new == {r.urn for r in mine.resources}


LEAVE = re.compile(r"^## Leave\b.*?(?=^## )", re.MULTILINE | re.DOTALL)


def test_the_leave_section_names_commands_that_exist() -> None:
    doc = (REPO / "docs" / "operators.md").read_text(encoding="utf-8")
    section = LEAVE.search(doc)
    assert section, "docs/operators.md has no '## Leave' section"
    root = typer.main.get_command(build_app())
    commands = [
        line.strip().split("  #")[0]
        for line in section.group(0).splitlines()
        if line.strip().startswith("ilag ")
    ]
    assert any(c.startswith("ilag offboard") for c in commands)
    for text in commands:
        words = shlex.split(text)
        cmd, args = root, words[1:]
        while getattr(cmd, "commands", None) and args and args[0] in cmd.commands:
            cmd, args = cmd.commands[args[0]], args[1:]
        assert not getattr(cmd, "commands", None), f"{text}: no such command"
        cmd.make_context("ilag", [a for a in args if not a.startswith("<")])


def test_ilag_diff_shows_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the apply in a clone of the repository, `ilag diff HEAD` names the municipality
    as removed and the Azure resources that go."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    monkeypatch.setenv("ILAG_ROOT", str(clone))
    monkeypatch.chdir(clone)
    assert run(clone, capsys, "offboard", "bo", "--apply")[0] == 0
    assert main(["diff", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "Bø (bo) [removed]" in out
    assert "delete network:LocalNetworkGateway lgw-bo-straume-prod-noe" in out
    assert "delete storage:BlobContainer records-bo" in out


def test_the_last_entry_goes_without_a_trailing_blank_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(repo, capsys, "offboard", "andoy", "--apply")[0] == 0
    for name in ("region.yaml", "systems.yaml"):
        text = (repo / name).read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), name
        assert "andoy" not in text.replace("Andøy", ""), name


def test_a_system_only_it_used_goes_from_systems_yaml(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = repo / "systems.yaml"
    text = path.read_text(encoding="utf-8")
    for other in ("hadsel", "oksnes", "sortland", "andoy"):
        text = text.replace(
            f'      {other}: {{product: Skole Theta, version: "8", runs: saas, '
            "owner: Oppvekstsjef (eksempel)}\n",
            "",
        )
    text = text.replace(
        '      sortland: {product: Skole Iota, version: "2.1", runs: saas, '
        "owner: Oppvekstsjef (eksempel)}\n",
        "",
    )
    path.write_text(text, encoding="utf-8")
    code, out, _ = run(repo, capsys, "offboard", "bo")
    assert code == 0 and "remove system skoleadmin (only bo used it)" in out
    assert run(repo, capsys, "offboard", "bo", "--apply")[0] == 0
    after = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    ids = [s["id"] for s in after["systems"]]
    assert "skoleadmin" not in ids and "omsorgsjournal" in ids
    assert all("bo" not in s["municipalities"] for s in after["systems"])
