"""Host-key pins: written and read through paramiko's HostKeys, readable by OpenSSH, enforced."""

from __future__ import annotations

import io
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ilag_infra.onsite import ssh
from ilag_infra.onsite.hostlist import SshHost

HOST = SshHost("andoy-fil01", "andoy", "127.0.0.1", 22, "root", None)
OTHER = SshHost("bo-fil01", "bo", "127.0.0.2", 22, "root", None)


def new_key() -> paramiko.PKey:
    """A fresh ed25519 key (cryptography generates it, paramiko reads it)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode()))


def key_file(directory: Path) -> tuple[Path, paramiko.PKey]:
    """An ed25519 key pair made by ssh-keygen, as an operator's would be."""
    path = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path, paramiko.Ed25519Key.from_private_key_file(str(path))


def ssh_keygen_finds(known_hosts: Path, name: str) -> list[str]:
    """The key types OpenSSH's own lookup (`ssh-keygen -F`) finds for a name."""
    proc = subprocess.run(
        ["ssh-keygen", "-F", name, "-f", str(known_hosts)], capture_output=True, text=True
    )
    return [ln.split()[1] for ln in proc.stdout.splitlines() if ln and not ln.startswith("#")]


def test_a_pin_is_found_by_paramiko_and_by_openssh_under_name_and_address(tmp_path: Path) -> None:
    kh = tmp_path / "inventories" / "andoy" / "known_hosts"
    key = new_key()
    ssh.pin(kh, HOST, key)
    assert ssh.pinned_keys(kh, HOST) == [key]
    assert ssh_keygen_finds(kh, "andoy-fil01") == ["ssh-ed25519"]
    assert ssh_keygen_finds(kh, "127.0.0.1") == ["ssh-ed25519"]
    assert ssh.pinned_keys(kh, OTHER) == []


