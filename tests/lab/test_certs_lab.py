"""Technicians' certificates on real sshd: own municipality only, expiry, and a CA rotation.

The identity role makes every host trust the region's user CA for the shared admin account,
with the principal `<kommune>-tech` of its own municipality. A certificate is signed by
`onsite/certs.py` (ssh-keygen) and tried with the real OpenSSH client.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ilag_infra import lab as lab_mod
from ilag_infra.onsite import certs

from .conftest import Lab
from .test_hardening import ADMIN, openssh

pytestmark = pytest.mark.lab


def _keypair(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def _login(lab: Lab, host: object, key: Path, cert: str) -> subprocess.CompletedProcess[str]:
    return openssh(lab, host, f"CertificateFile={cert}", user=ADMIN, key=key)


def test_a_certificate_opens_its_own_municipalitys_hosts_only_and_expires(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    key = _keypair(tmp_path / "kari")
    ca = lab_mod.lab_paths().user_ca_key
    done = certs.issue(ca, key.with_suffix(".pub"), "andoy", "kari.nordmann", 1)
    own, other = lab.hosts("andoy")[0], lab.hosts("sortland")[0]
    ok = _login(lab, own, key, done.certificate)
    assert ok.returncode == 0 and ok.stdout.strip() == ADMIN, ok.stderr
    refused = _login(lab, other, key, done.certificate)
    assert refused.returncode == 255 and "Permission denied" in refused.stderr
    # Signed two hours ago for one hour: the same key, the same principal, too late.
    old = certs.issue(
        ca,
        key.with_suffix(".pub"),
        "andoy",
        "kari.nordmann",
        1,
        out=tmp_path / "expired-cert.pub",
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    late = _login(lab, own, key, old.certificate)
    assert late.returncode == 255 and "Permission denied" in late.stderr


def test_a_ca_rotation_trusts_both_keys_then_only_the_new_one(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    old_ca = lab_mod.lab_paths().user_ca_key
    new_ca = _keypair(tmp_path / "new-ca")
    key = _keypair(tmp_path / "ola")
    pub = key.with_suffix(".pub")
    by_old = certs.issue(old_ca, pub, "andoy", "ola", 2, out=tmp_path / "old-cert.pub")
    by_new = certs.issue(new_ca, pub, "andoy", "ola", 2, out=tmp_path / "new-cert.pub")
    host = lab.hosts("andoy")[0]
    # The region's value for the CA key, overridden for andoy next to the lab's overlay.
    group_vars = lab.target.inventory_sources("andoy")[-1].parent / "group_vars" / "andoy.yml"
    group_vars.parent.mkdir(parents=True, exist_ok=True)
    old_line = old_ca.with_suffix(".pub").read_text().strip()
    new_line = new_ca.with_suffix(".pub").read_text().strip()

    def trust(*lines: str) -> None:
        body = "".join(f"  {line}\n" for line in lines)
        group_vars.write_text(f"---\nidentity__user_ca_public_key: |\n{body}")
        outcome = lab.apply(["andoy"])
        assert outcome.ok, outcome.problem_hosts

    try:
        assert _login(lab, host, key, by_new.certificate).returncode == 255
        trust(old_line, new_line)  # the overlap: both are accepted
        assert _login(lab, host, key, by_old.certificate).returncode == 0
        assert _login(lab, host, key, by_new.certificate).returncode == 0
        trust(new_line)  # the old key is removed: its certificates stop working
        gone = _login(lab, host, key, by_old.certificate)
        assert gone.returncode == 255 and "Permission denied" in gone.stderr
        assert _login(lab, host, key, by_new.certificate).returncode == 0
    finally:
        group_vars.unlink(missing_ok=True)
        outcome = lab.apply(["andoy"])
    assert outcome.ok, outcome.problem_hosts
    assert _login(lab, host, key, by_old.certificate).returncode == 0
