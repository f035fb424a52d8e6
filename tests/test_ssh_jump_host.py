"""One SSH route: a host behind a jump host is reached through it by the paramiko commands
(preflight, audit, bootstrap, backup, restore) with the same pins as any other host.

Real SSH servers on loopback addresses: the target on 127.0.0.2 accepts only connections the
jump server opened for a forwarded channel, so a direct connection fails there.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from ilag_infra.cli.app import main
from ilag_infra.model import jump_host
from ilag_infra.model.errors import InputError
from ilag_infra.model.jump_host import Jump
from ilag_infra.onsite import hostlist, runner, ssh, ssh_config, streamed
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target
from tests.ssh_servers import SshServer, key_file, new_key

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Route:
    host: SshHost  # the target as the inventory names it, jump included
    jump: SshServer
    target: SshServer
    known_hosts: Path

    def pin_jump(self, key: paramiko.PKey | None = None) -> None:
        hop = SshHost("jump", "andoy", self.jump.address, self.jump.port, "root", None)
        ssh.pin(self.known_hosts, hop, key or self.jump.host_key)

    def pin_target(self, key: paramiko.PKey | None = None) -> None:
        ssh.pin(self.known_hosts, self.host, key or self.target.host_key)


@pytest.fixture
def route(tmp_path: Path) -> Iterator[Route]:
    client_file, client_key = key_file(tmp_path)
    with SshServer("andoy-fil01", "127.0.0.2", client_key) as target:
        allowed = {(target.address, target.port)}
        with SshServer("andoy-jump", "127.0.0.1", client_key, permit_open=allowed) as jump:
            # The target takes only what the jump forwards (as a firewall or ListenAddress would).
            target.only_from = jump.forward_sources
            host = SshHost(
                "andoy-fil01",
                "andoy",
                target.address,
                target.port,
                "root",
                client_file,
                Jump(jump.address, jump.port, "root"),
            )
            # Where a production run keeps andoy's pins (Target("prod", tmp_path)).
            yield Route(host, jump, target, tmp_path / "inventories" / "andoy" / "known_hosts")


def test_a_host_behind_a_jump_is_reached_only_through_it(route: Route) -> None:
    route.pin_jump()
    route.pin_target()
    client = ssh.connect(route.host, route.known_hosts, timeout=5)
    try:
        assert ssh.run(client, "hostname") == (0, "andoy-fil01\n", "")
    finally:
        client.close()
    assert route.jump.forward_requests == [(route.target.address, route.target.port)]
    assert len(route.target.accepted) == 1
    assert set(route.target.accepted) <= route.jump.forward_sources
    # Without the jump the same host is not reachable: the check above can fail.
    direct = dataclasses.replace(route.host, jump=None)
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        ssh.connect(direct, route.known_hosts, timeout=5).close()
    assert len(route.target.refused) == 1


def test_closing_the_target_connection_closes_the_jump_connection(route: Route) -> None:
    route.pin_jump()
    route.pin_target()
    client = ssh.connect(route.host, route.known_hosts, timeout=5)
    assert isinstance(client, ssh.JumpedClient)
    jump_transport = client.jump.get_transport()
    assert jump_transport is not None and jump_transport.is_active()
    client.close()
    assert not jump_transport.is_active()


def test_an_unpinned_jump_host_is_refused_before_the_target_is_tried(route: Route) -> None:
    route.pin_target()
    with pytest.raises(ssh.HostKeyError, match="no pinned host key") as info:
        ssh.connect(route.host, route.known_hosts, timeout=5)
    message = str(info.value)
    assert f"the jump host of andoy-fil01 ({route.jump.address})" in message
    assert f"[{route.jump.address}]:{route.jump.port} <keytype> <key>" in message
    assert route.jump.forward_requests == []
    assert route.target.accepted == []


def test_a_changed_jump_host_key_is_refused(route: Route) -> None:
    pinned = new_key()
    route.pin_jump(pinned)
    route.pin_target()
    with pytest.raises(ssh.HostKeyError, match="HOST KEY MISMATCH") as info:
        ssh.connect(route.host, route.known_hosts, timeout=5)
    assert "for the jump host of andoy-fil01" in str(info.value)
    assert ssh.fingerprint(route.jump.host_key) in str(info.value)
    assert ssh.fingerprint(pinned) in str(info.value)
    assert route.target.accepted == []


def test_the_target_key_is_checked_at_the_end_of_the_jump(route: Route) -> None:
    route.pin_jump()
    route.pin_target(new_key())
    with pytest.raises(ssh.HostKeyError, match="HOST KEY MISMATCH for andoy-fil01"):
        ssh.connect(route.host, route.known_hosts, timeout=5)
    assert len(route.target.accepted) == 1


def test_a_jump_host_that_does_not_forward_there_is_named(route: Route) -> None:
    route.pin_jump()
    route.pin_target()
    route.jump.permit_open.clear()
    with pytest.raises(paramiko.SSHException, match="did not open a connection to andoy-fil01"):
        ssh.connect(route.host, route.known_hosts, timeout=5)
    assert route.target.accepted == []


def test_first_contact_reads_the_host_key_through_the_jump(route: Route) -> None:
    with pytest.raises(ssh.HostKeyError, match="no pinned host key"):
        ssh.host_key_of(route.host, route.known_hosts, timeout=5)  # the path must be pinned
    route.pin_jump()
    assert ssh.host_key_of(route.host, route.known_hosts, timeout=5) == route.target.host_key
    assert len(route.target.accepted) == 1
    assert route.target.refused == []


def ansible_ssh(route: Route, tmp_path: Path, env_name: str, with_config: bool) -> list[str]:
    """The OpenSSH command line Ansible's ssh plugin builds for the host in a run: the run's
    ANSIBLE_SSH_ARGS, then the host's key, port and user, then ansible_ssh_common_args."""
    target = Target("prod" if env_name == "prod" else "lab", tmp_path)
    assert target.known_hosts("andoy") == route.known_hosts
    config = (
        ssh_config.write(
            tmp_path / "ssh_config", route.known_hosts, [route.host], env_name == "prod"
        )
        if with_config
        else None
    )
    env = runner.ansible_env(target, "andoy", tmp_path / "cp", None, config)
    jump = route.host.jump
    assert jump is not None and route.host.key_file is not None
    return [
        "ssh",
        *shlex.split(env["ANSIBLE_SSH_ARGS"]),
        "-o",
        f'IdentityFile="{route.host.key_file}"',
        "-o",
        "BatchMode=yes",
        "-o",
        f"Port={route.host.port}",
        "-o",
        f'User="{route.host.user}"',
        *shlex.split(f"-o ProxyJump={jump.user}@{jump.address}:{jump.port}"),
        route.host.address,
        "hostname",
    ]


