"""Warnings before a credential runs out or gets old (the site SAS, the SSH user CA keys, node
certificates, technicians' certificates), each naming file, key, date and fix; bad settings exit 2.

Real stack files, real keys and certificates from ssh-keygen, a real SSH server on loopback;
"now" is passed in."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paramiko
import pytest

from ilag_infra.cli.app import main
from ilag_infra.cli.views import preflight_json
from ilag_infra.model import expiry
from ilag_infra.onsite import node_cert, preflight, ssh
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target

REPO = Path(__file__).resolve().parents[1]


def _repo(tmp_path: Path, sas: str, days: str | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("region.yaml", "inventories", "roles", "systems.yaml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        elif src.exists():
            shutil.copy(src, tmp_path / name)
    (tmp_path / "stacks").mkdir()
    text = (REPO / "stacks" / "Pulumi.backup.yaml").read_text("utf-8")
    text = text.replace('ilag:sasExpiry: "2027-06-30T00:00:00Z"', f'ilag:sasExpiry: "{sas}"')
    if days is not None:
        text = text.replace("ilag:expiryWarningDays: 60", f"ilag:expiryWarningDays: {days}")
    (tmp_path / "stacks" / "Pulumi.backup.yaml").write_text(text, "utf-8")
    return tmp_path


def test_no_warning_far_from_the_date(tmp_path: Path) -> None:
    root = _repo(tmp_path, "2027-06-30T00:00:00Z")
    assert expiry.warnings(root, datetime(2026, 12, 3, tzinfo=UTC)) == []


def test_a_warning_inside_the_window_names_file_line_key_and_fix(tmp_path: Path) -> None:
    root = _repo(tmp_path, "2027-01-15T00:00:00Z")
    [w] = expiry.warnings(root, datetime(2026, 12, 3, tzinfo=UTC))
    assert w.file == "stacks/Pulumi.backup.yaml" and w.key == "ilag:sasExpiry" and w.line
    assert "2027-01-15, in 43 day(s)" in w.message
    assert "pulumi config set ilag:sasExpiry" in w.fix and "ilag apply --all" in w.fix
    # The window is a setting.
    narrow = _repo(tmp_path / "narrow", "2027-01-15T00:00:00Z", days="30")
    assert expiry.warnings(narrow, datetime(2026, 12, 3, tzinfo=UTC)) == []


def test_a_passed_date_says_backups_fail(tmp_path: Path) -> None:
    root = _repo(tmp_path, "2026-11-30T00:00:00Z")
    [w] = expiry.warnings(root, datetime(2026, 12, 3, tzinfo=UTC))
    assert "ran out on 2026-11-30" in w.message and "403" in w.message


def test_validate_prints_and_reports_the_warning_and_still_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0)
    root = _repo(
        tmp_path, f"{soon.year + (soon.month == 12)}-{soon.month % 12 + 1:02d}-01T00:00:00Z"
    )
    assert main(["validate", "--region", str(root / "region.yaml"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [w["key"] for w in doc["expiry_warnings"]] == ["ilag:sasExpiry"]
    assert main(["validate", "--region", str(root / "region.yaml")]) == 0
    out = capsys.readouterr().out
    assert "warning" in out and "ilag:sasExpiry" in out and "fix:" in out


# --- SSH user CA keys: the identity stack's keys get old ------------------------------------

PLACEHOLDER_FP = "SHA256:yMCW4GyoBq6AgxvZ7eGjWFTD0C6c6RPI04fXhmp7SBI"
MAY_1 = datetime(2027, 5, 1, tzinfo=UTC)  # the placeholder key (2026-06-01) gets old 2027-06-01


def _identity(root: Path, replace: dict[str, str] | None = None, add: str = "") -> Path:
    """The shipped identity stack file under root, with text replaced and lines added."""
    if not (root / "region.yaml").exists():
        _repo(root, "2027-06-30T00:00:00Z")
    text = (REPO / "stacks" / "Pulumi.identity.yaml").read_text("utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    (root / "stacks" / "Pulumi.identity.yaml").write_text(text + add, "utf-8")
    return root


def _ca_dues(root: Path, now: datetime) -> list[expiry.Due]:
    return [d for d in expiry.due(root, now) if d.kind in (expiry.CA_KEY, expiry.CA_UNDATED)]


def test_the_shipped_files_warn_of_nothing_today_and_read_cleanly() -> None:
    assert expiry.settings_problems(REPO) == []
    assert expiry.warnings(REPO, datetime(2026, 12, 3, tzinfo=UTC)) == []


def test_a_ca_key_warns_inside_its_window_only(tmp_path: Path) -> None:
    root = _identity(tmp_path)
    [w] = [d.problem() for d in _ca_dues(root, MAY_1)]
    assert w.file == "stacks/Pulumi.identity.yaml" and w.key == "ilag:sshUserCaCreated" and w.line
    assert PLACEHOLDER_FP in w.message and "ilag-user-ca-placeholder" in w.message
    assert "maximum age of 365 days on 2027-06-01, in 31 day(s)" in w.message
    assert "Rotating the CA" in w.fix and "pulumi up -s identity" in w.fix
    # Outside the window: nothing.
    assert _ca_dues(root, datetime(2027, 3, 1, tzinfo=UTC)) == []
    # The window and the max age are the identity stack's settings.
    narrow = _identity(
        tmp_path / "narrow", {"ilag:expiryWarningDays: 60": "ilag:expiryWarningDays: 30"}
    )
    assert _ca_dues(narrow, MAY_1) == []
    younger = _identity(
        tmp_path / "long", {"ilag:sshUserCaMaxAgeDays: 365": "ilag:sshUserCaMaxAgeDays: 730"}
    )
    assert _ca_dues(younger, MAY_1) == []


def test_an_old_ca_key_must_be_rotated(tmp_path: Path) -> None:
    [d] = _ca_dues(_identity(tmp_path), datetime(2027, 6, 2, tzinfo=UTC))
    assert d.expired and "reached its maximum age of 365 days on 2027-06-01: rotate it" in (
        d.message()
    )


def test_a_ca_key_without_a_date_is_named_with_its_openssh_fingerprint(tmp_path: Path) -> None:
    key = tmp_path / "new_ca"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ca-2027", "-f", str(key)], check=True
    )
    line = key.with_suffix(".pub").read_text("utf-8").strip()
    printed = subprocess.run(
        ["ssh-keygen", "-lf", str(key.with_suffix(".pub"))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    shipped = "ilag:sshUserCaPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBsYWNlaG9sZGVyLXJlcGxhY2UtbWUtd2l0aC1yZWFs ilag-user-ca-placeholder"
    root = _identity(
        tmp_path / "repo",
        {shipped: "ilag:sshUserCaPublicKey: |\n    " + shipped.split(": ", 1)[1] + "\n    " + line},
    )
    [d] = _ca_dues(root, datetime(2026, 12, 3, tzinfo=UTC))
    assert d.kind == expiry.CA_UNDATED and printed in d.subject and "ca-2027" in d.subject
    assert "has no date in ilag:sshUserCaCreated" in d.message()
    assert f"'ilag:sshUserCaCreated[\"{printed}\"]'" in d.fix
    assert expiry.settings_problems(root) == []  # no date is a warning, not an error


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('"2026-06-01"', '"June 2026"', "ilag:sshUserCaCreated"),
        (PLACEHOLDER_FP, PLACEHOLDER_FP.removeprefix("SHA256:"), "ilag:sshUserCaCreated"),
        (
            "ilag:sshUserCaMaxAgeDays: 365",
            "ilag:sshUserCaMaxAgeDays: a year",
            "ilag:sshUserCaMaxAgeDays",
        ),
        ("ilag:expiryWarningDays: 60", "ilag:expiryWarningDays: 0", "ilag:expiryWarningDays"),
    ],
)
def test_bad_identity_expiry_settings_exit_2_and_name_the_key(
    old: str, new: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _identity(tmp_path, {old: new})
    assert main(["validate", "--region", str(root / "region.yaml"), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    [p] = doc["problems"]
    assert p["file"] == "stacks/Pulumi.identity.yaml" and p["key"] == key and p["fix"]


def test_a_bad_sas_date_or_window_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path, "30.06.2027")
    assert main(["validate", "--region", str(root / "region.yaml"), "--json"]) == 2
    assert [p["key"] for p in json.loads(capsys.readouterr().out)["problems"]] == ["ilag:sasExpiry"]
    root = _repo(tmp_path / "days", "2027-06-30T00:00:00Z", days="sixty")
    assert main(["validate", "--region", str(root / "region.yaml")]) == 2
    assert "ilag:expiryWarningDays" in capsys.readouterr().err


def test_the_lab_ca_key_file_gets_old_by_its_date(tmp_path: Path) -> None:
    root = _identity(tmp_path / "repo")
    ca = tmp_path / "ssh_user_ca"
    ca.write_text("a private key\n", "utf-8")
    made = datetime(2026, 1, 1, tzinfo=UTC)
    os.utime(ca, (made.timestamp(), made.timestamp()))
    fix = "remove it and run ilag lab up"
    assert expiry.ca_file(ca, root, datetime(2026, 10, 1, tzinfo=UTC), fix) is None
    soon = expiry.ca_file(ca, root, datetime(2026, 12, 3, tzinfo=UTC), fix)
    assert soon is not None and soon.file == str(ca) and soon.fix == fix
    assert "on 2027-01-01, in 29 day(s)" in soon.message()
    old = expiry.ca_file(ca, root, datetime(2027, 1, 2, tzinfo=UTC), fix)
    assert old is not None and old.expired


# --- Node certificates: read on the node over SSH --------------------------------------------


class _ExecServer(paramiko.ServerInterface):
    """A real SSH server on loopback that runs each command with sh, as a node's sshd would."""

    def __init__(self, client_key: paramiko.PKey) -> None:
        self.client_key = client_key

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.AUTH_SUCCESSFUL if key == self.client_key else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        def run() -> None:
            done = subprocess.run(["sh", "-c", command.decode()], capture_output=True, timeout=30)
            channel.sendall(done.stdout)
            channel.sendall_stderr(done.stderr)
            channel.send_exit_status(done.returncode)
            channel.close()

        threading.Thread(target=run, daemon=True).start()
        return True


