"""Alerts, end to end on this machine: real records, the lab's real receiver on 127.0.0.1
(a webhook endpoint and an SMTP server), and the state file that makes one alert per problem."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ilag_infra.cli.app import main
from ilag_infra.lab import receiver
from ilag_infra.model.errors import InputError
from ilag_infra.onsite import alert_channels, alert_settings, alerts, jobrecord
from ilag_infra.onsite.alert_settings import AlertSettings

TOKEN = "T0KEN-b7c1d9e2f3a4b5c6"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    out: Path
    http_port: int
    smtp_port: int

    @property
    def env(self) -> dict[str, str]:
        return {
            "ILAG_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{self.http_port}/hooks/{TOKEN}",
            "ILAG_ALERT_SMTP": f"127.0.0.1:{self.smtp_port}",
            "ILAG_ALERT_SMTP_FROM": "ilag@bo.kommune.no",
            "ILAG_ALERT_SMTP_TO": "drift@bo.kommune.no, it@ilag.no",
            "ILAG_ALERT_SMTP_STARTTLS": "no",
        }

    def settings(self) -> AlertSettings:
        return alert_settings.from_env(self.env)

    def got(self) -> list[dict[str, Any]]:
        return receiver.received(self.out)


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("ILAG_RECORDS_URL", raising=False)
    for name in alert_settings.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "runs"


@pytest.fixture
def rx(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path / "received.jsonl", free_port(), free_port())
    proc = receiver.start("127.0.0.1", r.out, r.http_port, r.smtp_port)
    try:
        yield r
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def drift(tmp_path: Path, items: dict[str, list[str]], ok: bool | None = None) -> dict[str, Any]:
    """A drift record as the node's check writes it (jobrecord.write), read back."""
    path = jobrecord.write(
        tmp_path,
        "drift",
        "bo",
        {
            "environment": "lab",
            "municipality": "bo",
            "ok": not any(items.values()) if ok is None else ok,
            "hosts": [{"host": h, "items": i} for h, i in items.items()],
        },
    )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def alert_records(runs: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(runs.glob("*-alert-*.json"))]


def test_a_problem_alerts_once_on_each_channel_then_once_resolved(
    tmp_path: Path, runs: Path, rx: Receiver
) -> None:
    settings = rx.settings()
    bad = drift(tmp_path, {"bo-app01": ["/etc/ssh/sshd_config", "nginx.service"], "bo-fil01": []})
    first = alerts.notify(tmp_path, bad, settings)
    assert first.ok and not first.pending
    got = rx.got()
    assert sorted(g["channel"] for g in got) == ["smtp", "webhook"]
    hook = next(g for g in got if g["channel"] == "webhook")
    mail = next(g for g in got if g["channel"] == "smtp")
    assert hook["path"] == f"/hooks/{TOKEN}"
    assert hook["body"]["username"] == "ilag"
    assert hook["body"]["text"].startswith("[ilag] Feil: drift på bo-app01 (bo, lab)")
    assert "/etc/ssh/sshd_config" in hook["body"]["text"]
    assert mail["subject"] == "[ilag] Feil: drift på bo-app01 (bo, lab)"
    assert mail["to"] == ["drift@bo.kommune.no", "it@ilag.no"]
    assert "nginx.service" in mail["body"] and "bo-fil01" not in mail["body"]

    # The next timer sees the same drift: nothing more is sent.
    again = alerts.notify(tmp_path, drift(tmp_path, {"bo-app01": ["nginx.service"]}), settings)
    assert again.sent == [] and again.open == ["lab/bo/drift/bo-app01"]
    assert len(rx.got()) == 2

    # Clean: one Løst on each channel, and the problem is forgotten.
    clean = alerts.notify(tmp_path, drift(tmp_path, {"bo-app01": []}), settings)
    assert [s.word for s in clean.sent] == ["Løst"] and clean.open == []
    resolved = rx.got()[2:]
    assert sorted(g["channel"] for g in resolved) == ["smtp", "webhook"]
    assert all("Løst: drift på bo-app01 (bo, lab)" in json.dumps(g, ensure_ascii=False)
               for g in resolved)  # fmt: skip
    assert alerts.notify(tmp_path, drift(tmp_path, {"bo-app01": []}), settings).sent == []
    assert len(rx.got()) == 4

    records = alert_records(runs)
    assert [(r["ok"], r["channels"]) for r in records] == [
        (False, ["webhook", "smtp"]),
        (True, ["webhook", "smtp"]),
    ]
    assert records[0]["problem"].startswith("drift på bo-app01 (bo, lab): avvik")
    assert {r["kind"] for r in records} == {"alert"}


