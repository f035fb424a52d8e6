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


def test_a_loop_task_names_its_changed_items_and_shows_each_items_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One loop task writes several files (the roles do this to save a task per file): the
    progress must still say which files change and show each one's diff, in check mode too."""
    root = make_repo(tmp_path, LOCAL)
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    same, drifted, hidden = tmp_path / "same.conf", tmp_path / "drifted.conf", tmp_path / "key"
    same.write_text("a = 1\n")
    drifted.write_text("b = 1\n")
    (root / "playbooks" / "files.yml").write_text(f"""
- name: Files
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the configuration files
      ansible.builtin.copy:
        content: "{{{{ item.content }}}}"
        dest: "{{{{ item.dest }}}}"
        mode: "0644"
      loop:
        - {{dest: "{same}", content: "a = 1\\n"}}
        - {{dest: "{drifted}", content: "b = 2\\n"}}
      loop_control:
        label: "{{{{ item.dest }}}}"
    - name: Write a secret
      ansible.builtin.copy:
        content: "{{{{ item }}}}\\n"
        dest: "{hidden}"
        mode: "0600"
      loop: [s3cret-value]
      no_log: true
""")
    target = Target("prod", root, root / "outputs.json")
    seen: list[Progress] = []
    req = ApplyRequest("", root / "playbooks" / "files.yml", check=True, diff=True)
    outcome = apply_mod.apply(
        region.load(root / "region.yaml").model, target, ["andoy"], req, seen.append
    )
    assert outcome.ok, outcome.results
    changed = [p.task for p in seen if p.kind == "changed"]
    # A no_log loop's result is censored whole (Ansible keeps not even `changed`), so only the
    # recap counts it; its progress line says nothing of the value.
    assert changed == [f"Write the configuration files ({drifted})"], changed
    assert outcome.results[0].hosts["ctl-local"].changed == 2
    diffs = [p.detail for p in seen if p.kind == "diff"]
    assert len(diffs) == 1 and "-b = 1" in diffs[0] and "+b = 2" in diffs[0], diffs
    assert str(same) not in diffs[0]
    assert not any("s3cret" in p.detail or "s3cret" in p.task for p in seen)
    # Check mode: nothing was written.
    assert drifted.read_text() == "b = 1\n" and not hidden.exists()
