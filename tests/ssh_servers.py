"""Real SSH servers (paramiko's) on loopback addresses, for the client side under test.

A server runs commands only as far as these tests need (`hostname` prints its name), and a
jump server forwards `direct-tcpip` channels to the destinations it is told to allow, as
sshd's PermitOpen does. Each server records who connected from where, so a test can show
that a target was reached only through its jump host.
"""

from __future__ import annotations

import io
import select
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def new_key() -> paramiko.PKey:
    """A fresh ed25519 key (cryptography generates it, paramiko reads it)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode()))


def key_file(directory: Path, name: str = "id_ed25519") -> tuple[Path, paramiko.PKey]:
    """An ed25519 key pair made by ssh-keygen, as an operator's would be."""
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path, paramiko.Ed25519Key.from_private_key_file(str(path))


class _Interface(paramiko.ServerInterface):
    def __init__(self, server: SshServer) -> None:
        self.server = server
        self.destinations: dict[int, tuple[str, int]] = {}

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == self.server.user and key == self.server.client_key
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        wanted = (str(destination[0]), int(destination[1]))
        self.server.forward_requests.append(wanted)
        if wanted not in self.server.permit_open:
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        self.destinations[chanid] = wanted
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        reply = self.server.name if command == b"hostname" else None
        threading.Thread(target=_answer, args=(channel, reply), daemon=True).start()
        return True


def _answer(channel: paramiko.Channel, reply: str | None) -> None:
    if reply is None:
        channel.sendall_stderr(b"unknown command\n")
    else:
        channel.sendall(reply.encode() + b"\n")
    channel.send_exit_status(0 if reply is not None else 127)
    channel.shutdown_write()
    # The transport sends its "exec accepted" reply after this thread started: a close sent
    # before it would end the client's wait with "Channel closed". Output, status and EOF may
    # come first; the close waits.
    time.sleep(0.5)
    channel.close()


class SshServer:
    """One SSH server on address:(a free port), accepting one user with one client key.

    permit_open: where it forwards direct-tcpip channels to (nowhere by default).
    only_from: if set, the client (address, port) ends that may connect (e.g. a jump server's
    forward_sources); others are cut off before the SSH handshake and recorded in `refused`.
    """

    def __init__(
        self,
        name: str,
        address: str,
        client_key: paramiko.PKey,
        user: str = "root",
        permit_open: set[tuple[str, int]] | None = None,
    ) -> None:
        self.name = name
        self.host_key = new_key()
        self.client_key = client_key
        self.user = user
        self.permit_open = permit_open or set()
        self.only_from: set[tuple[str, int]] | None = None
        self.accepted: list[tuple[str, int]] = []
        self.refused: list[tuple[str, int]] = []
        self.forward_requests: list[tuple[str, int]] = []
        # The local ends of the connections this server opened for forwarded channels.
        self.forward_sources: set[tuple[str, int]] = set()
        self._listener = socket.create_server((address, 0))
        self.address, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._closables: list[paramiko.Transport | socket.socket | paramiko.Channel] = []

    def __enter__(self) -> SshServer:
        self._spawn(self._serve)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for item in list(self._closables):
            item.close()
        self._listener.close()
        for thread in list(self._threads):
            thread.join(5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, peer = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            peer = (peer[0], peer[1])
            if self.only_from is not None and peer not in self.only_from:
                self.refused.append(peer)
                conn.close()
                continue
            self.accepted.append(peer)
            self._spawn(self._session, conn)

    def _session(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        self._closables.append(transport)
        transport.add_server_key(self.host_key)
        interface = _Interface(self)
        try:
            transport.start_server(server=interface)
        except (paramiko.SSHException, EOFError, OSError):
            transport.close()
            return
        while transport.is_active() and not self._stop.is_set():
            channel = transport.accept(0.2)
            if channel is None:
                continue
            destination = interface.destinations.pop(channel.get_id(), None)
            if destination is not None:
                self._spawn(self._forward, channel, destination)

    def _forward(self, channel: paramiko.Channel, destination: tuple[str, int]) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Bound before connecting, so the destination knows this end before it can accept it.
        sock.bind(("127.0.0.1", 0))
        self.forward_sources.add(sock.getsockname()[:2])
        self._closables += [sock, channel]
        try:
            sock.settimeout(5)
            sock.connect(destination)
            sock.settimeout(None)
        except OSError:
            sock.close()
            channel.close()
            return
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([channel, sock], [], [], 0.2)
                if channel in ready:
                    data = channel.recv(65536)
                    if not data:
                        break
                    sock.sendall(data)
                if sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        break
                    channel.sendall(data)
        except (OSError, ValueError, EOFError, paramiko.SSHException):
            pass  # either end closed (a closed socket in select() is a ValueError)
        finally:
            sock.close()
            channel.close()