def test_a_problem_in_another_scope_is_left_alone(tmp_path: Path, runs: Path, rx: Receiver) -> None:
    settings = rx.settings()
    alerts.notify(tmp_path, drift(tmp_path, {"bo-app01": ["x"]}), settings)
    audit = jobrecord.write(
        tmp_path,
        "audit",
        "bo",
        {"environment": "lab", "municipality": "bo", "ok": True, "hosts": [{"host": "bo-app01", "ok": True}]},
    )  # fmt: skip
    # A clean audit of bo says nothing about bo's drift: no Løst for it.
    assert alerts.notify_file(tmp_path, audit, settings).sent == []
    assert len(rx.got()) == 2


def test_a_dead_webhook_keeps_the_problem_pending_until_it_is_sent(
    tmp_path: Path, runs: Path, rx: Receiver
) -> None:
    env = rx.env
    dead = {**env, "ILAG_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"}
    bad = drift(tmp_path, {"bo-app01": ["nginx.service"]})
    first = alerts.notify(tmp_path, bad, alert_settings.from_env(dead))
    assert not first.ok and first.pending == ["lab/bo/drift/bo-app01"]
    assert set(first.failed) == {"webhook"}
    assert (
        first.failed["webhook"].startswith("http://127.0.0.1:") and "/…" in first.failed["webhook"]
    )
    assert [g["channel"] for g in rx.got()] == ["smtp"]  # the mail went; the chat waits

    # The webhook is back: the chat gets it now, the mail is not sent twice.
    second = alerts.notify(tmp_path, bad, rx.settings())
    assert second.ok and second.pending == []
    assert [g["channel"] for g in rx.got()] == ["smtp", "webhook"]
    assert alerts.notify(tmp_path, bad, rx.settings()).sent == []
    assert [r["channels"] for r in alert_records(runs)] == [["smtp"], ["webhook"]]


