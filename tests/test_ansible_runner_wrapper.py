"""The ansible-runner wrapper: events, recap, exit codes, the lock, and secrets kept off disk.

The run tests execute real ansible-playbook runs through ansible-runner against this machine
(local connection) and against a closed loopback port (unreachable).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.model import region
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite.lock import LockedError, municipality_lock
from ilag_infra.onsite.runner import ApplyRequest, EventSink, Progress, hosts_from_stats
from ilag_infra.onsite.targets import Target

REPO = Path(__file__).resolve().parent.parent
SAS = "https://stilag.blob.core.windows.net/backup-andoy?sv=2022-11-02&sig=TOPSECRETsig%3D"
PASSWORD = "restic-pass-9f8e7d6c5b4a"


def test_event_sink_reports_progress_and_keeps_stats() -> None:
    seen: list[Progress] = []
    sink = EventSink("andoy", seen.append, show_diff=False)
    events = [
        {"event": "playbook_on_task_start", "event_data": {"task": "Set timezone"}},
        {
            "event": "runner_on_ok",
            "event_data": {"host": "a1", "task": "Set timezone", "res": {"changed": True}},
        },
        {
            "event": "runner_on_failed",
            "event_data": {"host": "a2", "task": "Set timezone", "res": {"msg": "boom"}},
        },
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "a3",
                "task": "Secret",
                "res": {"censored": "hidden", "msg": SAS},
            },
        },
        {
            "event": "runner_on_unreachable",
            "event_data": {"host": "a4", "task": "Gather", "res": {"msg": "timed out"}},
        },
        {
            "event": "playbook_on_stats",
            "event_data": {
                "ok": {"a1": 3},
                "changed": {"a1": 1},
                "failures": {"a2": 1},
                "dark": {"a4": 1},
            },
        },
    ]
    assert all(sink(e) is True for e in events)
    kinds = [(p.kind, p.host) for p in seen]
    assert kinds == [
        ("task", ""),
        ("changed", "a1"),
        ("failed", "a2"),
        ("failed", "a3"),
        ("unreachable", "a4"),
    ]
    assert sink.messages == {"a2": "boom", "a3": "output hidden (no_log)", "a4": "timed out"}
    hosts = hosts_from_stats(sink.stats)
    assert hosts["a1"].status == "changed" and hosts["a2"].status == "failed"
    assert hosts["a4"].status == "unreachable"
    assert SAS not in repr(seen)


def test_lock_refuses_a_second_run_and_names_the_holder(tmp_path: Path) -> None:
    with municipality_lock(tmp_path, "andoy", "run-1"):
        with pytest.raises(LockedError) as info, municipality_lock(tmp_path, "andoy", "run-2"):
            pass
        assert "run run-1" in str(info.value) and "--wait" in str(info.value)
        with municipality_lock(tmp_path, "bo", "run-3"):
            pass  # another municipality is independent


def test_lock_waits_when_asked(tmp_path: Path) -> None:
    order: list[str] = []

    def holder() -> None:
        with municipality_lock(tmp_path, "andoy", "first"):
            order.append("first-in")
            time.sleep(1.0)
            order.append("first-out")

    t = threading.Thread(target=holder)
    t.start()
    time.sleep(0.2)
    with municipality_lock(tmp_path, "andoy", "second", wait=10):
        order.append("second-in")
    t.join()
    assert order == ["first-in", "first-out", "second-in"]


def make_repo(tmp_path: Path, host_line: str) -> Path:
    """A small repo: the real region, one inventory host, and a playbook using the secrets."""
    root = tmp_path / "repo"
    (root / "inventories" / "andoy").mkdir(parents=True)
    shutil.copy(REPO / "region.yaml", root / "region.yaml")
    (root / "inventories" / "region.yml").write_text("all:\n  hosts: {}\n")
    (root / "inventories" / "andoy" / "hosts.yml").write_text(
        f"all:\n  children:\n    andoy:\n      hosts:\n        {host_line}\n"
    )
    (root / "inventories" / "andoy" / "known_hosts").write_text("")
    (root / "ansible.cfg").write_text("[defaults]\ngathering = explicit\n")
    (root / "playbooks").mkdir()
    (root / "playbooks" / "probe.yml").write_text(f"""
- name: Probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the SAS where only root can read it
      ansible.builtin.copy:
        content: "{{{{ ilag_secrets.backup_sas_url }}}}"
        dest: "{tmp_path}/written-secret"
        mode: "0600"
      no_log: true
    - name: Say which municipality
      ansible.builtin.debug:
        msg: "{{{{ ilag_municipality }}}} uses {{{{ ilag_outputs.container_name }}}}"
