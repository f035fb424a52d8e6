"""Lab hosts: an overlay root made host-specific, booted with systemd-nspawn, stopped cleanly."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ilag_infra.lab import cgroups
from ilag_infra.lab.errors import LabError
from ilag_infra.lab.keys import generate, write_private
from ilag_infra.lab.overlay import mount_overlay, unmount_all_under
from ilag_infra.lab.proc import (
    all_pids,
    cmdline,
    descendants,
    is_under,
    overlay_upper_of_root,
    pid_alive,
    run,
)
from ilag_infra.lab.state import HostState

NETWORK_FILE = "etc/systemd/network/10-ilag-lab.network"
STOP_TIMEOUT = 20.0


def network_unit(ip: str, prefixlen: int, gateway: str, service_ip: str) -> str:
    """systemd-networkd config for the container's end of the veth (always named host0).

    Only the bridge /24 and one route to the lab service address: no default route, so a lab
    host cannot reach anything outside the lab even if the machine were to forward.
    It sorts before the stock 80-container-host0.network (DHCP), so it wins.
    """
    return (
        "# Written by ilag lab: static lab address, no default route.\n"
        "[Match]\nName=host0\n\n"
        f"[Network]\nAddress={ip}/{prefixlen}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n"
        f"[Route]\nDestination={service_ip}/32\nGateway={gateway}\n"
    )


def prepare_root(
    host: HostState,
    base: Path,
    *,
    prefixlen: int,
    gateway: str,
    service_ip: str,
    operator_public_key: str,
) -> str:
    """Mount the host's overlay and write what makes it this host; return its host public key."""
    root = Path(host.root)
    mount_overlay(base, Path(host.upper), Path(host.work), root)
    etc = root / "etc"
    (etc / "hostname").write_text(host.name + "\n")
    (etc / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n{host.ip}\t{host.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    machine_id = etc / "machine-id"
    machine_id.unlink(missing_ok=True)
    machine_id.write_text(secrets.token_hex(16) + "\n")
    # No lab DNS server runs; the resolver entry points at the lab service address so a lookup
    # fails fast inside the lab instead of going anywhere else. The network role replaces it.
    resolv = etc / "resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text(f"nameserver {service_ip}\n")
    (root / NETWORK_FILE).write_text(network_unit(host.ip, prefixlen, gateway, service_ip))
    pair = generate(f"root@{host.name}")
    write_private(etc / "ssh/ssh_host_ed25519_key", pair.private)
    (etc / "ssh/ssh_host_ed25519_key.pub").write_text(pair.public + "\n")
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    write_private(ssh_dir / "authorized_keys", operator_public_key + "\n")
    return pair.public


def nspawn_argv(host: HostState) -> list[str]:
    return [
        "systemd-nspawn",
        "--quiet",
        f"--directory={host.root}",
        "--boot",
        # Without systemd-machined on the machine, registering fails; keep-unit avoids a scope unit.
        "--register=no",
        "--keep-unit",
        f"--network-bridge={host.bridge}",
        "--console=passive",
        f"--machine={host.name}",
        # The host's own journal, timezone and resolver stay untouched by the containers.
        "--link-journal=no",
        "--resolv-conf=off",
        "--timezone=off",
    ]


def _inherited_fds() -> list[int]:
    """Descriptors above stderr that a child would inherit."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        with contextlib.suppress(OSError):
            if fd > 2 and os.get_inheritable(fd):
                fds.append(fd)
    return fds


def spawn_detached(argv: list[str], log: Path) -> int:
    """Start a long-lived process in its own session, stdin /dev/null, output to log; its pid.

    posix_spawn rather than Popen: nothing in this process keeps a handle that would warn or
    try to reap later; stop() reaps it if it is still our child.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # A daemon must not keep the caller's descriptors: a lock held by `flock … ilag lab up`
    # would otherwise stay held by Azurite and nspawn until `lab down`.
    actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds()]
    try:
        return os.posix_spawnp(argv[0], argv, dict(os.environ), file_actions=actions, setsid=True)
    except FileNotFoundError:
        raise LabError(f"{argv[0]} is not installed; run `make setup`") from None


def boot(host: HostState) -> int:
    return spawn_detached(cgroups.wrap(nspawn_argv(host), host.name), Path(host.log))


def is_nspawn_of(pid: int, root: str) -> bool:
    """True if pid is a live systemd-nspawn running this root (not a reused pid)."""
    argv = cmdline(pid)
    return (
        pid_alive(pid)
        and bool(argv)
        and os.path.basename(argv[0]) == "systemd-nspawn"
        and f"--directory={root}" in argv
    )


def nspawn_pids_under(state_dir: Path) -> list[int]:
    """Every live systemd-nspawn whose root lies in the state dir, recorded or not."""
    found = []
    for pid in all_pids():
        argv = cmdline(pid)
        if not argv or os.path.basename(argv[0]) != "systemd-nspawn":
            continue
        for arg in argv:
            under = arg.startswith("--directory=") and is_under(Path(arg[12:]), state_dir)
            if under and pid_alive(pid):
                found.append(pid)
    return found


def rooted_pids(top: Path) -> list[int]:
    """Processes running on an overlay whose upper dir lies in top: container processes,
    orphaned ones included."""
    found = []
    for pid in all_pids():
        upper = overlay_upper_of_root(pid)
        if upper is not None and is_under(upper, top) and pid_alive(pid):
            found.append(pid)
    return found


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        for pid in pids:
            _reap(pid)
        if not any(pid_alive(p) for p in pids):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def _kill(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _is_pidns_init(pid: int) -> bool:
    """True for the process that is pid 1 of its own pid namespace (a container's systemd)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    ids = line.split()[1:]
                    return len(ids) > 1 and ids[-1] == "1"
    except OSError:
        pass
    return False


def kill_rooted(top: Path, timeout: float = 10.0) -> list[int]:
    """Stop every process rooted in top (orphans of a killed nspawn); return their pids.

    An orphaned container's systemd still honours SIGRTMIN+4, so it gets the chance to
    power off cleanly before whatever is left is killed.
    """
    stray = rooted_pids(top)
    if stray:
        _kill([p for p in stray if _is_pidns_init(p)], signal.SIGRTMIN + 4)
        if not _wait_gone(stray, timeout):
            _kill(rooted_pids(top), signal.SIGKILL)
            _wait_gone(stray, 5)
    return stray


def stop_nspawn(pid: int, host_dir: Path, timeout: float = STOP_TIMEOUT) -> bool:
    """Power a container off cleanly; SIGKILL what is left after timeout. True if it was clean.

    SIGRTMIN+4 to the container's init is systemd's "poweroff"; nspawn then exits by itself.
    Signalling nspawn alone has left the container's processes running as orphans, so after a
    timeout every process of the tree and every process rooted in the container is killed.
    """
    clean = True
    tree = descendants(pid)
    if tree:
        _kill(tree[:1], signal.SIGRTMIN + 4)
    if not _wait_gone([pid], timeout):
        clean = False
        _kill([pid, *descendants(pid)], signal.SIGKILL)
        _wait_gone([pid], 5)
    if kill_rooted(host_dir):
        clean = False
    return clean


def stop_host(host: HostState, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop one host (if running) and unmount its root. True unless something had to be killed."""
    # The host dir holds root, upper and work; container processes are found by their upper.
    host_dir = Path(host.root).parent
    clean = True
    if host.nspawn_pid and is_nspawn_of(host.nspawn_pid, host.root):
        clean = stop_nspawn(host.nspawn_pid, host_dir, timeout)
    elif kill_rooted(host_dir):
        clean = False
    unmount_all_under(Path(host.root))
    return clean


def ssh_banner(ip: str, timeout: float = 1.0) -> str | None:
    """The SSH identification line the host sends on port 22, or None if it does not answer."""
    try:
        with socket.create_connection((ip, 22), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = sock.recv(256)
    except OSError:
        return None
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    return line if line.startswith("SSH-") else None


def wait_for_ssh(
    hosts: list[HostState], timeout: float, progress: Callable[[str], None]
) -> list[str]:
    """Wait until every host's sshd answers; return the names that did not in time."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()

    def one(host: HostState) -> bool:
        while time.monotonic() < deadline:
            if host.nspawn_pid and not pid_alive(host.nspawn_pid):
                progress(f"  {host.name}: systemd-nspawn exited; see {host.log}")
                return False
            if ssh_banner(host.ip):
                progress(
                    f"  {host.name} ({host.ip}) answers SSH after {time.monotonic() - start:.1f} s"
                )
                return True
            time.sleep(0.3)
        return False

    with ThreadPoolExecutor(max_workers=max(1, min(32, len(hosts)))) as pool:
        results = list(pool.map(one, hosts))
    return [h.name for h, ok in zip(hosts, results, strict=True) if not ok]


def container_init(host: HostState) -> int:
    """The pid (on this machine) of the host's systemd, the first child of its nspawn."""
    if not host.nspawn_pid or not is_nspawn_of(host.nspawn_pid, host.root):
        raise LabError(f"lab host {host.name} is not running; start the lab with `ilag lab up`")
    tree = descendants(host.nspawn_pid)
    if not tree:
        raise LabError(f"lab host {host.name}: systemd-nspawn has no container process")
    return tree[0]


def in_host(host: HostState, command: list[str], what: str) -> str:
    """Run a command inside a running lab host (through its namespaces, not over SSH)."""
    init = container_init(host)
    done = run(
        [
            "nsenter",
            f"--target={init}",
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--",
            *command,
        ],
        what=f"{what} on {host.name}",
    )
    return done.stdout


def regenerate_host_key(host: HostState) -> str:
    """Give a running host a new SSH host key and restart sshd; return the new public key.

    The pinned known_hosts keeps the old key on purpose: clients must now refuse the host.
    """
    pair = generate(f"root@{host.name}")
    etc_ssh = Path(host.root) / "etc/ssh"
    write_private(etc_ssh / "ssh_host_ed25519_key", pair.private)
    (etc_ssh / "ssh_host_ed25519_key.pub").write_text(pair.public + "\n")
    in_host(host, ["systemctl", "restart", "ssh.service"], "restarting sshd")
    return pair.public
