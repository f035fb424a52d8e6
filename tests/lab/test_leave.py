"""A municipality leaves (`ilag offboard --apply`): its config is gone from the repository, and
its backups stay in the lab's storage, readable by the operator and exportable with exactly
the commands the plan prints."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.onsite import operator

from .conftest import REPO, Lab

pytestmark = pytest.mark.lab
SLUG = "bo"
COPIED = ("region.yaml", "systems.yaml", "Pulumi.yaml", "inventories", "stacks", "roles")


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _restic_files(repo: str, env: dict[str, str], out: Path) -> dict[str, str]:
    """The newest snapshot's files, restored into out: path -> sha256."""
    subprocess.run(
        ["restic", "-r", repo, "restore", "latest", "--target", str(out)],
        env=env,
        check=True,
        capture_output=True,
    )
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_offboarded_municipality_is_gone_from_config_and_its_backups_export_byte_for_byte(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lab.apply([SLUG]).ok
    assert main(["backup", "run", SLUG]) == 0
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in COPIED:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, copy / name)
    region_arg = ["--region", str(copy / "region.yaml")]

    # The plan changes nothing.
    before = _tree(copy)
    capsys.readouterr()
    assert main(["offboard", SLUG, "--json", *region_arg]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert _tree(copy) == before

    # --apply: the municipality's config is gone and the region still validates.
    assert main(["offboard", SLUG, "--apply", *region_arg]) == 0
    assert main(["validate", *region_arg]) == 0
    assert not (copy / "inventories" / SLUG).exists()
    assert f"slug: {SLUG}\n" not in (copy / "region.yaml").read_text()
    capsys.readouterr()
    assert main(["offboard", SLUG, *region_arg]) == 2  # unknown now

    # Its backups are still in the storage: the operator runs the plan's own commands.
    backups = plan["backups"]
    with operator.access(lab.target, SLUG) as acc:
        env = {**os.environ, **acc.env}
        password = acc.env["RESTIC_PASSWORD_FILE"]

        def fill(step: str) -> list[str]:
            text = step.split("   #")[0]
            text = text.replace("$ILAG_OPERATOR_RCLONE_REMOTE", acc.remote)
            text = text.replace("<their repository>", str(tmp_path / "handover"))
            text = text.replace("<file with its restic password>", password)
            text = text.replace("<operators' archive>", str(tmp_path / "archive"))
            return shlex.split(text)

        listed = subprocess.run(
            fill(backups["keep_steps"][0]), env=env, capture_output=True, text=True
        )
        assert listed.returncode == 0, listed.stderr
        hosts = sorted(r.split("/")[1] for r in backups["repositories"])
        assert hosts and all(h in listed.stdout for h in hosts), listed.stdout

        for step in backups["export_steps"]:
            if step.startswith("#"):
                continue
            done = subprocess.run(fill(step), env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{step}\n{done.stderr[-600:]}"

        # The handed-over copy restores the same bytes as the region's repository.
        for host in hosts:
            source = f"rclone:{acc.remote}:{backups['container']}/{host}"
            theirs = str(tmp_path / "handover" / host)
            ours = _restic_files(source, env, tmp_path / "ours" / host)
            handed = _restic_files(theirs, env, tmp_path / "theirs" / host)
            assert ours and handed == ours, host
