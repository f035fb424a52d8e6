"""The audit judges each host against the baseline role's settings for it, never below the
benchmarks: an override in the inventory is audited against the override, a control turned
off shows as off, and a hand-made sshd drop-in that undoes the baseline fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.model import inventory
from ilag_infra.onsite import audit, baseline_settings

REPO = Path(__file__).resolve().parents[1]

# `sshd -T` (OpenSSH 9.2) on a converged host: the keywords the role's drop-in writes.
SSHD_T_SETTINGS = """\
permitrootlogin without-password
pubkeyauthentication yes
authenticationmethods publickey
passwordauthentication no
kbdinteractiveauthentication no
permitemptypasswords no
hostbasedauthentication no
ignorerhosts yes
maxauthtries 3
logingracetime 30
x11forwarding no
allowagentforwarding no
allowtcpforwarding no
allowstreamlocalforwarding no
gatewayports no
permittunnel no
permituserenvironment no
maxstartups 10:30:60
clientaliveinterval 300
clientalivecountmax 2
loglevel VERBOSE
usedns no
"""


def _settings(**overrides: object) -> dict[str, object]:
    return baseline_settings.for_host(REPO, "test-host", overrides)


def _control(checks: tuple[audit.Control, ...], cid: str) -> audit.Control:
    return next(c for c in checks if c.id == cid)


def _judge(cid: str, output: str, **overrides: object) -> tuple[str, str]:
    control = _control(audit.controls(_settings(**overrides)), cid)
    return audit.verdict(control, output, in_container=False)


@pytest.mark.parametrize("cid", ["ssh-login", "ssh-forwarding", "ssh-session"])
def test_the_converged_sshd_passes_the_settings_controls(cid: str) -> None:
    assert _judge(cid, SSHD_T_SETTINGS)[0] == "pass"


def test_a_drop_in_that_allows_root_password_login_fails_naming_each_setting() -> None:
    # What sshd -T shows once /etc/ssh/sshd_config.d/00-local.conf says so: sshd keeps the
    # first value it reads, and that file sorts before the baseline's.
    undone = (
        SSHD_T_SETTINGS.replace("permitrootlogin without-password", "permitrootlogin yes")
        .replace("passwordauthentication no", "passwordauthentication yes")
        .replace("authenticationmethods publickey", "authenticationmethods any")
    )
    found, evidence = _judge("ssh-login", undone)
    assert found == "fail"
    for part in (
        "permitrootlogin is yes",
        "passwordauthentication is yes",
        "authenticationmethods is any",
    ):
        assert part in evidence
    assert "below the benchmark" in evidence


def test_an_inventory_override_is_audited_against_the_override() -> None:
    two = SSHD_T_SETTINGS.replace("maxauthtries 3", "maxauthtries 2")
    assert _judge("ssh-login", two)[0] == "fail"  # the role's default is 3
    assert _judge("ssh-login", two, baseline__sshd_max_auth_tries=2)[0] == "pass"
    assert _judge("ssh-login", SSHD_T_SETTINGS, baseline__sshd_max_auth_tries=2)[0] == "fail"
    tcp = SSHD_T_SETTINGS.replace("allowtcpforwarding no", "allowtcpforwarding yes")
    assert _judge("ssh-forwarding", tcp, baseline__sshd_allow_tcp_forwarding=True)[0] == "pass"


def test_an_override_below_the_benchmark_still_fails_and_says_so() -> None:
    six = SSHD_T_SETTINGS.replace("maxauthtries 3", "maxauthtries 6")
    found, evidence = _judge("ssh-login", six, baseline__sshd_max_auth_tries=6)
    assert found == "fail" and "maxauthtries 6 is below the benchmark" in evidence
    weak = "kexalgorithms curve25519-sha256,ecdh-sha2-nistp256\n"
    found, evidence = _judge(
        "ssh-kex",
        weak,
        baseline__sshd_kex_algorithms=["curve25519-sha256", "ecdh-sha2-nistp256"],
    )
    assert found == "fail" and "ecdh-sha2-nistp256 below the benchmark" in evidence


def test_extra_options_win_as_they_do_in_sshd() -> None:
    # The template writes baseline__sshd_extra_options first; sshd keeps the first value.
    out = SSHD_T_SETTINGS.replace("clientaliveinterval 300", "clientaliveinterval 120")
    assert _judge("ssh-session", out)[0] == "fail"
    assert (
        _judge("ssh-session", out, baseline__sshd_extra_options={"ClientAliveInterval": 120})[0]
        == "pass"
    )


def test_a_control_turned_off_in_the_settings_is_off_not_fail() -> None:
    assert _judge("acct-running", "inactive\n", baseline__acct=False) == (
        "off",
        "off by settings (baseline__acct)",
    )
    assert _judge("acct-running", "inactive\n")[0] == "fail"
    sysctl = _control(
        audit.controls(_settings(baseline__sysctl_host={"net.ipv4.ip_forward": 1})),
        "sysctl-network",
    )
    assert ("net.ipv4.ip_forward", "1") in sysctl.expect.expected  # type: ignore[attr-defined]


def test_a_match_block_fails() -> None:
    out = "! /etc/ssh/sshd_config.d/00-local.conf:1:Match User backup\n"
    found, evidence = _judge("ssh-no-match", out)
    assert found == "fail" and "Match User backup" in evidence


def test_settings_come_from_group_vars_through_ansible(tmp_path: Path) -> None:
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        "---\nall:\n  children:\n    bo:\n      hosts:\n        bo-fil01:\n"
        "          ansible_host: 10.60.10.11\n",
        "utf-8",
    )
    (inv / "group_vars" / "bo.yml").write_text(
        "---\nbaseline__sshd_max_auth_tries: 2\nbaseline__acct: false\n"
        "baseline__sshd_host_key_algorithms: [ssh-ed25519]\n",
        "utf-8",
    )
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    manager = inventory.manager([inv / "hosts.yml"])
    hv = VariableManager(loader=DataLoader(), inventory=manager).get_vars(
        host=manager.get_host("bo-fil01"), include_hostvars=False
    )
    s = baseline_settings.for_host(REPO, "bo-fil01", hv)
    assert s["baseline__sshd_max_auth_tries"] == 2 and s["baseline__acct"] is False
    # The role's defaults template from the overridden value, as the role would.
    assert list(s["baseline__sshd_pubkey_accepted_algorithms"]) == ["ssh-ed25519"]
    checks = audit.controls(s)
    assert not _control(checks, "acct-installed").enabled
