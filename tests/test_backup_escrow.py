"""The restic password escrow: the right escrow opens a real repository, a wrong or missing
one fails with the municipality and the fix. restic runs for real on a local repository, once
directly and once over a real SSH connection (paramiko's server on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import paramiko
import pytest

from ilag_infra.cli.backup_views import escrow_line
from ilag_infra.onsite import backup, escrow, ssh
from ilag_infra.onsite.hostlist import SshHost
from tests.test_ssh_host_key_pins import key_file, new_key

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic not installed")

RIGHT = "the-password-the-repository-was-made-with"
WRONG = "a-password-nobody-made-a-repository-with"
REPO = Path(__file__).resolve().parents[1]
HOST = SshHost("andoy-fil01", "andoy", "127.0.0.1", 22, "root", None)


@pytest.fixture(scope="module")
def host_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A host's /etc/ilag-backup/env as the backup role writes it, for a local repository
    created with RIGHT; the host's own password file holds RIGHT too."""
    root = tmp_path_factory.mktemp("host")
    password = root / "password"
    password.write_text(RIGHT)
    password.chmod(0o600)
    env = root / "env"
    env.write_text(
        f"RESTIC_REPOSITORY={root / 'repo'}\n"
        f"RESTIC_PASSWORD_FILE={password}\n"
        f"RESTIC_CACHE_DIR={root / 'cache'}\n"
    )
    subprocess.run(
        ["sh", "-c", f"set -a && . {env} && set +a && restic init"],
        check=True,
        capture_output=True,
    )
    return env


