"""The security baseline on the lab's real Debian 12 hosts, checked from outside over SSH.

Every control is judged live by `ilag audit` (sshd -T, sysctl, modprobe, the session's own
umask and core limit...); the tests here add what an auditor tries by hand: weak clients are
refused, every client the project uses still gets in, and a control undone on a host makes
the audit fail until the next converge puts it back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ilag_infra import lab as lab_mod
from ilag_infra.cli.app import main
from ilag_infra.onsite import audit, preflight, ssh
from ilag_infra.onsite.hostlist import SshHost

from .conftest import Lab

pytestmark = pytest.mark.lab
ADMIN = "ilagadm"
REPO = Path(__file__).resolve().parents[2]


def ssh_host(h: object) -> SshHost:
    return SshHost(h.name, h.slug, h.ip, 22, "root", lab_mod.lab_paths().operator_key)  # type: ignore[attr-defined]


def on_host(lab: Lab, h: object, command: str) -> str:
    client = ssh.connect(ssh_host(h), lab.target.known_hosts(h.slug))  # type: ignore[attr-defined]
    try:
        rc, out, err = ssh.run(client, command, timeout=120)
    finally:
        client.close()
    assert rc == 0, f"{h.name}: {command!r} exited {rc}: {err[-400:]}"  # type: ignore[attr-defined]
    return out


def openssh(
    lab: Lab, h: object, *options: str, user: str = "root", key: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The OpenSSH client with the pinned known_hosts only, plus the given -o options."""
    args = [
        "ssh",
        "-i",
        str(key or lab_mod.lab_paths().operator_key),
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
    ]
    for option in options:
        args += ["-o", option]
    args += [f"{user}@{h.ip}", "id -un"]  # type: ignore[attr-defined]
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


