"""In-place restore without a lab: the swap's shell (run here with the real sh and mv), the
refusal of overlapping paths, and the record a failed restore leaves."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ilag_infra.model.errors import IlagError, InputError
from ilag_infra.onsite import restore
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target

HOST = SshHost("andoy-fil01", "andoy", "10.250.5.11", 22, "root", None)


def sh(line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=30)


def tree(tmp: Path, name: str, text: str) -> Path:
    (tmp / name).mkdir(parents=True)
    (tmp / name / "fil.txt").write_text(text)
    return tmp / name


def test_two_paths_in_one_folder_each_swap_in_and_keep_the_live_version(tmp_path: Path) -> None:
    srv = tmp_path / "srv"
    live = {p: tree(srv, p, f"live {p}") for p in ("a", "b")}
    staged = {p: tree(tmp_path / f"stage-{p}" / "srv", p, f"snapshot {p}") for p in ("a", "b")}
    for p in ("a", "b"):
        done = sh(restore.swap_line(str(live[p]), f"{live[p]}.ilag-before-x", str(staged[p])))
        assert done.returncode == 0 and done.stdout.strip() == "kept", done.stderr
    for p in ("a", "b"):
        assert (srv / p / "fil.txt").read_text() == f"snapshot {p}"
        assert (srv / f"{p}.ilag-before-x" / "fil.txt").read_text() == f"live {p}"


def test_a_failed_second_move_puts_the_live_version_back(tmp_path: Path) -> None:
    live = tree(tmp_path, "a", "live")
    done = sh(restore.swap_line(str(live), f"{live}.ilag-before-x", str(tmp_path / "gone")))
    assert done.returncode != 0 and "put back" in done.stderr
    assert (live / "fil.txt").read_text() == "live"
    assert not Path(f"{live}.ilag-before-x").exists()


def test_a_path_that_does_not_exist_live_is_simply_swapped_in(tmp_path: Path) -> None:
    staged = tree(tmp_path / "stage", "a", "snapshot")
    done = sh(restore.swap_line(str(tmp_path / "a"), f"{tmp_path}/a.ilag-before-x", str(staged)))
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert (tmp_path / "a" / "fil.txt").read_text() == "snapshot"


@pytest.mark.parametrize(
    "paths", [["/srv", "/srv/a"], ["/srv/a", "/srv"], ["/srv/a", "/srv/a/"], ["/etc", "/etc"]]
)
def test_in_place_refuses_nested_or_repeated_paths_before_reaching_any_host(
    paths: list[str], tmp_path: Path
) -> None:
    # An empty lab directory: reaching for a host would fail differently (exit 2 naming the lab).
    target = Target("lab", tmp_path, None, None)
    req = restore.RestoreRequest("andoy-fil01", paths, in_place=True)
    with pytest.raises(InputError) as err:
        restore.restore(target, ["andoy"], req)
    assert "overlap" in str(err.value) and err.value.exit_code == 2


def test_siblings_with_a_common_prefix_do_not_overlap() -> None:
    restore.refuse_overlap(["/srv/a", "/srv/ab", "/etc"])


def test_a_failed_restore_leaves_a_redacted_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    target = Target("lab", tmp_path, None, None)
    secret = "https://x.blob/c?sv=1&sig=SECRETSIG123 password=hunter22"
    with (
        pytest.raises(IlagError),
        restore.recorded_failure(target, "restore", HOST, ["/srv/a"], True, 0.0),
    ):
        raise IlagError(f"swap failed: {secret}")
    [record] = (tmp_path / "runs").glob("*-restore-andoy-fil01.json")
    data = json.loads(record.read_text())
    assert data["ok"] is False and data["paths"] == ["/srv/a"] and "swap failed" in data["error"]
    assert "SECRETSIG123" not in record.read_text() and "hunter22" not in record.read_text()


def test_bad_input_during_a_restore_leaves_no_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    target = Target("lab", tmp_path, None, None)
    with (
        pytest.raises(InputError),
        restore.recorded_failure(target, "restore", HOST, ["/srv/a"], True, 0.0),
    ):
        raise InputError([])
    assert not (tmp_path / "runs").exists()
