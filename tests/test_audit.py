"""The audit's judgement of command output, on output as the real commands print it."""

from __future__ import annotations

import re

import pytest

from ilag_infra.onsite import audit
from ilag_infra.onsite.audit import CONTROLS, Contains, Equals, NoViolations, SshdOnly, Values

# Excerpt of `sshd -T` on a converged lab host (OpenSSH 9.2).
SSHD_T_HARDENED = """\
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
macs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com
banner /etc/issue.net
hostkeyagent none
kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256
casignaturealgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-256
pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-256
hostkey /etc/ssh/ssh_host_ed25519_key
hostkey /etc/ssh/ssh_host_rsa_key
"""

# Debian 12's defaults, as an unhardened host reports them.
SSHD_T_STOCK_MACS = (
    "macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
    "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1\n"
)


def control(cid: str) -> audit.Control:
    return next(c for c in CONTROLS if c.id == cid)


def test_control_ids_are_unique_and_each_names_variable_and_source() -> None:
    ids = [c.id for c in CONTROLS]
    assert len(ids) == len(set(ids))
    for c in CONTROLS:
        assert c.variable.startswith("baseline__"), c.id
        assert c.source and c.command and c.title, c.id


@pytest.mark.parametrize(
    "cid",
    [
        "ssh-kex",
        "ssh-ciphers",
        "ssh-macs",
        "ssh-host-key-algorithms",
        "ssh-pubkey-algorithms",
        "ssh-ca-algorithms",
        "ssh-host-keys",
        "ssh-banner",
    ],
)
def test_hardened_sshd_passes_every_sshd_control(cid: str) -> None:
    passed, evidence = control(cid).expect.judge(SSHD_T_HARDENED)
    assert passed, evidence


def test_stock_macs_fail_and_name_the_weak_ones() -> None:
    passed, evidence = control("ssh-macs").expect.judge(SSHD_T_STOCK_MACS)
    assert not passed
    assert "hmac-sha1" in evidence and "umac-64@openssh.com" in evidence
    assert "hmac-sha2-512-etm@openssh.com" not in evidence


def test_nist_kex_fails() -> None:
    out = SSHD_T_HARDENED.replace("kexalgorithms ", "kexalgorithms ecdh-sha2-nistp256,")
    passed, evidence = control("ssh-kex").expect.judge(out)
    assert not passed and "ecdh-sha2-nistp256" in evidence


def test_an_ecdsa_host_key_file_fails_the_host_key_control() -> None:
    out = SSHD_T_HARDENED + "hostkey /etc/ssh/ssh_host_ecdsa_key\n"
    passed, evidence = control("ssh-host-keys").expect.judge(out)
    assert not passed and "ecdsa" in evidence


def test_a_keyword_missing_from_sshd_t_fails() -> None:
    passed, evidence = SshdOnly("macs", ("x",)).judge("/etc/ssh/sshd_config line 3: Bad option\n")
    assert not passed and "no macs" in evidence


def test_values_parse_login_defs_sysctl_and_systemd_forms() -> None:
    expect = Values((("UMASK", "027"), ("net.ipv4.ip_forward", "0"), ("Storage", "none")))
    assert expect.judge("UMASK\t\t027\nnet.ipv4.ip_forward = 0\nStorage=none\n")[0]
    passed, evidence = expect.judge("UMASK 022\nStorage=none\n")
    assert not passed
    assert "UMASK is 022, want 027" in evidence and "net.ipv4.ip_forward is unset" in evidence


def test_values_last_line_wins_like_the_config_files() -> None:
    assert Values((("minlen", "14"),)).judge("minlen = 8\nminlen = 14\n")[0]
    assert not Values((("minlen", "14"),)).judge("minlen = 14\nminlen = 8\n")[0]


def test_modprobe_answers() -> None:
    expect = control("modules-blacklisted").expect
    modules = [k for k, _ in expect.expected]  # type: ignore[attr-defined]
    assert "usb-storage" in modules and "udf" in modules
    good = "".join(f"{m} install /bin/false\n" for m in modules)
    assert expect.judge(good)[0]
    bad = good.replace(
        "udf install /bin/false", "udf insmod /lib/modules/6.1.0/kernel/fs/udf/udf.ko"
    )
    passed, evidence = expect.judge(bad)
    assert not passed and evidence.startswith("udf is insmod")


def test_no_violations_lists_each_problem() -> None:
    expect = NoViolations("restricted")
    assert expect.judge("/home/ilagadm 750\n") == (True, "restricted (/home/ilagadm 750)")
    passed, evidence = expect.judge("! /home/a is 755\n! /root is 755\n/home/a 755\n")
    assert not passed and evidence == "/home/a is 755; /root is 755"


def test_equals_and_contains() -> None:
    assert Equals("0027", "umask").judge("0027\n") == (True, "umask 0027")
    assert not Equals("0", "core limit").judge("unlimited\n")[0]
    rules = "auth\trequisite\tpam_faillock.so preauth\n"
    assert Contains(("auth requisite pam_faillock.so preauth",)).judge(rules)[0]
    passed, evidence = Contains(("a", "deny = 5")).judge("a\n")
    assert not passed and evidence == "missing: deny = 5"


def test_container_turns_only_kernel_level_failures_into_not_applicable() -> None:
    kernel = control("sysctl-kernel")
    out = "kernel.sysrq = 438\n"
    assert audit.verdict(kernel, out, in_container=False)[0] == "fail"
    found, why = audit.verdict(kernel, out, in_container=True)
    assert found == "n/a" and "container" in why and "kernel.sysrq is 438" in why
    network = control("sysctl-network")
    assert audit.verdict(network, "net.ipv4.ip_forward = 1\n", in_container=True)[0] == "fail"


def test_every_command_is_read_only() -> None:
    # The audit runs against production: no command may write, restart or load anything.
    forbidden = re.compile(
        r"(sysctl -w|\brm |\bmv |chmod|chown|systemctl (start|restart|stop)|augenrules --load"
        r"|modprobe -r|>\s*/(?!dev/null)|\btee )"
    )
    for c in CONTROLS:
        assert not forbidden.search(c.command), (c.id, forbidden.search(c.command))
        if "modprobe" in c.command:
            assert "modprobe -n" in c.command, c.id
