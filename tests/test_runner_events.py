"""Event files on disk: only the recap unless asked for, and the recap still counts every host.

Real ansible-playbook runs through ansible-runner on this machine (local connection).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.model import region
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite.runner import ApplyRequest, Progress
from ilag_infra.onsite.targets import Target
from tests.test_ansible_runner_wrapper import make_repo

LOCAL = (
    "ctl-local: {ansible_connection: local, "
    "ansible_python_interpreter: '{{ ansible_playbook_python }}'}"
)


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: bool) -> tuple[list[str], int]:
    root = make_repo(tmp_path, LOCAL)
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    target = Target("prod", root, root / "outputs.json")
    seen: list[Progress] = []
    req = ApplyRequest("", root / "playbooks" / "probe.yml", keep_event_files=keep)
    outcome = apply_mod.apply(
        region.load(root / "region.yaml").model, target, ["andoy"], req, seen.append
    )
    assert outcome.ok, outcome.results
    (result,) = outcome.results
    # Progress still sees every task, whatever lands on disk.
    assert [p.kind for p in seen].count("task") == 2
    events = Path(result.artifact_dir).rglob("job_events/*.json")
    names = sorted(p.name.split("-", 1)[0] for p in events)
    return names, result.hosts["ctl-local"].changed


def test_only_the_recap_event_is_written_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names, changed = _run(tmp_path, monkeypatch, keep=False)
    assert changed == 1
    assert len(names) == 1, names
    recap = next((tmp_path / "runs").rglob("job_events/*.json")).read_text()
    assert '"playbook_on_stats"' in recap and '"ctl-local"' in recap


def test_every_event_is_written_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names, changed = _run(tmp_path, monkeypatch, keep=True)
    assert changed == 1
    # playbook start, play start, two task starts, two results, the recap, at least.
    assert len(names) >= 7, names