def test_a_non_standard_port_is_pinned_as_openssh_names_it(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    host = SshHost("bo-ctl01", "bo", "127.0.0.1", 2222, "root", None)
    ssh.pin(kh, host, new_key())
    assert ssh_keygen_finds(kh, "[127.0.0.1]:2222") == ["ssh-ed25519"]
    assert ssh_keygen_finds(kh, "127.0.0.1") == []


def test_replace_drops_only_this_hosts_pins_and_keeps_comments(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    old, other, new = new_key(), new_key(), new_key()
    kh.write_text(
        "# pinned after console check, ticket 4711\n"
        f"{OTHER.name},{OTHER.address} {other.get_name()} {other.get_base64()}\n"
    )
    ssh.pin(kh, HOST, old)
    # A hashed pin of the same host (ssh-keygen -H), as an operator's tooling may leave it.
    hashed = paramiko.HostKeys.hash_host(HOST.address)
    with kh.open("a") as fh:
        fh.write(f"{hashed} {old.get_name()} {old.get_base64()}\n")
    ssh.pin(kh, HOST, new, replace=True)
    text = kh.read_text()
    assert ssh.pinned_keys(kh, HOST) == [new]
    assert old.get_base64() not in text
    assert ssh.pinned_keys(kh, OTHER) == [other]
    assert text.startswith("# pinned after console check, ticket 4711\n")
    assert ssh_keygen_finds(kh, HOST.address) == ["ssh-ed25519"]


def test_without_replace_an_earlier_pin_stays_the_trusted_one(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    first, second = new_key(), new_key()
    ssh.pin(kh, HOST, first)
    ssh.pin(kh, HOST, second)
    # paramiko trusts the first pin of a key type; the later line changes nothing.
    assert ssh.pinned_keys(kh, HOST) == [first]
    assert first.get_base64() in kh.read_text()


def test_a_marker_line_paramiko_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    revoked = new_key()
    kh.write_text(f"@revoked * {revoked.get_name()} {revoked.get_base64()}\n")
    for attempt in (
        lambda: ssh.pinned_keys(kh, HOST),
        lambda: ssh.pin(kh, HOST, new_key(), replace=True),
        lambda: ssh.connect(HOST, kh, timeout=1),
    ):
        with pytest.raises(ssh.HostKeyError, match="unreadable line '@revoked"):
            attempt()
    assert kh.read_text().startswith("@revoked * ")


def test_an_unreadable_pin_file_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_bytes(b"\xff\xfe not text\n")
    with pytest.raises(ssh.HostKeyError, match="cannot read pinned host keys"):
        ssh.pinned_keys(kh, HOST)
    with pytest.raises(ssh.HostKeyError):
        ssh.pin(kh, HOST, new_key(), replace=True)
    assert kh.read_bytes() == b"\xff\xfe not text\n"


class _AcceptKey(paramiko.ServerInterface):
    def __init__(self, client_key: paramiko.PKey) -> None:
        self.client_key = client_key

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == "root" and key == self.client_key
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[SshHost, paramiko.PKey]]:
    """A real SSH server (paramiko's) on a loopback port, accepting one client key."""
    host_key = new_key()
    client_file, client_key = key_file(tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            t = paramiko.Transport(conn)
            t.add_server_key(host_key)
            transports.append(t)
            try:
                t.start_server(server=_AcceptKey(client_key))
            except (paramiko.SSHException, EOFError, OSError):
                t.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield SshHost("andoy-fil01", "andoy", "127.0.0.1", port, "root", client_file), host_key
    stop.set()
    thread.join(5)
    for t in transports:
        t.close()
    listener.close()


def test_connect_refuses_a_host_without_a_pin(
    tmp_path: Path, server: tuple[SshHost, paramiko.PKey]
) -> None:
    host, _ = server
    with pytest.raises(ssh.HostKeyError, match="no pinned host key") as info:
        ssh.connect(host, tmp_path / "known_hosts", timeout=5)
    assert "ilag bootstrap andoy-fil01" in str(info.value)


def test_connect_refuses_a_changed_key_and_names_both_fingerprints(
    tmp_path: Path, server: tuple[SshHost, paramiko.PKey]
) -> None:
    host, presented = server
    kh = tmp_path / "known_hosts"
    pinned = new_key()
    ssh.pin(kh, host, pinned)
    with pytest.raises(ssh.HostKeyError, match="HOST KEY MISMATCH") as info:
        ssh.connect(host, kh, timeout=5)
    assert ssh.fingerprint(presented) in str(info.value)
    assert ssh.fingerprint(pinned) in str(info.value)
    assert "--replace" in str(info.value)


def test_connect_with_the_pinned_key_logs_in(
    tmp_path: Path, server: tuple[SshHost, paramiko.PKey]
) -> None:
    host, presented = server
    kh = tmp_path / "known_hosts"
    assert ssh.fetch_host_key(host.address, host.port, timeout=5) == presented
    ssh.pin(kh, host, presented)
    client = ssh.connect(host, kh, timeout=5)
    try:
        transport = client.get_transport()
        assert transport is not None and transport.is_authenticated()
        assert transport.get_remote_server_key() == presented
    finally:
        client.close()


def test_fingerprint_is_what_ssh_keygen_prints(tmp_path: Path) -> None:
    path, key = key_file(tmp_path)
    printed = subprocess.run(
        ["ssh-keygen", "-lf", f"{path}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert ssh.fingerprint(key) == printed


def test_a_public_key_line_is_parsed_by_paramiko_or_refused(tmp_path: Path) -> None:
    path, key = key_file(tmp_path)
    line = Path(f"{path}.pub").read_text()
    assert ssh.public_key(line) == key
    for bad in ("", "ssh-ed25519", "ssh-ed25519 not-base64!", f"ssh-rsa {key.get_base64()}"):
        with pytest.raises(ssh.HostKeyError, match="not an OpenSSH public key line"):
            ssh.public_key(bad)