def _keypair(path: Path, comment: str = "k") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True
    )
    return path


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[SshHost, paramiko.PKey, Path]]:
    """A node on a loopback port: its /etc/ilag is a directory of the test (the role's
    ilag_node__config_dir), and it is in the group ilag_nodes."""
    host_file = _keypair(tmp_path / "host_key")
    host_key = paramiko.Ed25519Key.from_private_key_file(str(host_file))
    client_file = _keypair(tmp_path / "operator")
    client_key = paramiko.Ed25519Key.from_private_key_file(str(client_file))
    config_dir = tmp_path / "etc-ilag"
    (config_dir / "ssh").mkdir(parents=True)
    listener = socket.create_server(("127.0.0.1", 0))
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
                t.start_server(server=_ExecServer(client_key))
            except (paramiko.SSHException, EOFError, OSError):
                t.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host = SshHost(
        "bo-util01",
        "bo",
        "127.0.0.1",
        listener.getsockname()[1],
        "root",
        client_file,
        inventory_vars={
            "group_names": ["utility_servers", "ilag_nodes"],
            "ilag_node__config_dir": str(config_dir),
        },
    )
    yield host, host_key, config_dir
    stop.set()
    thread.join(5)
    for t in transports:
        t.close()
    listener.close()


def _node_cert(config_dir: Path, validity: str) -> Path:
    """The node's certificate as the role signs it (principal bo-node, -O clear)."""
    ca = _keypair(config_dir.parent / "user_ca", "ca")
    key = _keypair(config_dir / "ssh" / "id_ed25519", "node")
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(ca), "-I", "ilag-node-bo", "-n", "bo-node", "-O", "clear",
         "-V", validity, str(key.with_suffix(".pub"))],
        check=True,
        env={**os.environ, "TZ": "UTC"},
    )  # fmt: skip
    return config_dir / "ssh" / "id_ed25519-cert.pub"


