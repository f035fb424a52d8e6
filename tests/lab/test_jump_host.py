"""One SSH transport, proved on booted hosts: Øksnes's file server is reached only through the
jump host on Øksnes's bridge, and every command still works.

oksnes-fil01 gets `ProxyJump=root@<oksnes-util01>:22` in the lab overlay, as an operator puts
it beside `ansible_host`; util01 allows TCP forwarding, and fil01's firewall admits SSH from
util01 only. The machine's own output path to fil01:22 is then rejected and counted, so a
command that tried the direct path would fail, and the count shows none tried. The module
puts the lab back as it found it (overlay, pins, firewall, sshd) for the lab tests after it.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ilag_infra import lab as lab_mod
from ilag_infra.cli.app import main
from ilag_infra.lab.inventory import write_yaml
from ilag_infra.model.jump_host import Jump
from ilag_infra.onsite import ssh
from ilag_infra.onsite.hostlist import SshHost

from .conftest import Lab

pytestmark = pytest.mark.lab

SLUG = "oksnes"
TARGET = "oksnes-fil01"
JUMP = "oksnes-util01"
# The machine-side block: our own table, only ever naming the target's lab address.
NFT_TABLE = "ilag_jump_test"


@dataclass(frozen=True)
class Routed:
    target_ip: str
    jump_ip: str
    public_key: str  # the target's host key line, as the lab pinned it
    blocked_packets: int  # what the machine-side block had counted once the probe was done


def _host(lab: Lab, name: str) -> Any:
    return next(h for h in lab.hosts(SLUG) if h.name == name)  # type: ignore[attr-defined]


def _ssh_host(h: Any, jump: Jump | None = None) -> SshHost:
    return SshHost(h.name, SLUG, h.ip, 22, "root", lab_mod.lab_paths().operator_key, jump)


def _run(lab: Lab, host: SshHost, command: str) -> str:
    client = ssh.connect(host, lab.target.known_hosts(SLUG), timeout=5)
    try:
        rc, out, err = ssh.run(client, command)
    finally:
        client.close()
    assert rc == 0, f"{host.name}: {command!r} exited {rc}: {err[-400:]}"
    return out


def _direct_refused(lab: Lab, h: Any) -> None:
    with pytest.raises(OSError):
        _run(lab, _ssh_host(h), "true")


def _overlay(original: dict[str, Any], jump_ip: str, route: bool, allow_only_jump: bool) -> Any:
    """The lab's overlay with util01 forwarding; route: fil01 behind it; allow_only_jump:
    fil01's firewall admits SSH from util01 alone."""
    data = json.loads(json.dumps(original))  # a deep copy of plain YAML data
    hosts = data["all"]["children"][SLUG]["hosts"]
    hosts[JUMP]["baseline__sshd_allow_tcp_forwarding"] = True
    if route:
        hosts[TARGET]["ansible_ssh_common_args"] = f"-o ProxyJump=root@{jump_ip}:22"
    if allow_only_jump:
        hosts[TARGET]["network__ssh_host_allow_networks"] = [f"{jump_ip}/32"]
    return data


