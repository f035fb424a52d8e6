"""SSH with paramiko: connections that trust only pinned host keys, and first-contact pinning."""

from __future__ import annotations

import base64
import binascii
import hashlib
import socket
from collections.abc import Iterable
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

from ilag_infra.model.errors import IlagError
from ilag_infra.model.jump_host import Jump
from ilag_infra.onsite.hostlist import SshHost


class HostKeyError(IlagError):
    """The host's key is not the pinned one, or no key is pinned."""


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _lookup_name(host: SshHost | Jump) -> str:
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


class JumpedClient(paramiko.SSHClient):
    """A connection that runs through a jump host's connection: closing it closes both."""

    def __init__(self, jump: paramiko.SSHClient) -> None:
        super().__init__()
        self.jump = jump  # kept so the jump connection lives as long as this one

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.jump.close()


def connect(host: SshHost, known_hosts: Path, timeout: float = 8.0) -> paramiko.SSHClient:
    """Connect with the pinned known_hosts only: unknown or changed keys are refused.

    With a jump host (ProxyJump in the inventory) the jump host is reached first, under the
    same pins and the same key or agent, and the target through a forwarded channel on it.
    """
    _read_pins(known_hosts)  # an unreadable pin file is a HostKeyError, not a traceback
    if host.jump is None:
        return _login(paramiko.SSHClient(), host, known_hosts, timeout)
    jump = open_jump(host, known_hosts, timeout)
    try:
        channel = _forward(jump, host.address, host.port, host.name, timeout)
        return _login(JumpedClient(jump), host, known_hosts, timeout, sock=channel)
    except BaseException:
        jump.close()
        raise


def open_jump(host: SshHost, known_hosts: Path, timeout: float = 8.0) -> paramiko.SSHClient:
    """The connection to the host's jump host, its key checked against the same pins."""
    if host.jump is None:
        raise ValueError(f"{host.name} has no jump host")
    hop = SshHost(
        name=f"the jump host of {host.name}",
        municipality=host.municipality,
        address=host.jump.address,
        port=host.jump.port,
        user=host.jump.user,
        key_file=host.key_file,
    )
    try:
        return _login(paramiko.SSHClient(), hop, known_hosts, timeout, jump_for=host)
    except (OSError, paramiko.SSHException) as exc:
        # Say which leg failed: "connection refused" alone would blame the target.
        raise paramiko.SSHException(
            f"jump host {host.jump} for {host.name}: {exc or type(exc).__name__}"
        ) from None


def _forward(
    jump: paramiko.SSHClient, address: str, port: int, what: str, timeout: float
) -> paramiko.Channel:
    """A direct-tcpip channel from the jump host to address:port (the server `what`)."""
    transport = jump.get_transport()
    if transport is None:
        raise paramiko.SSHException(f"the jump host for {what} closed the connection")
    try:
        return transport.open_channel(
            "direct-tcpip", (address, port), ("127.0.0.1", 0), timeout=timeout
        )
    except paramiko.ChannelException as exc:
        raise paramiko.SSHException(
            f"the jump host did not open a connection to {what} ({address}:{port}): "
            f"{exc.text} (does it allow TCP forwarding to there?)"
        ) from None