def run_ssh(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    # A home of its own: no operator keys, config or known_hosts of this machine take part.
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("env_name", ["prod", "lab"])
def test_ansible_s_openssh_takes_the_same_jump_with_the_same_pins_and_key(
    route: Route, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_name: str
) -> None:
    if env_name == "lab":
        monkeypatch.setenv("ILAG_LAB_DIR", str(tmp_path / "lab"))
        route.known_hosts = tmp_path / "lab" / "known_hosts" / "andoy"
    route.pin_jump()
    route.pin_target()
    proc = run_ssh(ansible_ssh(route, tmp_path, env_name, with_config=True), tmp_path / "home")
    assert (proc.returncode, proc.stdout) == (0, "andoy-fil01\n"), proc.stderr
    assert route.jump.forward_requests == [(route.target.address, route.target.port)]
    assert len(route.target.accepted) == 1 and route.target.refused == []


def test_ansible_s_openssh_refuses_a_changed_jump_host_key(route: Route, tmp_path: Path) -> None:
    route.pin_jump(new_key())
    route.pin_target()
    proc = run_ssh(ansible_ssh(route, tmp_path, "prod", with_config=True), tmp_path / "home")
    assert proc.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in proc.stderr
    assert route.target.accepted == []


def test_without_the_run_s_config_file_the_jump_hop_ignores_the_pins(
    route: Route, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the file exists: OpenSSH hands a ProxyJump hop -F, never the -o options."""
    monkeypatch.setenv("ILAG_LAB_DIR", str(tmp_path / "lab"))
    route.known_hosts = tmp_path / "lab" / "known_hosts" / "andoy"
    route.pin_jump()
    route.pin_target()
    proc = run_ssh(ansible_ssh(route, tmp_path, "lab", with_config=False), tmp_path / "home")
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr
    assert route.target.accepted == []


def test_the_controller_reaches_a_node_behind_a_jump_with_the_pins(
    route: Route, tmp_path: Path
) -> None:
    """`apply --via-node`: the OpenSSH command to the node takes the node's jump host."""
    route.pin_jump()
    route.pin_target()
    config = ssh_config.write(tmp_path / "ssh_config", route.known_hosts, [route.host], False)
    argv = [*streamed.ssh_argv(route.host, route.known_hosts, config), "hostname"]
    proc = run_ssh(argv, tmp_path / "home")
    assert (proc.returncode, proc.stdout) == (0, "andoy-fil01\n"), proc.stderr
    assert len(route.target.accepted) == 1 and route.target.refused == []


@pytest.mark.parametrize(
    ("common", "extra", "jump"),
    [
        ("-o ProxyJump=ilag@10.71.10.5:2222", None, Jump("10.71.10.5", 2222, "ilag")),
        ("-o ProxyJump=ilag@10.71.10.5", None, Jump("10.71.10.5", 22, "ilag")),
        ("-oProxyJump=ilag@jump.andoy.example", None, Jump("jump.andoy.example", 22, "ilag")),
        ("-o 'ProxyJump ssh://ilag@10.71.10.5:22'", None, Jump("10.71.10.5", 22, "ilag")),
        ("-o ServerAliveInterval=15 -J ilag@10.71.10.5", None, Jump("10.71.10.5", 22, "ilag")),
        (None, "-Jilag@10.71.10.5:22", Jump("10.71.10.5", 22, "ilag")),
        ("-o ProxyJump=ilag@10.71.10.5", "-J ilag@10.71.10.5:22", Jump("10.71.10.5", 22, "ilag")),
        ("-o ServerAliveInterval=15", "", None),
        ("-o ProxyJump=none", None, None),
    ],
)
def test_the_jump_host_is_read_as_openssh_reads_it(
    common: str | None, extra: str | None, jump: Jump | None
) -> None:
    hostvars = {"ansible_ssh_common_args": common, "ansible_ssh_extra_args": extra}
    assert jump_host.from_vars(hostvars) == jump


@pytest.mark.parametrize(
    ("common", "says"),
    [
        ("-o ProxyCommand='nc %h %p'", "ProxyCommand"),
        ("-o ProxyJump=ilag@10.0.0.1,ilag@10.0.0.2", "several hops"),
        ("-o ProxyJump=10.71.10.5", "does not name the user"),
        ("-J ilag@10.71.10.5:0", "not 1-65535"),
        ("-J ilag@10.71.10.5:ssh", "not 1-65535"),
        ("-J ilag@", "no host name"),
        ("-o ProxyJump=ilag@a -J ilag@b", "several jump hosts"),
        ("-o 'ProxyJump=ilag@a", "cannot be split"),
        ("-J", "no value after it"),
        # Anything that would loosen the pins on the OpenSSH route only.
        ("-F /dev/null -J ilag@10.71.10.5", "-F"),
        ("-F/tmp/x -J ilag@10.71.10.5", "-F"),
        ("-o StrictHostKeyChecking=no -J ilag@10.71.10.5", "stricthostkeychecking"),
        ("-o UserKnownHostsFile=/dev/null", "userknownhostsfile"),
        ("-o 'KnownHostsCommand /bin/echo'", "knownhostscommand"),
    ],
)
def test_a_route_that_cannot_be_followed_is_refused(common: str, says: str) -> None:
    with pytest.raises(jump_host.JumpSpecError, match=says):
        jump_host.from_vars({"ansible_ssh_common_args": common})


BAD_JUMP = "              ansible_host: 10.71.10.10\n"


@pytest.fixture
def bad_jump_region(region_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped region with andoy-fil01 routed through a ProxyCommand, pins present."""
    hosts = region_copy.parent / "inventories" / "andoy" / "hosts.yml"
    text = hosts.read_text(encoding="utf-8")
    assert BAD_JUMP in text
    hosts.write_text(
        text.replace(
            BAD_JUMP, BAD_JUMP + "              ansible_ssh_common_args: -o ProxyJump=10.71.10.5\n"
        ),
        encoding="utf-8",
    )
    (hosts.parent / "known_hosts").write_text("")
    monkeypatch.setenv("ILAG_REGION", str(region_copy))
    return hosts


@pytest.mark.parametrize(
    "args",
    [
        ["preflight", "andoy", "--env", "prod"],
        ["audit", "andoy", "--env", "prod"],
        ["validate"],
    ],
)
def test_a_bad_jump_host_in_the_inventory_exits_2_naming_host_variable_and_fix(
    capsys: pytest.CaptureFixture[str], bad_jump_region: Path, args: list[str]
) -> None:
    code = main(args)
    out, err = capsys.readouterr()
    text = out + err
    assert code == 2, text
    assert "Traceback" not in text
    assert "ansible_ssh_common_args" in text
    assert "andoy-fil01" in text
    assert "does not name the user" in text
    assert "ProxyJump=ilag@" in text  # the fix shows the form that works


def lab_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jump_address: str) -> Target:
    """A lab overlay as `ilag lab up` writes one, with andoy's file server behind a jump host."""
    lab = tmp_path / "lab"
    (lab / "inventory").mkdir(parents=True)
    (lab / "known_hosts").mkdir()
    (lab / "known_hosts" / "andoy").write_text("")
    (lab / "state.json").write_text('{"lab_prefix": "10.250.0.0/16"}')
    (lab / "inventory" / "andoy.yml").write_text(
        "---\n"
        "all:\n"
        "  children:\n"
        "    andoy:\n"
        "      hosts:\n"
        "        andoy-fil01:\n"
        "          ansible_host: 10.250.5.11\n"
        f"          ansible_ssh_common_args: -o ProxyJump=root@{jump_address}:22\n"
        "        andoy-util01:\n"
        "          ansible_host: 10.250.5.12\n"
        "    ilag_lab:\n"
        "      hosts:\n"
        "        andoy-fil01:\n"
        "        andoy-util01:\n"
    )
    monkeypatch.setenv("ILAG_LAB_DIR", str(lab))
    return Target("lab", REPO)


def test_the_lab_overlay_routes_a_host_through_a_jump_host_on_its_bridge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = lab_overlay(tmp_path, monkeypatch, "10.250.5.12")
    hosts = {h.name: h for h in hostlist.resolve(target, "andoy")}
    assert hosts["andoy-fil01"].jump == Jump("10.250.5.12", 22, "root")
    assert hosts["andoy-util01"].jump is None


def test_a_lab_jump_host_outside_the_lab_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = lab_overlay(tmp_path, monkeypatch, "10.71.10.5")
    with pytest.raises(InputError, match=r"andoy-fil01 jump -> 10\.71\.10\.5"):
        hostlist.resolve(target, "andoy")