def _connect(host: SshHost, host_key: paramiko.PKey, tmp_path: Path) -> paramiko.SSHClient:
    kh = tmp_path / "known_hosts"
    ssh.pin(kh, host, host_key)
    return ssh.connect(host, kh, timeout=5)


def test_a_node_certificate_warns_inside_the_window_and_says_when_it_ran_out(
    node: tuple[SshHost, paramiko.PKey, Path], tmp_path: Path
) -> None:
    host, host_key, config_dir = node
    cert = _node_cert(config_dir, "20261101000000:20270115000000")
    assert node_cert.is_node(host) and node_cert.path_on(host) == str(cert)
    client = _connect(host, host_key, tmp_path)
    try:
        w = node_cert.check(client, host, 60, datetime(2026, 12, 3, tzinfo=UTC))
        assert w is not None and w.file == f"bo-util01:{cert}" and w.key == "bo-node"
        assert "runs out on 2027-01-15, in 43 day(s) (warning from 60 days)" in w.message
        assert "ilag apply bo --playbook node --limit bo-util01" in w.fix
        assert node_cert.check(client, host, 30, datetime(2026, 12, 3, tzinfo=UTC)) is None
        gone = node_cert.check(client, host, 60, datetime(2027, 1, 20, tzinfo=UTC))
        assert gone is not None and "ran out on 2027-01-15" in gone.message
        cert.unlink()
        missing = node_cert.check(client, host, 60, datetime(2026, 12, 3, tzinfo=UTC))
        assert missing is not None and "has no SSH certificate" in missing.message
        # A host whose node playbook never ran (no ssh directory) is not a node yet.
        for f in (config_dir / "ssh").iterdir():
            f.unlink()
        (config_dir / "ssh").rmdir()
        assert node_cert.check(client, host, 60, datetime(2026, 12, 3, tzinfo=UTC)) is None
    finally:
        client.close()