def _check_locally(env: Path, escrowed: str) -> str | None:
    proc = subprocess.run(
        ["sh", "-c", escrow.check_command(str(env))],
        input=escrowed,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return escrow.verdict(proc.returncode, proc.stderr)


def test_the_right_escrow_opens_the_repository(host_env: Path) -> None:
    assert _check_locally(host_env, RIGHT) is None


def test_a_wrong_escrow_fails_although_the_hosts_own_password_is_right(host_env: Path) -> None:
    # The host's password file (RIGHT) must not be what opens the repository.
    error = _check_locally(host_env, WRONG)
    assert error is not None and "escrowed password does not open" in error
    assert WRONG not in error and RIGHT not in error


def test_the_escrow_is_used_even_when_the_hosts_password_file_is_wrong(
    host_env: Path, tmp_path: Path
) -> None:
    wrong_file = tmp_path / "password"
    wrong_file.write_text(WRONG)
    env = tmp_path / "env"
    env.write_text(host_env.read_text().replace(str(host_env.parent / "password"), str(wrong_file)))
    assert _check_locally(env, RIGHT) is None


def test_a_missing_repository_is_named(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text(f"RESTIC_REPOSITORY={tmp_path / 'nothing'}\n")
    error = _check_locally(env, RIGHT)
    assert error is not None and "unable to open config file" in error


# --- over SSH, as `ilag backup status` runs it ----------------------------------------------


class _RunLocally(paramiko.ServerInterface):
    """Accepts one client key and runs each exec request with sh, stdin from the channel."""

    def __init__(self, client_key: paramiko.PKey) -> None:
        self.client_key = client_key

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
        def run() -> None:
            data = channel.makefile("rb").read()  # until the client closes its side
            proc = subprocess.run(
                ["sh", "-c", command.decode()], input=data, capture_output=True, timeout=120
            )
            channel.sendall(proc.stdout)
            channel.sendall_stderr(proc.stderr)
            channel.send_exit_status(proc.returncode)
            channel.close()

        threading.Thread(target=run, daemon=True).start()
        return True


@pytest.fixture
def ssh_host(tmp_path: Path) -> Iterator[tuple[SshHost, Path]]:
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
                t.start_server(server=_RunLocally(client_key))
            except (paramiko.SSHException, EOFError, OSError):
                t.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host = SshHost("andoy-fil01", "andoy", "127.0.0.1", port, "root", client_file)
    kh = tmp_path / "known_hosts"
    ssh.pin(kh, host, host_key)
    yield host, kh
    stop.set()
    thread.join(5)
    for t in transports:
        t.close()
    listener.close()


@pytest.mark.parametrize(("escrowed", "opens"), [(RIGHT, True), (WRONG, False)])
def test_the_escrow_travels_on_stdin_over_ssh(
    ssh_host: tuple[SshHost, Path], host_env: Path, escrowed: str, opens: bool
) -> None:
    host, kh = ssh_host
    client = ssh.connect(host, kh, timeout=5)
    try:
        command = escrow.check_command(str(host_env))
        assert escrowed not in command  # never on a command line
        rc, _, err = ssh.run(client, command, timeout=120, stdin=escrowed)
    finally:
        client.close()
    assert (escrow.verdict(rc, err) is None) is opens


# --- where the escrow comes from, and what a person reads ------------------------------------


def test_the_lab_escrow_is_written_0600_and_read_back(tmp_path: Path) -> None:
    [path] = escrow.lab_write(tmp_path, {"andoy": RIGHT})
    assert path == tmp_path / "escrow" / "restic-password-andoy"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert escrow.LabFileEscrow(tmp_path).read("andoy") == RIGHT


def test_a_missing_lab_escrow_fails_naming_the_municipality_and_the_fix(tmp_path: Path) -> None:
    source = escrow.LabFileEscrow(tmp_path)
    found, failed = escrow.read_all(source, ["andoy"])
    assert found == {}
    line = failed["andoy"].summary()
    assert line.startswith("escrow andoy: FAIL no escrowed restic password")
    assert str(tmp_path / "escrow" / "restic-password-andoy") in line
    assert "ilag lab up" in line
    assert not failed["andoy"].ok


def test_an_escrow_others_can_read_is_refused(tmp_path: Path) -> None:
    [path] = escrow.lab_write(tmp_path, {"bo": RIGHT})
    path.chmod(0o644)
    with pytest.raises(escrow.EscrowUnavailable, match="readable by others") as info:
        escrow.LabFileEscrow(tmp_path).read("bo")
    assert f"chmod 600 {path}" in str(info.value)


def test_production_says_what_is_not_built(tmp_path: Path) -> None:
    with pytest.raises(escrow.EscrowUnavailable) as info:
        escrow.KeyVaultEscrow().read("andoy")
    text = str(info.value)
    assert "not built" in text and "restic-password-andoy" in text and "--no-escrow" in text


def test_the_verdict_per_municipality_names_each_failing_host_and_the_fix() -> None:
    source = escrow.KeyVaultEscrow()
    ok = backup.BackupStatus(HOST, "ok", escrow_checked=True)
    bad = backup.BackupStatus(
        SshHost("andoy-app01", "andoy", "127.0.0.2", 22, "root", None),
        "ok",
        escrow_checked=True,
        escrow_error=escrow.verdict(1, "Fatal: wrong password or no key found\n"),
    )
    down = backup.BackupStatus(
        SshHost("bo-fil01", "bo", "127.0.0.3", 22, "root", None), "unreachable", error="timed out"
    )
    checks = backup.escrow_checks(["andoy", "bo"], source, [ok, bad, down], {})
    andoy, bo = checks
    assert not andoy.ok and not bo.ok
    text = andoy.summary()
    assert text.startswith("escrow andoy: FAIL andoy-app01: the escrowed password does not open")
    assert "andoy-fil01" not in text
    assert "'ilag:resticPasswords.andoy'" in text and "pulumi up -s backup" in text
    assert "bo-fil01: not tried: the host is unreachable (timed out)" in bo.summary()
    assert escrow_line(andoy).startswith("[bold red]")
    good = backup.escrow_checks(["andoy"], source, [ok], {})[0]
    assert good.ok and good.summary() == "escrow andoy: ok (opens the repositories of andoy-fil01)"
    assert escrow_line(good).startswith("[green]")


def test_a_failed_escrow_goes_into_the_hosts_rows_and_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    rows = [backup.BackupStatus(HOST, "ok")]
    _, failed = escrow.read_all(escrow.LabFileEscrow(tmp_path), ["andoy"])
    checks = backup.escrow_checks(["andoy"], escrow.LabFileEscrow(tmp_path), rows, failed)
    assert rows[0].to_dict()["escrow"] == "failed"
    assert "ilag lab up" in str(rows[0].to_dict()["escrow_error"])
    [record] = backup.write_records(REPO, "lab", "status", rows, timedelta(hours=26), checks)
    assert record.parent == tmp_path / "runs"
    data = json.loads(record.read_text())
    assert data["escrow"]["ok"] is False and data["escrow"]["municipality"] == "andoy"


def test_the_lab_writes_the_escrow_where_backup_status_reads_it(tmp_path: Path) -> None:
    from ilag_infra.lab.paths import LabPaths

    paths = LabPaths(state=tmp_path, cache=tmp_path / "cache")
    [written] = escrow.lab_write(paths.state, {"bo": RIGHT})
    assert written.parent == paths.escrow
    assert written == escrow.lab_file(paths.state, "bo")