def _nft(*args: str) -> str:
    return subprocess.run(
        ["nft", *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def _block(target_ip: str) -> None:
    """Reject (and count) the machine's own connections to the target's SSH port."""
    _unblock()
    _nft("add", "table", "inet", NFT_TABLE)
    _nft(
        "add",
        "chain",
        "inet",
        NFT_TABLE,
        "out",
        "{ type filter hook output priority 0; policy accept; }",
    )
    _nft(
        "add",
        "rule",
        "inet",
        NFT_TABLE,
        "out",
        f"ip daddr {target_ip} tcp dport 22 counter reject with tcp reset",
    )


def _unblock() -> None:
    subprocess.run(
        ["nft", "delete", "table", "inet", NFT_TABLE], capture_output=True, check=False, timeout=30
    )


def _blocked_packets() -> int:
    listing = json.loads(_nft("-j", "list", "table", "inet", NFT_TABLE))
    for item in listing["nftables"]:
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                return int(expr["counter"]["packets"])
    raise AssertionError(f"no counter in table {NFT_TABLE}: {listing}")


@pytest.fixture(scope="module")
def routed(lab: Lab) -> Iterator[Routed]:
    """Øksnes converged with fil01 behind util01, direct SSH to fil01 refused twice over."""
    target, jump = _host(lab, TARGET), _host(lab, JUMP)
    paths = lab_mod.lab_paths()
    overlay = paths.inventory / f"{SLUG}.yml"
    pins = lab.target.known_hosts(SLUG)
    overlay_text, pins_text = overlay.read_text(), pins.read_text()
    original = yaml.safe_load(overlay_text)
    header = "# The lab overlay, with oksnes-fil01 behind oksnes-util01 (tests/lab).\n"

    def converge(data: Any, limit: str | None = None) -> None:
        if data is None:
            overlay.write_text(overlay_text)
        else:
            write_yaml(overlay, data, header)
        done = lab.apply([SLUG], limit=limit)
        assert done.ok, (done.problem_hosts, [r.messages for r in done.results])

    try:
        # The jump host must forward before anything is routed through it: a converged
        # util01 refuses it (AllowTcpForwarding no) until its own run turns it on.
        converge(_overlay(original, jump.ip, route=False, allow_only_jump=False))
        # Ansible goes through util01 from here on, and fil01's firewall narrows from the
        # lab's network to util01 alone.
        converge(_overlay(original, jump.ip, route=True, allow_only_jump=True))
        # fil01 itself drops SSH that does not come from its jump host...
        _direct_refused(lab, target)
        _run(lab, _ssh_host(jump), "true")  # (util01 answers directly: fil01 is not just down)
        # ...and the machine rejects and counts its own attempts, so none can go unnoticed.
        _block(target.ip)
        _direct_refused(lab, target)
        blocked = _blocked_packets()
        assert blocked > 0
        yield Routed(target.ip, jump.ip, target.host_public_key, blocked)
    finally:
        _unblock()
        pins.write_text(pins_text)
        # Back in the reverse order, each step over a path that still works: fil01 admits
        # the lab's network again (reached through util01, which still forwards), then
        # util01 stops forwarding with the lab's own overlay back in place.
        try:
            converge(_overlay(original, jump.ip, route=True, allow_only_jump=False), TARGET)
        finally:
            converge(None, JUMP)
        assert _run(lab, _ssh_host(target), "hostname").strip() == TARGET


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(list(args))
    return rc, capsys.readouterr().out


def test_the_target_answers_through_its_jump_host(lab: Lab, routed: Routed) -> None:
    jump = Jump(routed.jump_ip, 22, "root")
    through = _ssh_host(_host(lab, TARGET), jump)
    assert _run(lab, through, "hostname").strip() == TARGET
    # On fil01 the connection comes from util01's address, not from the machine.
    assert _run(lab, through, "echo $SSH_CLIENT").split()[0] == routed.jump_ip


def test_bootstrap_reads_the_key_through_the_jump_host(
    lab: Lab, routed: Routed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pins = lab.target.known_hosts(SLUG)
    before = pins.read_text()
    key = ssh.public_key(routed.public_key)
    kept = [ln for ln in before.splitlines(True) if not ln.startswith(f"{TARGET},")]
    assert len(kept) < len(before.splitlines()), "the lab pinned the target"
    try:
        pins.write_text("".join(kept))
        rc, out = _cli(capsys, "bootstrap", TARGET, "--fingerprint", ssh.fingerprint(key))
        assert rc == 0, out
        assert "pinned" in out
        assert ssh.pinned_keys(pins, _ssh_host(_host(lab, TARGET))) == [key]
    finally:
        pins.write_text(before)


def test_preflight_reaches_both_hosts(routed: Routed, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _cli(capsys, "preflight", SLUG, "--json")
    assert rc == 0, out
    checks = {h["host"]: h for h in json.loads(out)["hosts"]}
    assert set(checks) == {TARGET, JUMP}
    assert checks[TARGET]["ok"] and checks[TARGET]["host_key"] == "pinned, matches", checks[TARGET]


def test_audit_passes_through_the_jump_host(
    routed: Routed, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _cli(capsys, "audit", SLUG, "--json")
    assert rc == 0, out
    assert TARGET in out


def test_apply_goes_through_the_jump_host_and_changes_nothing(
    routed: Routed, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _cli(capsys, "apply", SLUG, "--json")
    assert rc == 0, out
    recap = json.loads(out)
    hosts = {h["name"]: h for m in recap["municipalities"] for h in m["hosts"]}
    assert set(hosts) == {TARGET, JUMP}
    assert hosts[TARGET]["unreachable"] == 0 and hosts[TARGET]["failed"] == 0
    assert hosts[TARGET]["changed"] == 0, hosts[TARGET]


def test_backup_and_restore_go_through_the_jump_host(
    routed: Routed, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _cli(capsys, "backup", "run", SLUG, "--json")
    assert rc == 0, out
    rc, out = _cli(capsys, "restore", TARGET, "/etc/hostname", "--verify-only", "--json")
    assert rc == 0, out
    assert json.loads(out)["ok"] is True


def test_no_command_tried_the_direct_path(routed: Routed) -> None:
    # Runs last in this module: every command above left the machine's block untouched.
    assert _blocked_packets() == routed.blocked_packets
    with pytest.raises(OSError):
        socket.create_connection((routed.target_ip, 22), timeout=3).close()
