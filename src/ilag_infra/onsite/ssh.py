"""SSH with paramiko: connections that trust only pinned host keys, and first-contact pinning."""

from __future__ import annotations

import base64
import hashlib
import socket
from pathlib import Path

import paramiko

from ilag_infra.model.errors import IlagError
from ilag_infra.onsite.hostlist import SshHost


class HostKeyError(IlagError):
    """The host's key is not the pinned one, or no key is pinned."""


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _lookup_name(host: SshHost) -> str:
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


def connect(host: SshHost, known_hosts: Path, timeout: float = 8.0) -> paramiko.SSHClient:
    """Connect with the pinned known_hosts only: unknown or changed keys are refused."""
    client = paramiko.SSHClient()
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
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyError(
            f"HOST KEY MISMATCH for {host.name} ({host.address}): it presented "
            f"{fingerprint(exc.key)}, pinned is {fingerprint(exc.expected_key)} in {known_hosts}. "
            "Refusing to connect. If the server was reinstalled, verify the new key out of band "
            f"and re-pin it with `ilag bootstrap {host.name} --replace` (same --env)."
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise HostKeyError(
                f"{host.name} ({host.address}) has no pinned host key in "
                f"{known_hosts}; pin it with `ilag bootstrap {host.name}` (same --env)"
            ) from None
        raise
    return client


def run(client: paramiko.SSHClient, command: str, timeout: float = 20.0) -> tuple[int, str, str]:
    """Run a command; return (exit status, stdout, stderr)."""
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    out = stdout.read().decode(errors="replace")
    err = stderr.read().decode(errors="replace")
    return stdout.channel.recv_exit_status(), out, err


def fetch_host_key(address: str, port: int = 22, timeout: float = 8.0) -> paramiko.PKey:
    """The key a server presents, without authenticating or trusting it."""
    sock = socket.create_connection((address, port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    finally:
        transport.close()


def pinned_keys(known_hosts: Path, host: SshHost) -> list[paramiko.PKey]:
    if not known_hosts.exists():
        return []
    hk = paramiko.HostKeys(str(known_hosts))
    found: list[paramiko.PKey] = []
    for name in (_lookup_name(host), host.name):
        entry = hk.lookup(name)
        if entry:
            found.extend(entry.values())
    return found


def pin(known_hosts: Path, host: SshHost, key: paramiko.PKey, replace: bool = False) -> None:
    """Write host's key to known_hosts under its name and address."""
    names = {host.name, _lookup_name(host)}
    lines = known_hosts.read_text(encoding="utf-8").splitlines() if known_hosts.exists() else []
    if replace:
        lines = [ln for ln in lines if not (set(ln.split(" ", 1)[0].split(",")) & names)]
    lines.append(f"{','.join(sorted(names))} {key.get_name()} {key.get_base64()}")
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    known_hosts.write_text("\n".join(lines) + "\n", encoding="utf-8")
