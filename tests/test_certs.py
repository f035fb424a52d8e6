"""`ilag cert issue|ls`: certificates signed by real ssh-keygen, read back with ssh-keygen -L."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.model.errors import InputError
from ilag_infra.onsite import certs


def _keypair(path: Path, comment: str) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )
    return path


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    return _keypair(tmp_path / "ca", "test-ca")


@pytest.fixture
def user_pub(tmp_path: Path) -> Path:
    return _keypair(tmp_path / "id_ed25519", "kari").with_suffix(".pub")


def _listing(cert: Path) -> str:
    return subprocess.run(
        ["ssh-keygen", "-L", "-f", str(cert)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout


def test_the_certificate_names_the_person_one_principal_and_a_short_life(
    ca: Path, user_pub: Path
) -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    done = certs.issue(ca, user_pub, "andoy", "kari.nordmann", 8, now=now)
    cert = Path(done.certificate)
    assert cert.name == "id_ed25519-cert.pub"
    text = _listing(cert)
    assert 'Key ID: "kari.nordmann"' in text
    principals = text.split("Principals:")[1].split("Critical Options:")[0].split()
    assert principals == ["andoy-tech"]
    # A minute back for a slow clock, eight hours on (ssh-keygen -L shows local time: UTC here).
    assert "Valid: from 2026-12-03T11:59:00 to 2026-12-03T20:00:00" in text
    assert done.valid_at(now + timedelta(hours=7)) and not done.valid_at(now + timedelta(hours=8))


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"hours": 25}, "--hours"),
        ({"hours": 0}, "--hours"),
        ({"person": "Kari Nordmann"}, "--person"),
        ({"person": "kari\n"}, "--person"),
    ],
)
def test_bad_requests_are_refused_and_sign_nothing(
    ca: Path, user_pub: Path, kwargs: dict[str, object], key: str
) -> None:
    args: dict[str, object] = {"person": "kari", "hours": 8.0, **kwargs}
    with pytest.raises(InputError) as info:
        certs.issue(ca, user_pub, "andoy", str(args["person"]), float(args["hours"]))  # type: ignore[arg-type]
    assert key in str(info.value)
    assert not user_pub.with_name("id_ed25519-cert.pub").exists()


def test_a_private_key_given_as_the_key_to_sign_is_refused(ca: Path, user_pub: Path) -> None:
    with pytest.raises(InputError) as info:
        certs.issue(ca, user_pub.with_suffix(""), "andoy", "kari")
    assert "--key" in str(info.value)


def test_issue_records_and_ls_shows_only_valid_ones(
    ca: Path,
    user_pub: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = tmp_path / "runs"
    monkeypatch.setenv("ILAG_RUNS_DIR", str(runs))
    assert (
        main(
            [
                "cert",
                "issue",
                "bo",
                "--key",
                str(user_pub),
                "--person",
                "ola",
                "--ca-key",
                str(ca),
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["principals"] == ["bo-tech"] and Path(doc["record"]).is_file()
    # An expired one, recorded as the signer would have.
    old = certs.issue(
        ca,
        user_pub,
        "bo",
        "per",
        1,
        out=tmp_path / "old-cert.pub",
        now=datetime.now(UTC) - timedelta(hours=3),
    )
    certs.record(old, runs)
    assert main(["cert", "ls", "--json"]) == 0
    valid = json.loads(capsys.readouterr().out)
    assert [c["person"] for c in valid] == ["ola"]
    assert main(["cert", "ls", "--all", "--json"]) == 0
    assert {c["person"] for c in json.loads(capsys.readouterr().out)} == {"ola", "per"}


def test_production_needs_the_ca_key_named(
    user_pub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        ["cert", "issue", "andoy", "--key", str(user_pub), "--person", "kari", "--env", "prod"]
    )
    assert rc == 2
    assert "--ca-key" in capsys.readouterr().err
