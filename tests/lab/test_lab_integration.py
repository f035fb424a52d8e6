"""Integration tests on the lab's real Debian 12 hosts. Each checks what an operator would
check, from outside, without trusting Ansible's own report.

Order matters: the destructive cases (changed host key, cut network) come last.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ilag_infra import lab as lab_mod
from ilag_infra.cli.app import main
from ilag_infra.lab.azurite import DIRECT
from ilag_infra.onsite import preflight, ssh
from ilag_infra.onsite.hostlist import SshHost

from .conftest import REPO, Lab

pytestmark = pytest.mark.lab
ADMIN = "ilagadm"


def ssh_host(lab: Lab, h: object) -> SshHost:
    return SshHost(h.name, h.slug, h.ip, 22, "root", lab_mod.lab_paths().operator_key)  # type: ignore[attr-defined]


def on_host(lab: Lab, h: object, command: str, timeout: float = 120) -> tuple[int, str, str]:
    client = ssh.connect(ssh_host(lab, h), lab.target.known_hosts(h.slug))  # type: ignore[attr-defined]
    try:
        return ssh.run(client, command, timeout=timeout)
    finally:
        client.close()


def must(lab: Lab, h: object, command: str, timeout: float = 120) -> str:
    rc, out, err = on_host(lab, h, command, timeout)
    assert rc == 0, f"{h.name}: {command!r} exited {rc}: {err[-500:]}"  # type: ignore[attr-defined]
    return out


# 1. Converge everything; the second run changes nothing ---------------------------------------


def test_all_municipalities_converge_and_second_run_changes_nothing(
    lab: Lab, converged: tuple
) -> None:
    first, second = converged
    assert first.ok, first.problem_hosts
    assert second.ok, second.problem_hosts
    hosts = {h.name for h in lab.hosts()}
    assert {name for r in second.results for name in r.hosts} == hosts
    changed = {n: h.changed for r in second.results for n, h in r.hosts.items() if h.changed}
    assert changed == {}, f"second run changed something: {changed}"
    assert len(second.results) == 5


# 2. Verify from outside -------------------------------------------------------------------------


def test_sshd_effective_config_is_hardened(lab: Lab, converged: tuple) -> None:
    for h in lab.hosts():
        eff = must(lab, h, "sshd -T").lower().splitlines()
        for line in (
            "passwordauthentication no",
            "kbdinteractiveauthentication no",
            "permitrootlogin without-password",
            "x11forwarding no",
            "trustedusercakeys /etc/ssh/ilag_user_ca.pub",
            "authorizedprincipalsfile /etc/ssh/auth_principals/%u",
        ):
            assert line in eff, f"{h.name}: sshd -T lacks {line!r}"


def test_firewall_is_loaded_and_drops_what_is_not_allowed(lab: Lab, converged: tuple) -> None:
    for h in lab.hosts():
        ruleset = json.loads(must(lab, h, "nft -j list ruleset"))["nftables"]
        chains = [x["chain"] for x in ruleset if "chain" in x]
        assert any(c.get("hook") == "input" and c.get("policy") == "drop" for c in chains), h.name
    # Prove it by trying: a listener on a port nobody allowed is unreachable from the machine.
    h = lab.hosts("bo")[0]
    must(lab, h, "systemd-run --unit=ilag-probe-listener python3 -m http.server 8088")
    try:
        must(
            lab,
            h,
            "for i in $(seq 50); do ss -ltn | grep -q ':8088 ' && exit 0; sleep 0.1; done; exit 1",
        )
        with pytest.raises(OSError):
            socket.create_connection((h.ip, 8088), timeout=3).close()
        must(
            lab, h, "python3 -c \"import socket; socket.create_connection(('127.0.0.1', 8088), 3)\""
        )
    finally:
        on_host(lab, h, "systemctl stop ilag-probe-listener")


def test_backup_and_check_timers_are_enabled(lab: Lab, converged: tuple) -> None:
    for h in lab.hosts():
        out = must(
            lab,
            h,
            "systemctl is-enabled ilag-backup.timer ilag-backup-check.timer; "
            "systemctl is-active ilag-backup.timer ilag-backup-check.timer",
        )
        assert out.split() == ["enabled", "enabled", "active", "active"], (h.name, out)
        unit = must(lab, h, "systemctl cat ilag-backup.timer")
        assert "RandomizedDelaySec=" in unit


def test_resolver_forwards_the_internal_domain(lab: Lab, converged: tuple) -> None:
    domain = lab.loaded.model.region.dns_domain
    resolver = lab.outputs["network"]["resolver_inbound_ip"]  # type: ignore[index]
    for h in lab.hosts():
        conf = must(
            lab, h, "cat /etc/systemd/resolved.conf.d/*.conf 2>/dev/null; cat /etc/resolv.conf"
        )
        assert resolver in conf and domain in conf, (h.name, conf)


def test_principals_files_name_only_the_own_municipality(lab: Lab, converged: tuple) -> None:
    for h in lab.hosts():
        principals = must(lab, h, f"cat /etc/ssh/auth_principals/{ADMIN}").split()
        assert sorted(principals) == sorted([f"{h.slug}-tech", "region-admin"]), (
            h.name,
            principals,
        )


# 3. Backup, delete, restore: byte for byte --------------------------------------------------------


def test_backup_delete_restore_is_byte_identical_in_every_municipality(
    lab: Lab, converged: tuple
) -> None:
    for slug in lab.loaded.model.slugs:
        h = lab.hosts(slug)[0]
        must(
            lab,
            h,
            "mkdir -p /root/restore-probe && head -c 3000000 /dev/urandom > /root/restore-probe/data.bin"
            " && echo 'Vesterålen æøå' > /root/restore-probe/note.txt",
        )
        before = must(lab, h, "cd /root/restore-probe && sha256sum data.bin note.txt")
        must(lab, h, "systemctl start ilag-backup.service", timeout=600)
        must(lab, h, "rm -rf /root/restore-probe")
        must(
            lab,
            h,
            "set -a && . /etc/ilag-backup/env && rm -rf /tmp/restore && "
            "restic restore latest --target /tmp/restore --include /root/restore-probe",
            timeout=600,
        )
        after = must(lab, h, "cd /tmp/restore/root/restore-probe && sha256sum data.bin note.txt")
        assert after == before, f"{h.name}: restored files differ"
        must(lab, h, "rm -rf /tmp/restore")


def test_backup_status_is_fresh_and_flags_stale(
    lab: Lab, converged: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "run", "--all"]) == 0
    out = capsys.readouterr().out
    assert "STALE" not in out and out.count("fresh") >= len(lab.hosts())
    assert main(["backup", "status", "--all"]) == 0
    capsys.readouterr()
    # Anything older than a second is stale: exit 1, every host named.
    time.sleep(1.5)
    assert main(["backup", "status", "--all", "--max-age", "0.0001"]) == 1
    assert "stale or failed:" in capsys.readouterr().out


def test_restore_test_playbook_verifies_canary(lab: Lab, converged: tuple) -> None:
    # Runs after `backup run --all` above, so every backup client has a snapshot to restore.
    outcome = lab.apply(playbook="restore-test")
    assert outcome.ok, outcome.problem_hosts


# 4. One municipality's SAS cannot reach another's container ---------------------------------


def test_sortland_sas_cannot_list_or_read_andoy(lab: Lab, converged: tuple) -> None:
    sas = lab.outputs["backup"]["container_sas_urls"]  # type: ignore[index]
    names = lab.outputs["backup"]["container_names"]  # type: ignore[index]
    sortland, andoy = sas["sortland"], names["andoy"]
    base, query = sortland.split("?", 1)
    foreign = base.rsplit("/", 1)[0] + "/" + andoy
    # The own container works, so the 403 below is about scope, not a broken SAS.
    with DIRECT.open(f"{base}?restype=container&comp=list&{query}", timeout=10) as r:
        assert r.status == 200
    for url in (f"{foreign}?restype=container&comp=list&{query}", f"{foreign}/config?{query}"):
        with pytest.raises(urllib.error.HTTPError) as info:
            DIRECT.open(url, timeout=10)
        assert info.value.code == 403, url


# 5. SSH certificates as the access boundary ----------------------------------------------------


def _cert(tmp: Path, principal: str) -> Path:
    key = tmp / principal
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-s",
            str(lab_mod.lab_paths().user_ca_key),
            "-I",
            f"test-{principal}",
            "-n",
            principal,
            "-V",
            "+10m",
            f"{key}.pub",
        ],
        check=True,
    )
    return key


def _login(lab: Lab, key: Path, h: object) -> tuple[bool, str]:
    proc = subprocess.run(
        [
            "ssh",
            "-i",
            str(key),
            "-o",
            f"CertificateFile={key}-cert.pub",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={lab.target.known_hosts(h.slug)}",  # type: ignore[attr-defined]
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            f"{ADMIN}@{h.ip}",
            "id -un",
        ],  # type: ignore[attr-defined]
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    ok = proc.returncode == 0 and proc.stdout.strip() == ADMIN
    if ok:
        return True, ""
    # Keep sshd's side of the story for the failure message.
    _, journal, _ = on_host(
        lab,
        h,
        "journalctl -u ssh --no-pager -n 8 -o cat; ls -l --time-style=full-iso /run/nologin; "
        "systemctl status --no-pager -n 20 systemd-user-sessions; uptime",
    )
    return False, f"client: {proc.stderr[-400:]}\nsshd: {journal}"


def test_andoy_tech_opens_only_andoy_and_region_admin_opens_all(
    lab: Lab, converged: tuple, tmp_path: Path
) -> None:
    andoy_tech = _cert(tmp_path, "andoy-tech")
    region_admin = _cert(tmp_path, "region-admin")
    for h in lab.hosts("andoy"):
        ok, why = _login(lab, andoy_tech, h)
        assert ok, f"andoy-tech refused on {h.name}: {why}"
    for h in lab.hosts("sortland"):
        ok, _ = _login(lab, andoy_tech, h)
        assert not ok, f"andoy-tech got into {h.name}"
    for h in lab.hosts():
        ok, why = _login(lab, region_admin, h)
        assert ok, f"region-admin refused on {h.name}: {why}"


# Check mode and first contact ------------------------------------------------------------------


def test_check_mode_on_a_converged_municipality_changes_nothing(lab: Lab, converged: tuple) -> None:
    outcome = lab.apply(["sortland"], check=True, diff=True)
    assert outcome.ok, outcome.problem_hosts
    assert {n: h.changed for r in outcome.results for n, h in r.hosts.items()} == {
        h.name: 0 for h in lab.hosts("sortland")
    }


def test_bootstrap_pins_only_the_confirmed_fingerprint(
    lab: Lab, converged: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    h = lab.hosts("andoy")[1]
    kh = lab.target.known_hosts("andoy")
    original = kh.read_text()
    # The fingerprint an operator reads on the server's console: the key the lab generated.
    proc = subprocess.run(
        ["ssh-keygen", "-lf", "-"],
        input=h.host_public_key,
        text=True,
        capture_output=True,
        check=True,
    )
    console_fp = proc.stdout.split()[1]
    kh.write_text(
        "".join(ln for ln in original.splitlines(True) if not ln.startswith(h.name + ","))
    )
    try:
        assert main(["bootstrap", h.name, "--fingerprint", "SHA256:not-the-right-one"]) == 1
        assert "Fingerprints differ: not pinned" in capsys.readouterr().out
        assert h.name not in kh.read_text()
        assert main(["bootstrap", h.name, "--fingerprint", console_fp]) == 0
        assert "pinned" in capsys.readouterr().out
        assert all(c.ok for c in preflight.preflight(lab.target, ["andoy"]))
        assert main(["bootstrap", h.name, "--fingerprint", console_fp]) == 0
        assert "already pinned" in capsys.readouterr().out
    finally:
        kh.write_text(original)


# 8. Two applies on one municipality never interleave ------------------------------------------


def test_concurrent_applies_on_one_municipality_do_not_interleave(
    lab: Lab, converged: tuple
) -> None:
    results: dict[str, object] = {}

    def go(name: str, wait: float) -> None:
        results[name] = lab.apply(["hadsel"], wait=wait)

    first = threading.Thread(target=go, args=("first", 0.0))
    first.start()
    time.sleep(1.0)
    refused = lab.apply(["hadsel"])  # no waiting: refused while the first holds the lock
    waiter = threading.Thread(target=go, args=("second", 600.0))
    waiter.start()
    first.join()
    waiter.join()
    (r,) = refused.results
    assert r.status == "locked" and "already being applied" in r.messages[""]
    a, b = results["first"].results[0], results["second"].results[0]  # type: ignore[attr-defined]
    assert a.succeeded and b.succeeded
    assert b.started >= a.finished, "the waiting run started before the first one finished"


# 6. A changed host key is refused by preflight and apply ----------------------------------------


def test_changed_host_key_is_refused_by_preflight_and_apply(lab: Lab, converged: tuple) -> None:
    victim = lab.hosts("oksnes")[0]
    lab_mod.regenerate_host_key(victim.name)
    try:
        checks = preflight.preflight(lab.target, ["oksnes"])
        bad = {c.host.name: c for c in checks if not c.ok}
        assert list(bad) == [victim.name]
        assert bad[victim.name].host_key == "MISMATCH"
        assert "HOST KEY MISMATCH" in bad[victim.name].problems[0]
        outcome = lab.apply(["oksnes"])
        assert not outcome.ok
        assert outcome.problem_hosts == {"oksnes": [victim.name]}
    finally:
        # Re-pin the new key (as an operator would after verifying it) for the tests after.
        key = ssh.fetch_host_key(victim.ip)
        ssh.pin(lab.target.known_hosts("oksnes"), ssh_host(lab, victim), key, replace=True)
    assert all(c.ok for c in preflight.preflight(lab.target, ["oksnes"]))


# 7. One municipality cut off during apply --all -------------------------------------------------


def test_cut_off_municipality_fails_alone_and_recovers(
    lab: Lab, converged: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = "bo"
    before = set(lab.runs_dir.glob("*.json"))
    lab_mod.cut(cut)
    try:
        code = main(["apply", "--all", "--mitogen"])
        out = capsys.readouterr().out
    finally:
        lab_mod.reconnect(cut)
    assert code == 1
    names = sorted(h.name for h in lab.hosts(cut))
    assert f"{cut}: failed or unreachable: {', '.join(names)}" in out
    # The run left one record per municipality, all five, under one run id.
    records = [json.loads(p.read_text()) for p in set(lab.runs_dir.glob("*.json")) - before]
    by_slug = {rec["municipality"]: rec for rec in records}
    assert len(records) == 5
    assert set(by_slug) == set(lab.loaded.model.slugs)
    assert len({rec["run_id"] for rec in records}) == 1
    for slug, rec in by_slug.items():
        assert rec["environment"] == "lab"
        assert set(rec["hosts"]) == {h.name for h in lab.hosts(slug)}, slug
        if slug == cut:
            assert rec["unreachable_hosts"] == names
            assert rec["status"] != "ok"
        else:
            assert rec["failed_hosts"] == [] and rec["unreachable_hosts"] == [], slug
    # Reconnected, the municipality converges again and its record says so for every host.
    rerun = lab.apply([cut])
    assert rerun.ok, rerun.problem_hosts
    (record,) = [json.loads(p.read_text()) for p in rerun.records]
    assert record["municipality"] == cut and record["run_id"] == rerun.run_id
    assert sorted(record["hosts"]) == names
    assert record["failed_hosts"] == [] and record["unreachable_hosts"] == []


def test_diff_check_shows_what_a_role_change_would_do_on_lab_hosts(
    lab: Lab, converged: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pull request in a scratch worktree: one role default changes (no commit needed,
    # the work tree is the head).
    wt = tmp_path / "pr"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(wt), "HEAD"],
        check=True,
        capture_output=True,
    )
    try:
        defaults = wt / "roles" / "baseline" / "defaults" / "main.yml"
        text = defaults.read_text()
        assert "baseline__sshd_max_auth_tries: 3\n" in text
        defaults.write_text(
            text.replace("baseline__sshd_max_auth_tries: 3\n", "baseline__sshd_max_auth_tries: 4\n")
        )
        monkeypatch.setenv("ILAG_ROOT", str(wt))
        monkeypatch.chdir(wt)
        report = tmp_path / "diff.json"
        assert (
            main(["diff", "--base", "HEAD", "--check", "--format", "json", "-o", str(report)]) == 0
        )
        check = json.loads(report.read_text())["check"]
        assert check["ran"] is True
        assert set(check["municipalities"]) == set(lab.loaded.model.slugs)
        for slug, hosts in check["municipalities"].items():
            assert {h["host"] for h in hosts} == {h.name for h in lab.hosts(slug)}
            for h in hosts:
                assert any("sshd" in t.lower() for t in h["changed_tasks"]), (slug, h)
                assert any("MaxAuthTries 4" in d for d in h["diffs"]), (slug, h["diffs"])
        # Check mode changed nothing on the hosts themselves.
        assert "maxauthtries 3" in must(lab, lab.hosts("andoy")[0], "sshd -T").lower()
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(wt)],
            check=False,
            capture_output=True,
        )


# 9. Last: no secret in any artifact, record or log that every run above left behind -------------------------------------------------------


def test_no_secret_in_artifacts_records_or_logs(lab: Lab, converged: tuple) -> None:
    secrets = [s.encode() for s in lab.secrets()]
    assert len(secrets) >= 10
    files = [p for p in lab.runs_dir.rglob("*") if p.is_file()]
    assert any(p.name == "command" for p in files) and any(p.suffix == ".json" for p in files)
    leaks = [str(p) for p in files for s in secrets if s in p.read_bytes()]
    assert leaks == []
    for h in lab.hosts():
        journal = must(
            lab,
            h,
            "journalctl --no-pager -o cat -u ilag-backup.service "
            "-u ilag-backup-check.service; cat /var/lib/ilag-backup/status.json",
        )
        assert not [s for s in secrets if s in journal.encode()], f"secret in {h.name}'s logs"
