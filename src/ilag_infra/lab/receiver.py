"""The lab's alert receiver: a webhook endpoint and an SMTP server that write what arrives.

`python -m ilag_infra.lab.receiver --bind IP --http-port P --smtp-port Q --out FILE` appends
one JSON line per webhook POST or mail to FILE, flushed at once, so a test reads what arrived
with `received(FILE)`. `start()` runs it as a child process and waits until both ports accept.
Importing this module starts nothing.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ilag_infra.lab.errors import LabError

START_TIMEOUT_S = 20.0


class _Log:
    """One JSON line per arrival; a lock because the web and mail servers run in threads."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.lock, self.out.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


def _http_handler(log: _Log) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(size)
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            log.append({"channel": "webhook", "path": self.path, "body": body})
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return  # the path holds the webhook's token: not to the log

    return Handler


class _SmtpHandler:
    def __init__(self, log: _Log) -> None:
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        part = msg.get_body(preferencelist=("plain",))
        body = part.get_content() if isinstance(part, EmailMessage) else ""
        self.log.append(
            {
                "channel": "smtp",
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(msg.get("Subject", "")),
                "body": body.replace("\r\n", "\n"),
            }
        )
        return "250 Message accepted for delivery"


def serve(bind: str, out: Path, http_port: int, smtp_port: int) -> None:
    """Run both servers until SIGTERM or SIGINT."""
    from aiosmtpd.controller import Controller

    log = _Log(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch()
    web = ThreadingHTTPServer((bind, http_port), _http_handler(log))
    mail = Controller(_SmtpHandler(log), hostname=bind, port=smtp_port)
    mail.start()
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"receiving on {bind}: webhook :{http_port}, smtp :{smtp_port} -> {out}", flush=True)
    stop.wait()
    web.shutdown()
    mail.stop()


def _accepts(bind: str, port: int) -> bool:
    try:
        with socket.create_connection((bind, port), timeout=1):
            return True
    except OSError:
        return False


def start(bind: str, out: Path, http_port: int, smtp_port: int) -> subprocess.Popen[bytes]:
    """The receiver as a child process, once both ports accept; LabError with its log if it
    does not come up. The caller stops it (terminate, wait)."""
    log_path = out.with_name(out.name + ".log")
    out.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ilag_infra.lab.receiver",
                "--bind",
                bind,
                "--http-port",
                str(http_port),
                "--smtp-port",
                str(smtp_port),
                "--out",
                str(out),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _accepts(bind, http_port) and _accepts(bind, smtp_port):
            return proc
        time.sleep(0.1)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)
    text = log_path.read_text(encoding="utf-8", errors="replace").strip()
    raise LabError(
        f"the alert receiver did not come up on {bind} (webhook :{http_port}, smtp "
        f":{smtp_port}) within {START_TIMEOUT_S:g} s; its log ({log_path}):\n{text[-2000:]}"
    )


def received(out: Path) -> list[dict[str, Any]]:
    """Everything that arrived, in order (a line being written is left for the next read)."""
    if not out.exists():
        return []
    found: list[dict[str, Any]] = []
    for line in out.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ilag_infra.lab.receiver",
        description="The lab's alert receiver: webhook POSTs and mails, one JSON line each.",
    )
    parser.add_argument("--bind", required=True, help="address to listen on")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="file to append lines to")
    args = parser.parse_args(argv)
    serve(args.bind, args.out, args.http_port, args.smtp_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
