"""`ilag backup status` with the escrow, end to end: the CLI resolves the host from the
inventories (lab overlay included), connects over real SSH to a loopback server, reads the
backup fact and opens a real local restic repository with the escrowed password.

The server runs each command with sh on this machine; the host's two fixed paths (the backup
environment file and the fact) point into a temporary directory instead.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paramiko
import pytest

from ilag_infra.cli.app import main
from ilag_infra.onsite import backup, escrow, restic, ssh
from ilag_infra.onsite.hostlist import SshHost
from tests.test_ssh_host_key_pins import key_file, new_key

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic not installed")

RIGHT = "the-password-the-repository-was-made-with"


class _Host(paramiko.ServerInterface):
    """Accepts one client key; runs each command with sh, the host's paths moved to root."""

    def __init__(self, client_key: paramiko.PKey, root: Path) -> None:
        self.client_key, self.root = client_key, root

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == "root" and key == self.client_key
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        line = (
            command.decode()
            .replace(restic.ENV_FILE, str(self.root / "env"))
            .replace(backup.FACT, str(self.root / "fact"))
        )
        # Only the escrow check sends standard input (and closes it); others get none.
        reads_stdin = "/dev/stdin" in line

        def run() -> None:
            data = channel.makefile("rb").read() if reads_stdin else b""
            proc = subprocess.run(["sh", "-c", line], input=data, capture_output=True, timeout=120)
            channel.sendall(proc.stdout)
            channel.sendall_stderr(proc.stderr)
            channel.send_exit_status(proc.returncode)
            channel.close()

        threading.Thread(target=run, daemon=True).start()
        return True


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A lab state dir whose overlay puts andoy-fil01 on a loopback SSH server, its
    repository made with RIGHT; returns the lab state dir."""
    state = tmp_path / "lab"
    host_root = tmp_path / "host"
    host_root.mkdir()
    (host_root / "password").write_text(RIGHT)
    (host_root / "env").write_text(
        f"RESTIC_REPOSITORY={host_root / 'repo'}\n"
        f"RESTIC_PASSWORD_FILE={host_root / 'password'}\n"
        f"RESTIC_CACHE_DIR={host_root / 'cache'}\n"
    )
    subprocess.run(
        ["sh", "-c", f"set -a && . {host_root / 'env'} && set +a && restic init"],
        check=True,
        capture_output=True,
    )
    fact = {
        "state": "ok",
        "last_success": datetime.now(UTC).isoformat(timespec="seconds"),
        "last_snapshot_id": "4f1c2a9e",
    }
    (host_root / "fact").write_text(f"#!/bin/sh\necho '{json.dumps(fact)}'\n")
    (host_root / "fact").chmod(0o755)

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
                t.start_server(server=_Host(client_key, host_root))
            except (paramiko.SSHException, EOFError, OSError):
                t.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    (state / "inventory").mkdir(parents=True)
    (state / "inventory" / "andoy.yml").write_text(
        "---\nall:\n  children:\n    ilag_lab:\n      hosts:\n        andoy-fil01:\n"
        f"          ansible_host: 127.0.0.1\n          ansible_port: {port}\n"
        f"          ansible_user: root\n          ansible_ssh_private_key_file: {client_file}\n"
    )
    (state / "state.json").write_text(json.dumps({"lab_prefix": "127.0.0.0/8"}))
    (state / "known_hosts").mkdir()
    ssh.pin(
        state / "known_hosts" / "andoy",
        SshHost("andoy-fil01", "andoy", "127.0.0.1", port, "root", None),
        host_key,
    )
    monkeypatch.setenv("ILAG_LAB_DIR", str(state))
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    for name in ("ILAG_ENV", "ILAG_REGION", "ILAG_OUTPUTS"):
        monkeypatch.delenv(name, raising=False)
    yield state
    stop.set()
    thread.join(5)
    for t in transports:
        t.close()
    listener.close()


def _status(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    rc = main(["backup", "status", "andoy", *extra])
    captured = capsys.readouterr()
    return rc, " ".join((captured.out + captured.err).split())


def test_the_right_escrow_is_ok(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    escrow.lab_write(lab, {"andoy": RIGHT})
    rc, out = _status(capsys)
    assert rc == 0, out
    assert "escrow andoy: ok (opens the repositories of andoy-fil01)" in out
    assert RIGHT not in out
    [record] = (lab.parent / "runs").glob("*-backup-andoy.json")
    data = json.loads(record.read_text())
    assert data["ok"] is True and data["escrow"]["ok"] is True
    assert data["hosts"][0]["escrow"] == "ok"
    assert RIGHT not in record.read_text()


def test_a_wrong_escrow_fails_naming_the_municipality_and_the_fix(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    escrow.lab_write(lab, {"andoy": "not-the-password"})
    rc, out = _status(capsys)
    assert rc == 1, out
    assert "escrow andoy: FAIL andoy-fil01: the escrowed password does not open" in out
    assert "fix: put the password these repositories were created with" in out
    assert "sudo ilag lab up" in out
    assert "not-the-password" not in out
    # As JSON: the host's row says so, and the exit code is the same.
    rc, out = _status(capsys, "--json")
    assert rc == 1
    row = json.loads(out[out.index("[") :])[0]
    assert row["escrow"] == "failed" and "does not open" in row["escrow_error"]


def test_a_missing_escrow_fails_with_the_fix_and_no_escrow_skips_it(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _status(capsys)
    assert rc == 1, out
    assert "escrow andoy: FAIL no escrowed restic password" in out
    assert "restic-password-andoy" in out and "ilag lab up" in out
    rc, out = _status(capsys, "--no-escrow")
    assert rc == 0, out
    assert "escrow andoy" not in out