def test_two_runs_at_once_send_a_problem_once(tmp_path: Path, runs: Path, rx: Receiver) -> None:
    settings = rx.settings()
    bad = drift(tmp_path, {"bo-app01": ["nginx.service"], "bo-app02": ["/etc/hosts"]})
    threads = [
        threading.Thread(target=alerts.notify, args=(tmp_path, bad, settings)) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted((g["channel"], g.get("subject", "")) for g in rx.got()) == [
        ("smtp", "[ilag] Feil: drift på bo-app01 (bo, lab)"),
        ("smtp", "[ilag] Feil: drift på bo-app02 (bo, lab)"),
        ("webhook", ""),
        ("webhook", ""),
    ]


def test_the_webhook_token_is_never_shown_or_recorded(
    tmp_path: Path, runs: Path, rx: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = {**rx.env, "ILAG_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"}
    outcome = alerts.notify(
        tmp_path, drift(tmp_path, {"bo-app01": ["x"]}), alert_settings.from_env(dead)
    )
    alerts.notify(tmp_path, drift(tmp_path, {"bo-app01": ["x"]}), rx.settings())
    shown = "\n".join(outcome.lines()) + repr(outcome)
    assert "webhook failed: http://127.0.0.1:" in shown and TOKEN not in shown
    written = "".join(p.read_text(encoding="utf-8") for p in runs.rglob("*") if p.is_file())
    assert "bo-app01" in written and TOKEN not in written
    with pytest.MonkeyPatch.context() as mp:
        for name, value in dead.items():
            mp.setenv(name, value)
        assert main(["alerts", "test"]) == 1
    out, err = capsys.readouterr()
    assert "webhook: FAILED: http://127.0.0.1:" in out and TOKEN not in out + err


def test_alerts_test_sends_on_every_channel_and_says_where(
    runs: Path, rx: Receiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in rx.env.items():
        monkeypatch.setenv(name, value)
    assert main(["alerts", "test", "--municipality", "bo"]) == 0
    out, _ = capsys.readouterr()
    assert f"webhook: sent to http://127.0.0.1:{rx.http_port}/…" in out
    assert f"smtp: sent to smtp://127.0.0.1:{rx.smtp_port} → drift@bo.kommune.no, it@ilag.no" in out
    assert TOKEN not in out
    got = rx.got()
    assert [g["channel"] for g in got] == ["webhook", "smtp"]
    assert got[0]["body"]["text"].startswith("[ilag] Obs: test av varsling (bo, lab)")
    assert got[1]["subject"] == "[ilag] Obs: test av varsling (bo, lab)"
    assert not list(runs.glob("*-alert-*.json"))  # a test is no problem: no record


def test_alerts_test_without_settings_says_so(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["alerts", "test"]) == 0
    out, _ = capsys.readouterr()
    assert "no alert channels configured" in out and "ILAG_ALERT_WEBHOOK_URL" in out
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ILAG_ALERT_WEBHOOK_URL", f"http://chat.example.org/hooks/{TOKEN}")
        assert main(["alerts", "test"]) == 2
    out, err = capsys.readouterr()
    assert "ILAG_ALERT_WEBHOOK_URL: plain http to chat.example.org" in err
    assert TOKEN not in out + err


def test_no_channels_sends_nothing_and_is_no_error(tmp_path: Path, runs: Path) -> None:
    outcome = alerts.notify(tmp_path, drift(tmp_path, {"bo-app01": ["x"]}), AlertSettings())
    assert outcome.ok and outcome.sent == [] and outcome.note
    assert not alerts.state_file(tmp_path).exists()


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({"ILAG_ALERT_WEBHOOK_URL": "http://chat.example.org/hooks/x"}, "ILAG_ALERT_WEBHOOK_URL", "plain http"),
        ({"ILAG_ALERT_WEBHOOK_URL": "ftp://chat.example.org/x"}, "ILAG_ALERT_WEBHOOK_URL", "https://"),
        ({"ILAG_ALERT_WEBHOOK_URL": "https://u:p@chat.example.org/x"}, "ILAG_ALERT_WEBHOOK_URL", "user or password"),
        ({"ILAG_ALERT_ALLOW_HTTP": "maybe"}, "ILAG_ALERT_ALLOW_HTTP", "not yes or no"),
        ({"ILAG_ALERT_SMTP": "mail.example.org"}, "ILAG_ALERT_SMTP", "not host:port"),
        ({"ILAG_ALERT_SMTP_TO": "a@b.no"}, "ILAG_ALERT_SMTP", "not set, but ILAG_ALERT_SMTP_TO"),
        ({"ILAG_ALERT_SMTP": "mail.example.org:587", "ILAG_ALERT_SMTP_TO": "a@b.no"}, "ILAG_ALERT_SMTP_FROM", "not set"),
        ({"ILAG_ALERT_SMTP": "mail.example.org:587", "ILAG_ALERT_SMTP_FROM": "x@b.no", "ILAG_ALERT_SMTP_TO": "a@b.no, drift"}, "ILAG_ALERT_SMTP_TO", "drift"),
        ({"ILAG_ALERT_SMTP": "mail.example.org:587", "ILAG_ALERT_SMTP_FROM": "x@b.no", "ILAG_ALERT_SMTP_TO": "a@b.no", "ILAG_ALERT_SMTP_USER": "x"}, "ILAG_ALERT_SMTP_PASSWORD_FILE", "not set"),
        ({"ILAG_ALERT_SMTP": "mail.example.org:587", "ILAG_ALERT_SMTP_FROM": "x@b.no", "ILAG_ALERT_SMTP_TO": "a@b.no", "ILAG_ALERT_SMTP_STARTTLS": "perhaps"}, "ILAG_ALERT_SMTP_STARTTLS", "not yes or no"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        alert_settings.from_env(env)
    assert err.value.exit_code == 2
    assert variable in [p.key for p in err.value.problems]
    problem = next(p for p in err.value.problems if p.key == variable)
    assert words in problem.message and problem.fix


def test_the_password_file_is_checked_and_never_in_the_settings(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2-not-real\n", encoding="utf-8")
    base = {
        "ILAG_ALERT_SMTP": "mail.example.org:587",
        "ILAG_ALERT_SMTP_FROM": "ilag@b.no",
        "ILAG_ALERT_SMTP_TO": "a@b.no",
        "ILAG_ALERT_SMTP_USER": "ilag",
        "ILAG_ALERT_SMTP_PASSWORD_FILE": str(secret),
    }
    os.chmod(secret, 0o644)
    with pytest.raises(InputError) as err:
        alert_settings.from_env(base)
    assert "chmod 600" in str(err.value) and "hunter2" not in str(err.value)
    os.chmod(secret, stat.S_IRUSR | stat.S_IWUSR)
    settings = alert_settings.from_env(base)
    assert settings.smtp is not None and settings.smtp.password() == "hunter2-not-real"
    assert "hunter2" not in repr(settings)
    with pytest.raises(InputError) as err:
        alert_settings.from_env({**base, "ILAG_ALERT_SMTP_PASSWORD_FILE": str(tmp_path / "none")})
    assert "ILAG_ALERT_SMTP_PASSWORD_FILE" in str(err.value)
    plain = {**base, "ILAG_ALERT_SMTP_STARTTLS": "no"}
    with pytest.raises(InputError, match="unencrypted"):
        alert_settings.from_env(plain)


def _record(kind: str, ok: bool, **fields: Any) -> dict[str, Any]:
    from ilag_infra.onsite import recordschema

    return {**recordschema.envelope(kind, "r1", "t@h", "abc", "lab", "bo", ok), **fields}


def test_problems_per_kind() -> None:
    check = _record(
        "check",
        False,
        playbook="site.yml",
        status="failed",
        rc=2,
        hosts={
            "bo-app01": {"name": "bo-app01", "changed": 3},
            "bo-app02": {"name": "bo-app02", "unreachable": 1},
            "bo-fil01": {"name": "bo-fil01", "ok": 12},
        },
    )
    assert [(p.host, p.detail) for p in alerts.problems(check)] == [
        ("bo-app01", "3 endring(er) ville blitt gjort"),
        ("bo-app02", "kunne ikke nås"),
    ]
    backup = _record(
        "backup",
        False,
        action="status",
        max_age_hours=26,
        hosts=[
            {"host": "bo-fil01", "state": "failed", "fresh": False},
            {"host": "bo-app01", "state": "ok", "fresh": True},
        ],
    )
    [b] = alerts.problems(backup)
    assert b.title == "sikkerhetskopi på bo-fil01 (bo, lab)" and "aldri" in b.detail
    audit = _record("audit", False, hosts=[{"host": "bo-app01", "ok": False, "failed": 2}])
    assert [p.text for p in alerts.problems(audit)] == [
        "revisjon på bo-app01 (bo, lab): 2 krav ikke oppfylt"
    ]
    restore = _record("restore", False, host="bo-fil01", error="password=hunter2 was refused")
    [r] = alerts.problems(restore)
    assert r.key == "lab/bo/restore/bo-fil01" and "hunter2" not in r.text
    assert alerts.problems(_record("restore", True, host="bo-fil01")) == []
    [p] = alerts.problems(_record("prune", False))
    assert p.text == "opprydding feilet (bo, lab): kjøringen feilet"
    # A drift check that could not run names no host, but is still one problem.
    [d] = alerts.problems(_record("drift", False, hosts=[]))
    assert d.key == "lab/bo/drift/-"
    assert alerts.problems(_record("drift", True, hosts=[{"host": "bo-app01"}])) == []


def test_an_unreadable_state_file_is_set_aside_and_alerts_go_out(
    tmp_path: Path, runs: Path, rx: Receiver
) -> None:
    state = alerts.state_file(tmp_path)
    state.parent.mkdir(parents=True)
    state.write_text("{not json", encoding="utf-8")
    outcome = alerts.notify(tmp_path, drift(tmp_path, {"bo-app01": ["x"]}), rx.settings())
    assert outcome.note and "unreadable" in outcome.note
    assert len(rx.got()) == 2 and list(state.parent.glob("state.broken-*.json"))
    assert json.loads(state.read_text(encoding="utf-8"))["version"] == 1


def test_the_receiver_module_starts_nothing_on_import() -> None:
    probe = (
        "import sys, threading; import ilag_infra.lab.receiver; "
        "print(threading.active_count(), 'aiosmtpd' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert done.stdout.split() == ["1", "False"]


def test_the_receiver_says_why_it_did_not_start(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(Exception, match="did not come up") as err:
            receiver.start("127.0.0.1", tmp_path / "r.jsonl", port, free_port())
    assert "Address already in use" in str(err.value)


def test_a_check_that_stopped_running_alerts_once_and_resolves(
    tmp_path: Path, runs: Path, rx: Receiver
) -> None:
    settings = rx.settings()
    drift(tmp_path, {"bo-app01": []})
    jobrecord.write(
        tmp_path,
        "backup",
        "bo",
        {"environment": "lab", "municipality": "bo", "ok": True, "action": "status",
         "max_age_hours": 26, "hosts": [{"host": "bo-fil01", "state": "ok", "fresh": True}]},
    )  # fmt: skip
    kinds = ("drift", "backup", "restore")
    now = datetime.now(UTC)
    late = alerts.notify_stale(tmp_path, "lab", "bo", kinds, settings, now + timedelta(hours=30))
    assert [(s.word, s.text.split(":")[0]) for s in late.sent] == [
        ("Obs", "utdatert resultat for drift (bo, lab)"),
        ("Obs", "utdatert resultat for sikkerhetskopi (bo, lab)"),
        ("Obs", "utdatert resultat for gjenopprettingstest (bo, lab)"),
    ]
    subjects = sorted(g["subject"] for g in rx.got() if g["channel"] == "smtp")
    assert subjects[0] == "[ilag] Obs: utdatert resultat for drift (bo, lab)"
    assert "30 timer gammelt (grense 24 timer)" in json.dumps(rx.got(), ensure_ascii=False)
    assert len(rx.got()) == 6
    # Later still (Feil by age) is the same problem: not sent again.
    later = alerts.notify_stale(tmp_path, "lab", "bo", kinds, settings, now + timedelta(days=3))
    assert later.sent == [] and len(later.open) == 3
    # The timers ran again: drift and backup are Løst; the restore test never ran.
    back = alerts.notify_stale(tmp_path, "lab", "bo", kinds, settings, now)
    assert sorted((s.word, s.key) for s in back.sent) == [
        ("Løst", "lab/bo/stale/backup"),
        ("Løst", "lab/bo/stale/drift"),
    ]
    assert back.open == ["lab/bo/stale/restore"] and len(rx.got()) == 10


def test_alerts_stale_on_the_command_line(
    runs: Path, rx: Receiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in rx.env.items():
        monkeypatch.setenv(name, value)
    assert main(["alerts", "stale", "bo", "--kind", "audit"]) == 0
    out, _ = capsys.readouterr()
    assert "bo: alert Obs: utdatert resultat for revisjon (bo, lab): ingen resultat funnet" in out
    assert main(["alerts", "stale", "bo", "--kind", "audit"]) == 0
    assert capsys.readouterr().out == ""
    assert len(rx.got()) == 2
    assert main(["alerts", "stale", "bo", "--kind", "alert"]) == 2


class _Answer(BaseHTTPRequestHandler):
    """A webhook endpoint that answers every POST with the status in its path."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        code = int(self.path.strip("/").split("/")[0])
        self.send_response(code)
        self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/200/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.mark.parametrize("code", [302, 404, 500])
def test_a_webhook_that_does_not_take_the_post_is_a_failure(tmp_path: Path, code: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{code}/{TOKEN}"
        why = alert_channels.send_webhook(url, "[ilag] Feil: x")
    finally:
        server.shutdown()
    assert why == f"http://127.0.0.1:{server.server_port}/… answered HTTP {code}"


def test_smtp_failures_are_reported_without_the_password(
    tmp_path: Path, runs: Path, rx: Receiver
) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2-not-real\n", encoding="utf-8")
    secret.chmod(0o600)
    # The lab's receiver offers neither STARTTLS nor AUTH: both must fail, and say so.
    tls = alert_settings.from_env({**rx.env, "ILAG_ALERT_SMTP_STARTTLS": "yes"})
    login = alert_settings.from_env(
        {
            **rx.env,
            "ILAG_ALERT_SMTP_USER": "ilag",
            "ILAG_ALERT_SMTP_PASSWORD_FILE": str(secret),
        }
    )
    bad = drift(tmp_path, {"bo-app01": ["x"]})
    for settings, words in ((tls, "STARTTLS"), (login, "AUTH")):
        outcome = alerts.notify(tmp_path, bad, settings)
        assert words in outcome.failed["smtp"] and outcome.pending == ["lab/bo/drift/bo-app01"]
        assert "hunter2" not in repr(outcome)
    assert [g["channel"] for g in rx.got()] == ["webhook"]  # once, not per failed try
    written = "".join(p.read_text(encoding="utf-8") for p in runs.rglob("*") if p.is_file())
    assert "hunter2" not in written


def test_a_webhook_that_answers_no_http_is_a_failure() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SMTP? no\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        why = alert_channels.send_webhook(f"http://127.0.0.1:{port}/hooks/{TOKEN}", "x")
        thread.join(timeout=10)
    assert why is not None and why.startswith(f"http://127.0.0.1:{port}/…: ")
    assert TOKEN not in why