def run_audit(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    rc = main(["audit", *args, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_second_converge_changes_nothing(lab: Lab, converged: tuple) -> None:  # type: ignore[type-arg]
    first, second = converged
    assert first.ok, first.problem_hosts
    assert second.ok, second.problem_hosts
    changed = {n: h.changed for r in second.results for n, h in r.hosts.items() if h.changed}
    assert changed == {}, f"second run changed something: {changed}"


def test_audit_passes_every_control_on_every_converged_host(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, doc = run_audit(["--all"], capsys)
    hosts = {h.name for h in lab.hosts()}
    assert {h["host"] for h in doc["hosts"]} == hosts
    problems = [
        (h["host"], c["control"], c["evidence"])
        for h in doc["hosts"]
        for c in h["controls"]
        if c["verdict"] == "fail"
    ]
    assert problems == [] and rc == 0 and doc["ok"], problems
    allowed_na = {c.id for c in audit.CONTROLS if c.container_na}
    for h in doc["hosts"]:
        assert h["container"] is True and h["error"] is None
        assert [c["control"] for c in h["controls"]] == [c.id for c in audit.CONTROLS]
        for c in h["controls"]:
            if c["verdict"] == "n/a":
                assert c["control"] in allowed_na, (h["host"], c)
                assert "container" in c["evidence"]
    # What must hold in a container too, checked through the live values the audit saw.
    first = {c["control"]: c for c in doc["hosts"][0]["controls"]}
    assert first["session-umask"]["evidence"].endswith("0027")
    assert first["core-limit"]["evidence"].endswith(" 0")
    assert "kexalgorithms sntrup761x25519-sha512@openssh.com" in first["ssh-kex"]["evidence"]
    assert first["sysctl-network"]["verdict"] == "pass"


def test_sshd_refuses_nist_kex_and_sha1_macs(lab: Lab, converged: tuple) -> None:  # type: ignore[type-arg]
    for h in lab.hosts():
        eff = on_host(lab, h, "sshd -T").lower()
        for weak in ("ecdh-sha2-nistp", "hmac-sha1", "diffie-hellman-group14", "ssh-rsa,", "ecdsa"):
            assert weak not in eff, f"{h.name}: sshd -T still offers {weak}"
        proc = openssh(lab, h, "KexAlgorithms=ecdh-sha2-nistp256")
        assert proc.returncode == 255 and "no matching key exchange method" in proc.stderr, (
            h.name,
            proc.stderr[-300:],
        )
        # With an AEAD cipher (chacha20, GCM) no MAC is negotiated at all, so a client that
        # offers only hmac-sha1 must also be kept to a MAC-using cipher to show the refusal.
        proc = openssh(lab, h, "MACs=hmac-sha1", "Ciphers=aes128-ctr")
        assert proc.returncode == 255 and "no matching MAC found" in proc.stderr, (
            h.name,
            proc.stderr[-300:],
        )
        proc = openssh(lab, h, "HostKeyAlgorithms=ecdsa-sha2-nistp256")
        assert proc.returncode == 255 and "no matching host key type" in proc.stderr


def _cert(tmp: Path, principal: str) -> Path:
    key = tmp / principal
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    ca = str(lab_mod.lab_paths().user_ca_key)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-s",
            ca,
            "-I",
            f"t-{principal}",
            "-n",
            principal,
            "-V",
            "+10m",
            f"{key}.pub",
        ],
        check=True,
    )
    return key


def test_every_client_the_project_uses_still_connects(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    andoy = lab.hosts("andoy")
    cert = _cert(tmp_path, "region-admin")
    for h in lab.hosts():
        # OpenSSH with its defaults, and a certificate login of an admin account.
        proc = openssh(lab, h)
        assert proc.returncode == 0 and proc.stdout.strip() == "root", proc.stderr[-300:]
        assert "Kun for autorisert bruk" in proc.stderr, "no legal banner before login"
        proc = openssh(lab, h, f"CertificateFile={cert}-cert.pub", user=ADMIN, key=cert)
        assert proc.returncode == 0 and proc.stdout.strip() == ADMIN, proc.stderr[-300:]
        # paramiko, as preflight uses it: pinned key, and what it negotiated.
        client = ssh.connect(ssh_host(h), lab.target.known_hosts(h.slug))  # type: ignore[attr-defined]
        try:
            t = client.get_transport()
            assert t is not None
            assert t.host_key_type == "ssh-ed25519"
            assert t.remote_mac.endswith("-etm@openssh.com"), t.remote_mac
            assert b"Authorised use only" in (t.get_banner() or b"")
        finally:
            client.close()
        # paramiko, as bootstrap uses it: the key it reads unauthenticated is the pinned one.
        key = ssh.fetch_host_key(h.ip)  # type: ignore[attr-defined]
        pinned = ssh.pinned_keys(lab.target.known_hosts(h.slug), ssh_host(h))  # type: ignore[attr-defined]
        assert any(p.asbytes() == key.asbytes() for p in pinned), h.name  # type: ignore[attr-defined]
    assert all(c.ok for c in preflight.preflight(lab.target, ["andoy"])), "preflight failed"
    # Mitogen (over the OpenSSH client) applies the baseline and finds nothing to change.
    outcome = lab.apply(["andoy"], playbook="baseline")
    assert outcome.ok, outcome.problem_hosts
    assert {n: h.changed for r in outcome.results for n, h in r.hosts.items()} == {
        h.name: 0
        for h in andoy  # type: ignore[attr-defined]
    }


def test_a_control_undone_by_hand_fails_the_audit_until_the_next_converge(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    capsys: pytest.CaptureFixture[str],
) -> None:
    h = lab.hosts("sortland")[0]
    on_host(
        lab,
        h,
        "sed -i 's/^MACs .*/MACs hmac-sha1,hmac-sha2-256-etm@openssh.com/' "
        "/etc/ssh/sshd_config.d/10-ilag-hardening.conf && systemctl reload ssh && "
        f"chmod 0755 /home/{ADMIN}",
    )
    rc, doc = run_audit(["sortland"], capsys)
    assert rc == 1 and doc["ok"] is False
    failed = {
        (x["host"], c["control"])
        for x in doc["hosts"]
        for c in x["controls"]
        if c["verdict"] == "fail"
    }
    assert failed == {(h.name, "ssh-macs"), (h.name, "home-permissions")}, failed  # type: ignore[attr-defined]
    evidence = {
        c["control"]: c["evidence"]
        for x in doc["hosts"]
        for c in x["controls"]
        if x["host"] == h.name
    }  # type: ignore[attr-defined]
    assert "hmac-sha1" in evidence["ssh-macs"]
    assert f"/home/{ADMIN} is 755" in evidence["home-permissions"]
    # The text report names the host and the control too.
    capsys.readouterr()
    assert main(["audit", "sortland"]) == 1
    text = capsys.readouterr().out
    assert f"FAIL {h.name}: ssh-macs" in text and f"FAIL {h.name}: home-permissions" in text  # type: ignore[attr-defined]

    outcome = lab.apply(["sortland"])
    assert outcome.ok, outcome.problem_hosts
    rc, doc = run_audit(["sortland"], capsys)
    assert rc == 0 and doc["ok"], [
        c for x in doc["hosts"] for c in x["controls"] if c["verdict"] == "fail"
    ]


def test_check_mode_on_the_hardened_hosts_changes_nothing(lab: Lab, converged: tuple) -> None:  # type: ignore[type-arg]
    # The shell steps (host keys, moduli, PAM profiles, sysctl) must not claim changes in a
    # dry run of a converged host, or `ilag diff --check` would show noise.
    outcome = lab.apply(["bo"], check=True, diff=True)
    assert outcome.ok, outcome.problem_hosts
    assert {n: h.changed for r in outcome.results for n, h in r.hosts.items()} == {
        h.name: 0
        for h in lab.hosts("bo")  # type: ignore[attr-defined]
    }


def _verdicts(doc: dict, host: str) -> dict[str, tuple[str, str]]:  # type: ignore[type-arg]
    return {
        c["control"]: (c["verdict"], c["evidence"])
        for x in doc["hosts"]
        if x["host"] == host
        for c in x["controls"]
    }


def test_a_drop_in_allowing_root_password_login_fails_the_audit_and_the_check(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    capsys: pytest.CaptureFixture[str],
) -> None:
    # sshd keeps the first value it reads, and 00-local.conf sorts before the baseline's
    # 10-ilag-hardening.conf: this file undoes the baseline without touching the role's file.
    h = lab.hosts("andoy")[0]
    name = h.name  # type: ignore[attr-defined]
    drop_in = "/etc/ssh/sshd_config.d/00-local.conf"
    on_host(
        lab,
        h,
        f"printf 'PermitRootLogin yes\\nPasswordAuthentication yes\\n' > {drop_in} && "
        "systemctl reload ssh",
    )
    try:
        rc, doc = run_audit(["andoy"], capsys)
        assert rc == 1
        verdict, evidence = _verdicts(doc, name)["ssh-login"]
        assert verdict == "fail"
        assert "permitrootlogin is yes" in evidence and "passwordauthentication is yes" in evidence
        failed = {
            (x["host"], c["control"])
            for x in doc["hosts"]
            for c in x["controls"]
            if c["verdict"] == "fail"
        }
        assert failed == {(name, "ssh-login")}, failed
        # A dry run reports it too: the role compares sshd's effective settings with its own.
        outcome = lab.apply(["andoy"], check=True)
        assert not outcome.ok and outcome.problem_hosts == {"andoy": [name]}
        message = outcome.results[0].messages.get(name, "")
        assert "permitrootlogin is yes" in message and "overrides" in message, message
    finally:
        on_host(lab, h, f"rm -f {drop_in} && systemctl reload ssh")
    rc, doc = run_audit(["andoy"], capsys)
    assert rc == 0, [c for x in doc["hosts"] for c in x["controls"] if c["verdict"] == "fail"]


def test_a_group_vars_override_is_audited_against_the_override(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    capsys: pytest.CaptureFixture[str],
) -> None:
    # group_vars next to the lab's inventory overlay: Ansible loads them for the `bo` group
    # like inventories/group_vars. One control is tightened, one is turned off.
    group_vars = lab.target.inventory_sources("bo")[-1].parent / "group_vars" / "bo.yml"
    group_vars.parent.mkdir(parents=True, exist_ok=True)
    group_vars.write_text("---\nbaseline__sshd_max_auth_tries: 2\nbaseline__acct: false\n")
    hosts = [h.name for h in lab.hosts("bo")]  # type: ignore[attr-defined]

    def run_audit(args: list[str], _: object) -> tuple[int, dict]:  # type: ignore[type-arg]
        # As an operator runs it, in a process of its own: Ansible's group_vars finder caches
        # what a directory held for the life of the process.
        ilag = str(Path(sys.executable).with_name("ilag"))
        done = subprocess.run(
            [ilag, "audit", *args, "--json"], capture_output=True, text=True, check=False, cwd=REPO
        )
        return done.returncode, json.loads(done.stdout)

    try:
        # Before the converge the hosts still allow 3 tries: the audit expects the override.
        rc, doc = run_audit(["bo"], capsys)
        assert rc == 1
        for name in hosts:
            verdicts = _verdicts(doc, name)
            assert verdicts["ssh-login"][0] == "fail"
            assert "maxauthtries is 3, want 2" in verdicts["ssh-login"][1]
            assert verdicts["acct-installed"] == ("off", "off by settings (baseline__acct)")
        outcome = lab.apply(["bo"])
        assert outcome.ok, outcome.problem_hosts
        rc, doc = run_audit(["bo"], capsys)
        assert rc == 0, [c for x in doc["hosts"] for c in x["controls"] if c["verdict"] == "fail"]
        for name in hosts:
            verdicts = _verdicts(doc, name)
            assert (
                verdicts["ssh-login"][0] == "pass" and "maxauthtries 2" in verdicts["ssh-login"][1]
            )
            assert verdicts["acct-running"][0] == "off"
    finally:
        group_vars.unlink()
        outcome = lab.apply(["bo"])
    assert outcome.ok, outcome.problem_hosts
    rc, doc = run_audit(["bo"], capsys)
    assert rc == 0
