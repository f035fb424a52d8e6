"""CLI conventions an operator relies on: --version, --env without -e, ILAG_ENV everywhere,
--json with stable keys, the one repository root and one region load per command."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import typer

from ilag_infra.cli.app import build_app, main
from ilag_infra.cli.context import Context
from ilag_infra.model import paths, region
from ilag_infra.model.secrets import MASK
from tests.test_ansible_runner_wrapper import PASSWORD, SAS, make_repo

REPO = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every command and subcommand (typer ships its own click, so no isinstance checks)."""
    found: list[tuple[str, Any]] = []
    for name, cmd in group.commands.items():
        found.append((prefix + name, cmd))
        if getattr(cmd, "commands", None):
            found += _commands(cmd, f"{prefix}{name} ")
    return found


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"ilag {metadata.version('ilag-infra')}"


def test_completion_is_offered(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "--install-completion" in out and "--show-completion" in out


def test_env_has_no_short_form_and_follows_ilag_env_everywhere() -> None:
    root = typer.main.get_command(build_app())
    with_env = []
    for name, cmd in _commands(root):
        for param in cmd.params:
            assert "-e" not in param.opts, f"{name}: -e means extra vars to Ansible users"
            if "--env" in param.opts:
                assert getattr(param, "envvar", None) == "ILAG_ENV", name
                with_env.append(name)
    assert {"apply", "outputs", "preflight", "bootstrap", "diff"} <= set(with_env)


@pytest.mark.parametrize(
    "args", [["outputs"], ["apply", "andoy"], ["preflight", "--all"], ["diff", "--base", "HEAD"]]
)
def test_bad_ilag_env_is_bad_input_before_any_work(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ILAG_ENV", "staging")
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "'staging'" in err and "--env" in err and "use lab or prod" in err


def test_short_e_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "outputs", "-e", "prod")
    assert code == 2 and "No such option: -e" in err


def test_validate_json(capsys: pytest.CaptureFixture[str], region_copy: Path) -> None:
    code, out, _ = run(capsys, "validate", "--json", "--region", str(region_copy))
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and data["problems"] == []
    assert data["region_file"] == str(region_copy)
    assert (data["municipalities"], data["hosts"]) == (5, 12)
    assert sum(data["inventories"].values()) == 12 and "andoy" in data["inventories"]
    assert isinstance(data["sites"], int) and data["sites"] >= 5

    text = region_copy.read_text(encoding="utf-8")
    region_copy.write_text(text.replace("location: norwayeast ", "location: westeurope ", 1))
    code, out, err = run(capsys, "validate", "--json", "--region", str(region_copy))
    assert code == 2 and "Nothing was changed" in err
    bad = json.loads(out)
    assert bad["ok"] is False
    [problem] = [p for p in bad["problems"] if p["key"] == "region.location"]
    assert problem["file"] == str(region_copy) and isinstance(problem["line"], int)
    assert "norwayeast" in problem["message"] + problem["fix"]


def test_region_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "region", "--json", "--region", str(REPO / "region.yaml"))
    assert code == 0
    data = json.loads(out)
    slugs = [m["slug"] for m in data["region"]["municipalities"]]
    assert sorted(slugs) == ["andoy", "bo", "hadsel", "oksnes", "sortland"]
    assert set(data["cost_shares"]) == set(slugs)
    assert abs(sum(data["cost_shares"].values()) - 1) < 1e-9
    assert data["region"]["region"]["location"] == "norwayeast"


def test_outputs_json_masks_every_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, "x: {ansible_host: 127.0.0.1}")
    monkeypatch.setenv("ILAG_ROOT", str(root))
    code, out, err = run(capsys, "outputs", "--json", "--outputs", str(root / "outputs.json"))
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["source"] == str(root / "outputs.json")
    assert data["outputs"]["backup"]["container_sas_urls"] == {"andoy": MASK}
    assert data["outputs"]["backup"]["container_names"] == {"andoy": "backup-andoy"}
    assert data["outputs"]["identity"]["ssh_user_ca_public_key"].startswith("ssh-ed25519 ")
    assert SAS not in out and "TOPSECRET" not in out and PASSWORD not in out
    code, out, _ = run(
        capsys, "outputs", "andoy", "--json", "--outputs", str(root / "outputs.json")
    )
    data = json.loads(out)
    assert data["secrets"] == {"ilag_secrets": {"backup_sas_url": MASK, "restic_password": MASK}}
    assert data["public"]["ilag_municipality"] == "andoy"