""")
    outputs = {
        "network": {"resolver_inbound_ip": "10.20.3.4"},
        "identity": {"ssh_user_ca_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ test-ca"},
        "backup": {
            "blob_endpoint": "https://stilag.blob.core.windows.net/",
            "container_names": {"andoy": "backup-andoy"},
            "container_sas_urls": {"andoy": SAS},
        },
        "lab": {"restic_passwords": {"andoy": PASSWORD}},
    }
    (root / "outputs.json").write_text(json.dumps(outputs))
    return root


def test_real_run_keeps_secrets_out_of_artifacts_and_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(
        tmp_path,
        "ctl-local: {ansible_connection: local, "
        "ansible_python_interpreter: '{{ ansible_playbook_python }}'}",
    )
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    target = Target("prod", root, root / "outputs.json")
    loaded = region.load(root / "region.yaml")
    seen: list[Progress] = []
    req = ApplyRequest("", root / "playbooks" / "probe.yml")
    outcome = apply_mod.apply(loaded.model, target, ["andoy"], req, seen.append)
    assert outcome.ok, outcome.results
    (result,) = outcome.results
    assert result.hosts["ctl-local"].changed == 1
    # The secret reached the task...
    assert (tmp_path / "written-secret").read_text() == SAS
    # ...but nothing the run left on disk holds it or the restic password.
    leaked = [
        p
        for p in (tmp_path / "runs").rglob("*")
        if p.is_file() and (SAS.encode() in p.read_bytes() or PASSWORD.encode() in p.read_bytes())
    ]
    assert leaked == []
    record = json.loads(outcome.records[0].read_text())
    assert record["municipality"] == "andoy" and record["environment"] == "prod"
    assert record["hosts"]["ctl-local"]["changed"] == 1
    assert record["who"] and record["git_commit"]
    # The run's temporary secrets file is gone (other runs on this machine may have their own).
    left = [f for d in Path("/dev/shm").glob("ilag-secrets-*") for f in d.glob("*")]
    assert not [f for f in left if SAS.encode() in f.read_bytes()]
    # Host key checking is on in what ansible-runner actually ran.
    command = json.loads(next((tmp_path / "runs").rglob("command")).read_text())
    assert command["env"]["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert "StrictHostKeyChecking=yes" in command["env"]["ANSIBLE_SSH_ARGS"]
    # ...and in the run's ssh_config, the only place a ProxyJump hop reads it from.
    first, config = command["env"]["ANSIBLE_SSH_ARGS"].split()[:2]
    assert (first, Path(config).name) == ("-F", "ssh_config")


def test_unreachable_host_exits_1_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 on loopback: nothing listens, so the host is unreachable at once.
    root = make_repo(tmp_path, "andoy-gone: {ansible_host: 127.0.0.1, ansible_port: 9}")
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ILAG_ROOT", str(root))
    code = main(
        [
            "apply",
            "andoy",
            "--env",
            "prod",
            "--outputs",
            str(root / "outputs.json"),
            "--playbook",
            str(root / "playbooks" / "probe.yml"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "andoy: failed or unreachable: andoy-gone" in out
    assert "Recap" in out


def test_unknown_municipality_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ILAG_ROOT", str(REPO))
    assert main(["apply", "tromso"]) == 2
    assert "unknown municipality 'tromso'" in capsys.readouterr().err


def test_lab_host_pattern_keeps_every_limited_host_inside_the_lab() -> None:
    lab, prod = Target("lab", REPO), Target("prod", REPO)
    assert lab.host_pattern(None) == "ilag_lab"
    # (a or b) and ilag_lab; never "ilag_lab:&a,b", which would select b unguarded.
    assert lab.host_pattern("andoy-fil01,andoy-util01") == "andoy-fil01,andoy-util01,&ilag_lab"
    assert prod.host_pattern(None) is None
    assert prod.host_pattern("andoy-fil01") == "andoy-fil01"


def test_outputs_for_an_unknown_municipality_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = make_repo(tmp_path, "x: {ansible_host: 127.0.0.1}")
    monkeypatch.setenv("ILAG_ROOT", str(root))
    code = main(["outputs", "tromso", "--outputs", str(root / "outputs.json")])
    assert code == 2
    assert "unknown municipality 'tromso'" in capsys.readouterr().err
    code = main(["outputs", "andoy", "--json", "--outputs", str(root / "outputs.json")])
    out = capsys.readouterr().out
    assert code == 0 and SAS not in out and PASSWORD not in out and "[secret]" in out


def test_secret_dirs_of_killed_runs_are_swept(tmp_path: Path) -> None:
    from ilag_infra.onsite.runner import sweep_secret_dirs

    dead = tmp_path / "ilag-secrets-999999999-abcd"  # no such pid
    alive = tmp_path / f"ilag-secrets-{os.getpid()}-efgh"
    for d in (dead, alive):
        d.mkdir()
        (d / "vars.json").write_text(SAS)
    assert sweep_secret_dirs(tmp_path) == [dead]
    assert not dead.exists() and alive.exists()
