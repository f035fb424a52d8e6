"""SSH user certificates for technicians: signed on request, short-lived, recorded.

A certificate carries one principal, `<kommune>-tech`, which only that municipality's hosts
list for the shared admin account (identity role, AuthorizedPrincipalsFile). Its key id names
the person, so sshd's log names who logged in. It lives at most a day. The CA's private key is
a file in the lab; in production it stays offline or in a vault and is passed with --ca-key on
the machine that signs (docs/operators.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ilag_infra.model.errors import IlagError, InputError, Problem

MAX_HOURS = 24.0
DEFAULT_HOURS = 8.0
# A person id as the key id and in sshd's log: a user name or an e-mail address.
PERSON = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}", re.ASCII)


class CertError(IlagError):
    """ssh-keygen refused to sign."""


@dataclass(frozen=True)
class Issued:
    serial: int
    person: str
    municipality: str
    principals: list[str]
    valid_from: str  # ISO 8601, UTC
    valid_to: str
    public_key_fingerprint: str
    ca_fingerprint: str
    certificate: str  # the file written

    def valid_at(self, when: datetime) -> bool:
        start, end = datetime.fromisoformat(self.valid_from), datetime.fromisoformat(self.valid_to)
        return start <= when < end

    def seconds_left(self, when: datetime) -> int:
        """How long it still lives at `when` (0 once it has run out)."""
        return max(0, int((datetime.fromisoformat(self.valid_to) - when).total_seconds()))


def left_text(seconds: int) -> str:
    """A lifetime of at most a day, as `ilag cert ls` shows it: "7 h 05 min"."""
    if seconds <= 0:
        return "run out"
    hours, rest = divmod(seconds // 60, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def principal(slug: str) -> str:
    return f"{slug}-tech"


def _bad(key: str, what: str, fix: str) -> InputError:
    return InputError([Problem("command line", key, what, fix)])


def _fingerprint(path: Path, key: str) -> str:
    done = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise _bad(key, f"{path} is not an SSH key", "give an OpenSSH key file (*.pub for --key)")
    return done.stdout.split()[1]


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def issue(
    ca_key: Path,
    public_key: Path,
    slug: str,
    person: str,
    hours: float = DEFAULT_HOURS,
    out: Path | None = None,
    now: datetime | None = None,
) -> Issued:
    """Sign `public_key` for `slug`'s technicians; the certificate goes next to the key
    (`<key>-cert.pub`, where ssh looks for it) unless `out` says otherwise."""
    if not PERSON.fullmatch(person):
        raise _bad("--person", f"{person!r} is not a person id", "use a user name or e-mail")
    if not 0 < hours <= MAX_HOURS:
        raise _bad("--hours", f"{hours} is outside 0 < hours <= {MAX_HOURS:g}", "ask for 8")
    if not public_key.is_file() or not public_key.read_text("utf-8", "replace").startswith(
        ("ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-")
    ):
        raise _bad("--key", f"{public_key} is not an OpenSSH public key", "give the .pub file")
    if not ca_key.is_file():
        raise _bad("--ca-key", f"{ca_key} does not exist", "give the CA's private key file")
    key_fp = _fingerprint(public_key, "--key")
    ca_fp = _fingerprint(ca_key, "--ca-key")
    start = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    # A minute back for clocks slightly behind the signer's.
    valid_from, valid_to = start - timedelta(minutes=1), start + timedelta(hours=hours)
    serial = int(start.timestamp() * 1000) % (2**63)
    target = out or public_key.with_name(public_key.name.removesuffix(".pub") + "-cert.pub")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "key.pub"
        copy.write_bytes(public_key.read_bytes())
        done = subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-s",
                str(ca_key),
                "-I",
                person,
                "-n",
                principal(slug),
                "-V",
                f"{_stamp(valid_from)}:{_stamp(valid_to)}",
                "-z",
                str(serial),
                str(copy),
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TZ": "UTC"},  # -V times are read as local time
        )
        if done.returncode != 0:
            raise CertError(f"ssh-keygen could not sign: {done.stderr.strip()}")
        target.write_bytes((Path(tmp) / "key-cert.pub").read_bytes())
    return Issued(
        serial,
        person,
        slug,
        [principal(slug)],
        valid_from.isoformat(),
        valid_to.isoformat(),
        key_fp,
        ca_fp,
        str(target),
    )


def record(issued: Issued, runs: Path) -> Path:
    """Every certificate issued is recorded: who, for where, until when, signed by which CA."""
    folder = runs / "certs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{issued.serial}.json"
    path.write_text(json.dumps({"kind": "cert", **asdict(issued)}, indent=2) + "\n", "utf-8")
    return path


def issued(runs: Path) -> tuple[list[Issued], list[Path]]:
    """Every recorded certificate, newest first, and the records that cannot be read."""
    out, unreadable = [], []
    for path in sorted((runs / "certs").glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
            data.pop("kind", None)
            out.append(Issued(**data))
        except (OSError, ValueError, TypeError):
            unreadable.append(path)
    return sorted(out, key=lambda i: i.valid_from, reverse=True), unreadable
