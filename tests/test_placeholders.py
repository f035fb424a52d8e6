"""Shipped placeholders cannot pass for production: one check for region.yaml and the stack
files, counted by plain `ilag validate`, refused by every production path, kept by the lab."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ilag_infra.azure import plan
from ilag_infra.azure.settings import StackConfigError
from ilag_infra.cli.app import main
from ilag_infra.model import placeholders

REPO = Path(__file__).resolve().parents[1]
SHIPPED_KEY = (REPO / "stacks" / "Pulumi.identity.yaml").read_text(encoding="utf-8")
SHIPPED_KEY = re.search(r"sshUserCaPublicKey: (.+)", SHIPPED_KEY).group(1)  # type: ignore[union-attr]
# A real ed25519 public key line (generated for this test; its private half was discarded).
REAL_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca@ilag"
)


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        ("198.51.100.10", True),
        ("198.51.100.0/28", True),
        ("2001:db8::1", True),
        ("00000000-0000-0000-0000-0000000000a1", True),
        (SHIPPED_KEY, True),
        ("drift@ilag.example", True),
        ("vpn.andoy.example.net", True),
        ("10.20.3.4", False),
        ("198.51.101.1", False),
        ("2a01:79d::1", False),
        ("3f2a1c9e-4b7d-4e1a-9c3b-2d5e6f708192", False),
        (REAL_KEY, False),
        ("drift@ilag.no", False),
        ("test", False),
        ("region.yaml", False),
        ("2027-06-30T00:00:00Z", False),
    ],
)
def test_one_check_decides(value: str, placeholder: bool) -> None:
    assert (placeholders.reason(value) is not None) == placeholder


def test_plain_validate_counts_the_placeholders(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--region", str(REPO / "region.yaml")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert re.search(r"\d+ placeholder\(s\) remain", out) and "production refuses them" in out
    assert "stacks/Pulumi.identity.yaml" in out
    assert main(["validate", "--json", "--region", str(REPO / "region.yaml")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["placeholders"] > 0
    keys = {p["key"] for p in data["placeholder_problems"]}
    assert {"ilag:operatorsGroupObjectId", "ilag:sshUserCaPublicKey"} <= keys


def _real_looking(tmp_path: Path) -> Path:
    """The repository's inputs with a real-looking region.yaml; the stack files as shipped."""
    text = (REPO / "region.yaml").read_text(encoding="utf-8")
    text = re.sub(
        r"00000000-0000-0000-0000-0000000018(\d\d)", r"3f2a1c9e-4b7d-4e1a-9c3b-2d5e6f7018\1", text
    )
    text = re.sub(r"198\.51\.100\.(\d+)", r"185.35.202.\1", text)
    text = text.replace(".example.net", ".kommune.no")
    (tmp_path / "region.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(REPO / "inventories", tmp_path / "inventories")
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    return tmp_path / "region.yaml"


def test_validate_prod_reads_the_stack_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    region_file = _real_looking(tmp_path)
    assert main(["validate", "--region", str(region_file)]) == 0
    capsys.readouterr()
    assert main(["validate", "--env", "prod", "--region", str(region_file)]) == 2
    err = capsys.readouterr().err
    assert "region.yaml" not in err.replace("stacks/", "")  # the region itself is clean
    for key in (
        "ilag:keyVaultAllowedIps[0]",
        "ilag:operatorsGroupObjectId",
        "ilag:sshUserCaPublicKey",
    ):
        assert "stacks/Pulumi.identity.yaml:" in err and key in err, key
    assert "ilag:storageAllowedIps[0]" in err


def test_plan_prod_refuses_naming_file_and_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--env", "prod", "--stack", "identity"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "stacks/Pulumi.identity.yaml:19: ilag:operatorsGroupObjectId" in err
    assert "ilag:sshUserCaPublicKey" in err and "Nothing was changed" in err


def test_the_program_itself_refuses_a_prod_stack() -> None:
    # The offline plan as production runs it: the program's own check, not the CLI's.
    network = plan.run("network", root=REPO).outputs  # the lab plan of the upstream stack
    with pytest.raises(StackConfigError) as caught:
        plan.run("identity", root=REPO, production=True, upstream={"network": network})
    keys = {p.key for p in caught.value.problems}
    assert {"ilag:keyVaultAllowedIps[0]", "ilag:operatorsGroupObjectId"} <= keys
    assert all(p.file == "stacks/Pulumi.identity.yaml" and p.line for p in caught.value.problems)


def test_the_lab_plans_the_examples() -> None:
    assert plan.run("identity", root=REPO).ok


def test_preview_refuses_before_the_engine() -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "ilag_infra.cli.app", "preview", "--stack", "backup"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "stacks/Pulumi.backup.yaml" in proc.stderr and "ilag:storageAllowedIps[0]" in proc.stderr