def test_preflight_reports_the_node_certificate_as_a_warning_not_a_failure(
    node: tuple[SshHost, paramiko.PKey, Path], tmp_path: Path
) -> None:
    host, host_key, config_dir = node
    _node_cert(config_dir, "-1d:+20d")
    repo = tmp_path / "repo"
    ssh.pin(repo / "inventories" / "bo" / "known_hosts", host, host_key)
    target = Target("prod", repo)
    # Limits wide enough for any test machine: only the certificate is judged here.
    limits = preflight.Limits(min_free_mib=1, max_skew_s=3600.0, cert_warning_days=60)
    result = preflight.check_host(target, host, limits)
    assert result.host_key == "pinned, matches"
    [w] = result.warnings
    assert "the node certificate of bo-util01 runs out on" in w.message
    assert not any("certificate" in p for p in result.problems)
    doc = preflight_json([result], "prod", [])
    assert doc["hosts"][0]["warnings"][0]["key"] == "bo-node"
    # Ten days' window: a certificate with 20 left is fine.
    quiet = preflight.check_host(target, host, preflight.Limits(1, 3600.0, 10))
    assert quiet.warnings == []


# --- The council's page: rule "expiry" in the findings, in the page's language ---------------


def _page(root: Path, tmp_path: Path, lang: str, capsys: pytest.CaptureFixture[str]) -> str:
    from tests.test_report_data import write_records

    runs = write_records(tmp_path / "runs", datetime.now(UTC))
    out = tmp_path / f"site-{lang}"
    argv = ["report", "--region", str(root / "region.yaml"), "--runs", str(runs), "--out", str(out)]
    assert main([*argv, "--no-plan", "--lang", lang]) == 0
    capsys.readouterr()
    return (out / "index.html").read_text("utf-8")