def test_region_is_loaded_once_per_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, "x: {ansible_host: 127.0.0.1}")
    monkeypatch.setenv("ILAG_ROOT", str(root))
    loads: list[Path] = []
    real = region.load

    def counting(path: Path | str = region.DEFAULT_REGION_FILE) -> region.LoadedRegion:
        loads.append(Path(path))
        return real(path)

    monkeypatch.setattr(region, "load", counting)
    assert main(["outputs", "andoy", "--outputs", str(root / "outputs.json")]) == 0
    assert loads == [root / "region.yaml"]
    loads.clear()
    # The fixture repo has only andoy's inventory: validate refuses it, still reading once.
    assert main(["validate", "--region", str(root / "region.yaml")]) == 2
    assert loads == [root / "region.yaml"]
    ctx = Context("lab")
    assert ctx.region is ctx.region and ctx.slugs(["andoy"]) == ["andoy"]
    assert ctx.root == root and ctx.target.repo_root == root


def test_one_repository_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ILAG_ROOT", raising=False)
    monkeypatch.chdir(REPO / "src" / "ilag_infra")
    assert paths.repo_root() == REPO
    monkeypatch.chdir(tmp_path)  # no region.yaml above: the checkout the package runs from
    assert paths.repo_root() == REPO
    monkeypatch.setenv("ILAG_ROOT", str(tmp_path))
    assert paths.repo_root() == tmp_path.resolve()
    assert paths.region_file(tmp_path) == tmp_path / "region.yaml"


def test_apply_json_recap_with_ilag_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 on loopback: nothing listens, so the host is unreachable at once.
    root = make_repo(tmp_path, "andoy-gone: {ansible_host: 127.0.0.1, ansible_port: 9}")
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ILAG_ROOT", str(root))
    monkeypatch.setenv("ILAG_ENV", "prod")
    args = ["apply", "andoy", "--json", "--outputs", str(root / "outputs.json")]
    code, out, err = run(capsys, *args, "--playbook", str(root / "playbooks" / "probe.yml"))
    assert code == 1
    data: dict[str, Any] = json.loads(out)  # stdout is only the JSON; progress went to stderr
    assert data["env"] == "prod" and data["ok"] is False and data["check"] is False
    assert data["playbook"] == "probe.yml"
    [muni] = data["municipalities"]
    assert muni["slug"] == "andoy"
    assert [h["name"] for h in muni["hosts"]] == ["andoy-gone"]
    assert muni["hosts"][0]["status"] == "unreachable" and muni["hosts"][0]["unreachable"] >= 1
    assert data["problem_hosts"] == {"andoy": ["andoy-gone"]}
    assert len(data["records"]) == 1 and Path(data["records"][0]).is_file()
    assert "andoy: failed or unreachable: andoy-gone" in err
    assert SAS not in out + err and PASSWORD not in out + err


def test_preflight_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, "andoy-gone: {ansible_host: 127.0.0.1, ansible_port: 9}")
    monkeypatch.setenv("ILAG_ROOT", str(root))
    code, out, _ = run(capsys, "preflight", "andoy", "--env", "prod", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["env"] == "prod" and data["ok"] is False
    [host] = data["hosts"]
    assert (host["municipality"], host["host"], host["address"], host["port"]) == (
        "andoy",
        "andoy-gone",
        "127.0.0.1",
        9,
    )
    assert host["ok"] is False and host["problems"]
    assert set(host) == {
        "municipality",
        "host",
        "address",
        "port",
        "host_key",
        "python3",
        "sudo",
        "free_mib",
        "clock_skew_s",
        "ok",
        "problems",
        "warnings",
    }


def test_plan_json_keeps_stderr_clean_without_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No terminal here: no spinner, so stderr stays empty and stdout is only JSON.
    code, out, err = run(capsys, "plan", "-s", "network", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["stack"] == "network" and data["ok"] is True
    assert {"resources", "outputs", "violations", "policies_checked"} <= set(data)


def test_errors_pass_the_secrets_policy(capsys: pytest.CaptureFixture[str]) -> None:
    from ilag_infra.cli.app import report_error
    from ilag_infra.model.errors import IlagError, InputError, Problem

    assert report_error(IlagError(f"upload to {SAS} failed [x]")) == 1
    err = capsys.readouterr().err
    assert "TOPSECRET" not in err and f"sig={MASK}" in err and "[x]" in err
    problem = Problem("outputs.json", "backup", f"bad url {SAS}", "password=hunter2")
    assert report_error(InputError([problem])) == 2
    err = capsys.readouterr().err
    assert "TOPSECRET" not in err and "hunter2" not in err and "outputs.json" in err


def test_plan_reads_the_region_once_for_all_stacks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loads: list[Path] = []
    real = region.load

    def counting(path: Path | str = region.DEFAULT_REGION_FILE) -> region.LoadedRegion:
        loads.append(Path(path))
        return real(path)

    monkeypatch.setattr(region, "load", counting)
    code, out, _ = run(capsys, "plan", "--json", "--region", str(REPO / "region.yaml"))
    assert code == 0
    assert [d["stack"] for d in json.loads(out)] == ["network", "identity", "backup"]
    assert loads == [REPO / "region.yaml"]
