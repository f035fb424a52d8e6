"""The thin CLI on real lab hosts: bootstrap's pin decision end to end, and --json reports of
preflight and outputs that carry no secret. No converge needed: fresh lab hosts answer SSH."""

from __future__ import annotations

import json
import subprocess

import paramiko
import pytest

from ilag_infra.cli.app import main
from ilag_infra.onsite import ssh
from tests.lab.conftest import Lab

pytestmark = pytest.mark.lab


def _console_fingerprint(public_key_line: str) -> str:
    """What an operator reads on the server's console with ssh-keygen."""
    proc = subprocess.run(
        ["ssh-keygen", "-lf", "-"],
        input=public_key_line,
        text=True,
        capture_output=True,
        check=True,
    )
    return proc.stdout.split()[1]


def test_bootstrap_refuses_a_changed_key_until_replace_and_confirmation(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    h = lab.hosts("bo")[0]
    kh = lab.target.known_hosts("bo")
    original = kh.read_text()
    fp = _console_fingerprint(h.host_public_key)  # type: ignore[attr-defined]
    other = paramiko.RSAKey.generate(1024)
    ours = [ln for ln in original.splitlines(True) if ln.startswith(h.name + ",")]  # type: ignore[attr-defined]
    assert ours, "the lab pinned every host"
    names = ours[0].split(" ", 1)[0]
    try:
        # A different key is pinned (as after a reinstall): refused, the pin stays.
        kh.write_text(
            "".join(ln for ln in original.splitlines(True) if ln not in ours)
            + f"{names} {other.get_name()} {other.get_base64()}\n"
        )
        assert main(["bootstrap", h.name, "--fingerprint", fp]) == 1  # type: ignore[attr-defined]
        out = capsys.readouterr().out
        assert "a different key" in out and "Refusing" in out and ssh.fingerprint(other) in out
        assert other.get_base64() in kh.read_text()
        # --replace still needs the console fingerprint; a wrong one changes nothing.
        assert main(["bootstrap", h.name, "--replace", "--fingerprint", "SHA256:nope"]) == 1  # type: ignore[attr-defined]
        assert "Fingerprints differ: not pinned" in capsys.readouterr().out
        assert other.get_base64() in kh.read_text()
        assert main(["bootstrap", h.name, "--replace", "--fingerprint", fp]) == 0  # type: ignore[attr-defined]
        assert "pinned" in capsys.readouterr().out
        text = kh.read_text()
        assert other.get_base64() not in text and h.host_public_key.split()[1] in text  # type: ignore[attr-defined]
        assert main(["bootstrap", h.name, "--fingerprint", fp]) == 0  # type: ignore[attr-defined]
        assert "already pinned" in capsys.readouterr().out
    finally:
        kh.write_text(original)


def test_preflight_and_outputs_json_on_the_lab(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILAG_ENV", "lab")
    assert main(["preflight", "sortland", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["env"] == "lab" and data["ok"] is True
    assert sorted(h["host"] for h in data["hosts"]) == sorted(
        h.name  # type: ignore[attr-defined]
        for h in lab.hosts("sortland")
    )
    assert all(h["host_key"] != "MISMATCH" and h["problems"] == [] for h in data["hosts"])

    assert main(["outputs", "--json"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert set(shown["outputs"]["backup"]["container_sas_urls"]) == set(lab.loaded.model.slugs)
    assert set(shown["outputs"]["backup"]["container_sas_urls"].values()) == {"[secret]"}
    assert main(["outputs", "hadsel", "--json"]) == 0
    out += capsys.readouterr().out
    for secret in lab.secrets():
        assert secret not in out
