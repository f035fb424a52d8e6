"""systems.yaml: read like region.yaml (file, line, key, fix; exit 2), and checked by
`ilag validate` against the inventories and each host's backup set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.model import backupset, region, systems
from ilag_infra.model.validate import validate
from tests.systems_fixtures import REGISTER, REPO, repo


def _problems(region_file: Path) -> list[str]:
    with pytest.raises(systems.SystemsError) as err:
        validate(region_file)
    return [str(p) for p in err.value.problems]


def test_the_shipped_example_validates_and_says_it_is_an_example() -> None:
    report = validate(REPO / "region.yaml")
    assert report.systems is not None
    assert report.systems.register.example is True
    text = (REPO / "systems.yaml").read_text(encoding="utf-8")
    assert "EXAMPLE" in text.splitlines()[1]
    # Every shipped on-site host is a real inventory host: the lab runs them.
    hosts = {h for i in report.inventories.values() for h in i.names}
    for system in report.systems.register.systems:
        for placement in system.municipalities.values():
            assert set(placement.hosts) <= hosts


def test_backup_set_is_the_roles_defaults_plus_group_layer_plus_fixed_dirs() -> None:
    sets = backupset.for_municipality(REPO, "bo")
    assert "/srv" in sets["bo-fil01"] and "/srv" not in sets["bo-util01"]
    assert {"/etc", "/root", "/home", "/var/backups/ilag-staging"} <= set(sets["bo-util01"])
    assert backupset.covers(sets["bo-fil01"], "/srv/arkiv/2026")
    assert not backupset.covers(sets["bo-util01"], "/srv/arkiv")
    assert not backupset.covers(["/srv"], "/srvx")


def test_a_data_path_outside_the_backup_set_is_a_finding_naming_all(tmp_path: Path) -> None:
    bad = REGISTER.replace("data_paths: [/home/drift]", "data_paths: [/opt/drift]")
    problems = _problems(repo(tmp_path, bad))
    assert len(problems) == 1
    text = problems[0]
    for word in ("systems.yaml:", "systems[1].municipalities.bo.data_paths[0]", "drift", "bo",
                 "bo-util01", "/opt/drift", "backup set", "fix: add /opt/drift"):  # fmt: skip
        assert word in text, text


def test_a_host_missing_from_the_inventory_is_a_finding(tmp_path: Path) -> None:
    bad = REGISTER.replace("hosts: [bo-fil01]", "hosts: [bo-fil09]")
    (problem,) = _problems(repo(tmp_path, bad))
    assert "system journal, municipality bo, host bo-fil09" in problem
    assert "not in inventories/bo/hosts.yml" in problem and "bo-fil01" in problem


def test_validate_exits_2_with_the_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = REGISTER.replace("data_paths: [/srv/journal]\n        owner: Helsesjef\n      sortland",
                           "data_paths: [/var/lib/journal]\n        owner: Helsesjef\n      sortland")  # fmt: skip
    rc = main(["validate", "--region", str(repo(tmp_path, bad)), "--json"])
    assert rc == 2
    data = json.loads(capsys.readouterr().out)
    (problem,) = data["problems"]
    assert problem["key"] == "systems[0].municipalities.bo.data_paths[0]"
    assert "/var/lib/journal" in problem["message"] and problem["line"] == 18


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (("criticality: critical", "criticality: urgent"), "systems[0].criticality",
         ["critical", "one of the values"]),
        (("    sector: helse", "    sektor: helse"), "systems[0].sektor",
         ["unknown key 'sektor'", "did you mean 'sector'?"]),
        (("rto_hours: 4", "rto_hours: -1"), "systems[0].rto_hours", ["above zero"]),
        (("      hadsel:", "      hadsle:"), "systems[1].municipalities.hadsle",
         ["not a municipality", "did you mean 'hadsel'?"]),
        (("data_paths: [/home/drift]", "data_paths: [home/drift]"),
         "systems[1].municipalities.bo.data_paths", ["absolute path"]),
        (("runs: saas", "runs: onsite"), "systems[1].municipalities.hadsel",
         ["names no hosts"]),
        (("by: 2027-12-31", "by: next year"), "systems[0].harmonisation.by", ["YYYY-MM-DD"]),
        (("  - id: drift", "  - id: journal"), "systems[1].id", ["used twice"]),
    ],
)  # fmt: skip
def test_bad_register_names_file_line_key_and_fix(
    tmp_path: Path, change: tuple[str, str], key: str, words: list[str]
) -> None:
    assert change[0] in REGISTER
    region_file = repo(tmp_path, REGISTER.replace(change[0], change[1], 1))
    loaded = region.load(region_file)
    with pytest.raises(systems.SystemsError) as err:
        systems.load(tmp_path / "systems.yaml", loaded)
    found = [p for p in err.value.problems if p.key == key]
    assert found, err.value
    problem = found[0]
    assert problem.line is not None and problem.fix
    text = str(problem)
    for word in words:
        assert word in text, text
    assert err.value.exit_code == 2


def test_unreadable_yaml_is_bad_input_with_a_line(tmp_path: Path) -> None:
    region_file = repo(tmp_path, "---\nsystems:\n  - id: a\n  bad: [\n")
    with pytest.raises(systems.SystemsError) as err:
        systems.load(tmp_path / "systems.yaml", region.load(region_file))
    assert err.value.problems[0].line is not None


def test_no_register_beside_the_region_is_not_an_error(tmp_path: Path) -> None:
    region_file = repo(tmp_path)
    (tmp_path / "systems.yaml").unlink()
    assert validate(region_file).systems is None