def _login(
    client: paramiko.SSHClient,
    host: SshHost,
    known_hosts: Path,
    timeout: float,
    sock: paramiko.Channel | None = None,
    jump_for: SshHost | None = None,
) -> paramiko.SSHClient:
    """Authenticate to one server whose key must be pinned; jump_for: it is that host's jump."""
    if known_hosts.exists():
        client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            host.address,
            port=host.port,
            username=host.user,
            key_filename=str(host.key_file) if host.key_file else None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            allow_agent=host.key_file is None,
            look_for_keys=host.key_file is None,
            sock=sock,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyError(
            f"HOST KEY MISMATCH for {host.name} ({host.address}): it presented "
            f"{fingerprint(exc.key)}, pinned is {fingerprint(exc.expected_key)} in {known_hosts}. "
            "Refusing to connect. " + _repin_fix(host, known_hosts, jump_for, replace=True)
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise HostKeyError(
                f"{host.name} ({host.address}) has no pinned host key in "
                f"{known_hosts}; " + _repin_fix(host, known_hosts, jump_for, replace=False)
            ) from None
        raise
    except BaseException:
        client.close()
        raise
    return client


def _repin_fix(host: SshHost, known_hosts: Path, jump_for: SshHost | None, replace: bool) -> str:
    if jump_for is None:
        if replace:
            return (
                "If the server was reinstalled, verify the new key out of band "
                f"and re-pin it with `ilag bootstrap {host.name} --replace` (same --env)."
            )
        return f"pin it with `ilag bootstrap {host.name}` (same --env)"
    # A jump host need not be an inventory host, so bootstrap may not know it by name.
    line = f"`{_lookup_name(host)} <keytype> <key>`"
    if replace:
        return (
            "If the jump host was reinstalled, verify its new key out of band and replace its "
            f"line {line} in {known_hosts} (or run `ilag bootstrap NAME --replace` if the jump "
            "host is in the inventory)."
        )
    return (
        "check its key's fingerprint on the jump host's console, then add the line "
        f"{line} to {known_hosts} (or run `ilag bootstrap NAME` if the jump host is in the "
        "inventory)"
    )


def run(
    client: paramiko.SSHClient, command: str, timeout: float = 20.0, stdin: str | None = None
) -> tuple[int, str, str]:
    """Run a command; return (exit status, stdout, stderr). stdin, if given, is written to
    the command and closed: how a secret reaches a host without a command line or a file."""
    channel_in, stdout, stderr = client.exec_command(command, timeout=timeout)
    if stdin is not None:
        channel_in.write(stdin)
        channel_in.flush()
        channel_in.channel.shutdown_write()
    out = stdout.read().decode(errors="replace")
    err = stderr.read().decode(errors="replace")
    return stdout.channel.recv_exit_status(), out, err


def fetch_host_key(
    address: str, port: int = 22, timeout: float = 8.0, via: paramiko.SSHClient | None = None
) -> paramiko.PKey:
    """The key a server presents, without authenticating or trusting it.

    via: an open connection to a jump host, which opens the connection to the server.
    """
    sock: socket.socket | paramiko.Channel
    if via is None:
        sock = socket.create_connection((address, port), timeout=timeout)
    else:
        sock = _forward(via, address, port, address, timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    finally:
        transport.close()


def host_key_of(host: SshHost, known_hosts: Path, timeout: float = 8.0) -> paramiko.PKey:
    """The key the host presents, reached the way every command reaches it (jump included).

    The jump host itself must already be pinned: first contact never trusts the path to it.
    """
    if host.jump is None:
        return fetch_host_key(host.address, host.port, timeout)
    jump = open_jump(host, known_hosts, timeout)
    try:
        return fetch_host_key(host.address, host.port, timeout, via=jump)
    finally:
        jump.close()


def _read_pins(known_hosts: Path) -> paramiko.HostKeys:
    """The pins in a known_hosts file, parsed by paramiko (hashed names included)."""
    if not known_hosts.exists():
        return paramiko.HostKeys()
    try:
        return paramiko.HostKeys(str(known_hosts))
    except InvalidHostKey as exc:
        # paramiko reads no @revoked/@cert-authority markers; it refuses the whole file.
        raise HostKeyError(
            f"cannot read pinned host keys from {known_hosts}: unreadable line {exc.line!r}; "
            "keep only `names keytype key` lines in it"
        ) from None
    except (OSError, UnicodeDecodeError, paramiko.SSHException) as exc:
        raise HostKeyError(f"cannot read pinned host keys from {known_hosts}: {exc}") from None


def pinned_keys(known_hosts: Path, host: SshHost) -> list[paramiko.PKey]:
    """The keys pinned for the host, under its address (and port) or its inventory name."""
    pins = _read_pins(known_hosts)
    found: list[paramiko.PKey] = []
    for name in (_lookup_name(host), host.name):
        entry = pins.lookup(name)
        if entry:
            found.extend(k for k in entry.values() if k not in found)
    return found


def public_key(line: str) -> paramiko.PKey:
    """An OpenSSH public key line ("ssh-ed25519 AAAA… comment") as a key paramiko checks."""
    try:
        keytype, blob = line.split()[:2]
        return paramiko.PKey.from_type_string(keytype, base64.b64decode(blob, validate=True))
    except (ValueError, binascii.Error, paramiko.SSHException) as exc:
        raise HostKeyError(f"not an OpenSSH public key line: {line[:40]!r}… ({exc})") from None


def known_hosts_line(names: Iterable[str], key: paramiko.PKey) -> str:
    """One known_hosts line pinning `key` under every name (in the order given)."""
    line = HostKeyEntry(list(dict.fromkeys(names)), key).to_line()
    if not line:
        raise HostKeyError(f"cannot write a known_hosts line for {', '.join(names)}")
    return str(line)


def _pins_any(line: str, names: set[str]) -> bool:
    """Whether a known_hosts line pins a key for one of the names (hashed or plain).

    Lines that are no pin (comments, blank lines, key types paramiko does not know) never
    match, so they are kept as they are.
    """
    try:
        entry = HostKeyEntry.from_line(line.strip())
    except (paramiko.SSHException, InvalidHostKey):
        return False
    if entry is None or entry.key is None:
        return False
    one = paramiko.HostKeys()
    one.add(entry.hostnames[0], entry.key.get_name(), entry.key)
    for extra in entry.hostnames[1:]:
        one.add(extra, entry.key.get_name(), entry.key)
    return any(one.lookup(name) for name in names)


def pin(known_hosts: Path, host: SshHost, key: paramiko.PKey, replace: bool = False) -> None:
    """Pin host's key under its name and address; with replace, drop its earlier pins first.

    Only the lines for this host change: other hosts' pins and comments stay as written.
    """
    names = [host.name, _lookup_name(host)]
    _read_pins(known_hosts)  # refuse to rewrite a file that cannot be read
    lines = (
        known_hosts.read_text(encoding="utf-8").splitlines(keepends=True)
        if known_hosts.exists()
        else []
    )
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if replace:
        lines = [ln for ln in lines if not _pins_any(ln, set(names))]
    lines.append(known_hosts_line(names, key))
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    known_hosts.write_text("".join(lines), encoding="utf-8")