def test_the_report_shows_a_sas_that_runs_out_in_bokmal_and_one_that_ran_out_as_must_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT00:00:00Z")
    html = _page(_repo(tmp_path / "soon", soon), tmp_path, "nb", capsys)
    assert "Tilgangen som sikkerhetskopiene skrives med (SAS, backup), går ut" in html
    assert "Slik rettes det: pulumi config set ilag:sasExpiry" in html
    assert 'lang="nb"' in html and "Bør rettes" in html
    assert "stacks/Pulumi.backup.yaml: ilag:sasExpiry" in html
    assert 'data-state="warn"' in html  # the hub: a warning, though the plan did not run
    passed = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z")
    gone = _page(_repo(tmp_path / "gone", passed), tmp_path / "gone", "nb", capsys)
    assert "gikk ut" in gone and "alle sikkerhetskopier feiler nå" in gone and "Må rettes" in gone
    english = _page(_repo(tmp_path / "en", soon), tmp_path / "en", "en", capsys)
    assert "The access the backups are written with (SAS, backup) runs out on" in english
    # Far from the date: no expiry finding at all.
    quiet = _page(_repo(tmp_path / "far", "2099-01-01T00:00:00Z"), tmp_path / "far", "nb", capsys)
    assert "expiry" not in quiet.split('id="findings"')[1].split("</section>")[0]


def test_the_report_words_ca_keys_for_the_council(tmp_path: Path) -> None:
    from ilag_infra.report import expiry_findings

    root = _identity(tmp_path)
    [f] = expiry_findings.findings(_ca_dues(root, MAY_1), "nb")
    assert f.policy == "expiry" and f.enforcement == "advisory" and f.lang == "nb"
    assert "når største tillatte alder (365 dager) 2027-06-01, om 31 dager" in f.message
    [old] = expiry_findings.findings(_ca_dues(root, datetime(2027, 7, 1, tzinfo=UTC)), "nb")
    assert old.enforcement == "mandatory" and "må byttes" in old.message


# --- Technicians' certificates: a day at most, so `ilag cert ls` shows the time left ---------


def test_cert_ls_shows_how_long_each_certificate_has_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ilag_infra.onsite import certs

    runs = tmp_path / "runs"
    monkeypatch.setenv("ILAG_RUNS_DIR", str(runs))
    ca, key = _keypair(tmp_path / "ca"), _keypair(tmp_path / "kari")
    issued = certs.issue(ca, key.with_suffix(".pub"), "bo", "kari", 2)
    certs.record(issued, runs)
    assert main(["cert", "ls", "--json"]) == 0
    [c] = json.loads(capsys.readouterr().out)
    assert 2 * 3600 - 120 < c["seconds_left"] <= 2 * 3600
    assert main(["cert", "ls"]) == 0
    assert "1 h 5" in capsys.readouterr().out  # 1 h 58/59 min, as the table shows it
    assert certs.left_text(0) == "run out" and certs.left_text(59 * 60) == "59 min"
    assert certs.left_text(7 * 3600 + 5 * 60) == "7 h 05 min"


def test_preflight_in_the_lab_also_judges_the_lab_ca_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ilag_infra.cli.context import Context
    from ilag_infra.cli.ssh import region_expiry

    root = _identity(tmp_path / "repo")
    lab = tmp_path / "lab"
    (lab / "keys").mkdir(parents=True)
    ca = lab / "keys" / "ssh_user_ca"
    ca.write_text("the lab CA\n", "utf-8")
    made = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    os.utime(ca, (made, made))
    monkeypatch.setenv("ILAG_LAB_DIR", str(lab))
    region = root / "region.yaml"
    [w] = region_expiry(Context("lab", region_path=region), datetime(2026, 12, 3, tzinfo=UTC))
    assert w.file == str(ca) and "2027-01-01" in w.message and "ilag lab up" in w.fix
    assert (
        region_expiry(Context("prod", region_path=region), datetime(2026, 12, 3, tzinfo=UTC)) == []
    )
