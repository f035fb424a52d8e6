"""Backup jobs run centrally (prune) and their records: no secret reaches runs/, and a missing
program, an unreadable container or a bad vault password is a clear error, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ilag_infra.model.errors import InputError
from ilag_infra.onsite import jobrecord, operator, prune
from ilag_infra.onsite.targets import Target

SIG = "sig=AbCdEf0123456789Secret"


def test_job_record_masks_secret_names_and_redacts_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path))
    fields = {
        "environment": "lab",
        "municipality": "andoy",
        "ok": False,
        "error": f"rclone: https://acct.blob.core.windows.net/c?sv=2022&{SIG}",
        "repositories": [{"error": "restic: password=hunter2hunter2", "freed": 10}],
        "operator_sas_url": "https://acct.blob.core.windows.net/?sv=1",
        "paths": ["/etc/passwd"],
    }
    out = jobrecord.write(tmp_path, "prune", "andoy", fields)
    text = out.read_text()
    assert "AbCdEf0123456789Secret" not in text and "hunter2hunter2" not in text
    data = json.loads(text)
    assert data["operator_sas_url"] == "[secret]" and data["paths"] == ["/etc/passwd"]
    assert data["repositories"][0]["freed"] == 10 and data["kind"] == "prune"


def test_a_failed_restic_check_is_redacted_before_it_is_kept() -> None:
    stderr = f"Load(<lock/1>) failed\nFatal: https://a.blob.core.windows.net/c?{SIG}: 403\n"
    message = prune.check_error(stderr)
    assert message.startswith("restic check: Fatal:") and "0123456789Secret" not in message


def _runner(tmp_path: Path) -> prune._Runner:
    conf = tmp_path / "rclone.conf"
    conf.write_text(f"[{operator.REMOTE}]\ntype = local\n")
    access = operator.Access(operator.REMOTE, {"RCLONE_CONFIG": str(conf)})
    return prune._Runner(access)


def test_a_missing_rclone_is_bad_input_naming_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _runner(tmp_path)
    run.env["PATH"] = str(tmp_path)  # no rclone here
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError) as err:
        prune._repositories(run, operator.REMOTE, str(tmp_path))
    assert "rclone is not installed" in str(err.value) and "PATH" in str(err.value)
    with pytest.raises(InputError, match="restic is not installed"):
        run.restic("c/r", ["check"])


def test_listing_a_container_lists_its_repositories_or_fails_clearly(tmp_path: Path) -> None:
    run = _runner(tmp_path)
    container = tmp_path / "container"
    for name in ("andoy-util01", "andoy-fil01"):
        (container / name).mkdir(parents=True)
    (container / "stray.txt").write_text("x")
    assert prune._repositories(run, operator.REMOTE, str(container)) == [
        "andoy-fil01",
        "andoy-util01",
    ]
    with pytest.raises(prune.PruneError, match=r"listing container .*missing"):
        prune._repositories(run, operator.REMOTE, str(tmp_path / "missing"))


def _prod_repo(tmp_path: Path, password: bytes) -> Target:
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = tmp_path / "inventories" / "andoy" / "group_vars" / "andoy" / "vault.yml"
    vault.parent.mkdir(parents=True)
    lib = VaultLib([("default", VaultSecret(password))])
    vault.write_bytes(lib.encrypt("vault_restic_password: s3cret-restic\n"))
    return Target("prod", tmp_path, None, None)


def test_operator_reads_the_vault_with_the_right_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _prod_repo(tmp_path, b"right")
    (tmp_path / "pw").write_text("right\n")
    monkeypatch.setenv(operator.VAULT_PASSWORD_ENV, str(tmp_path / "pw"))
    assert operator._vault_password(target, "andoy") == "s3cret-restic"


def test_operator_missing_vault_password_file_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _prod_repo(tmp_path, b"right")
    monkeypatch.setenv(operator.VAULT_PASSWORD_ENV, str(tmp_path / "no-such-file"))
    with pytest.raises(InputError) as err:
        operator._vault_password(target, "andoy")
    text = str(err.value)
    assert "no-such-file" in text and operator.VAULT_PASSWORD_ENV in text


def test_operator_wrong_vault_password_is_bad_input_naming_the_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _prod_repo(tmp_path, b"right")
    (tmp_path / "pw").write_text("wrong\n")
    monkeypatch.setenv(operator.VAULT_PASSWORD_ENV, str(tmp_path / "pw"))
    with pytest.raises(InputError) as err:
        operator._vault_password(target, "andoy")
    text = str(err.value)
    assert "vault.yml" in text and "vault_restic_password" in text and "decrypt" in text
    assert "s3cret-restic" not in text


def test_job_record_keeps_a_yes_no_under_a_secret_sounding_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path))
    host = {"host": "bo-fil01", "ok": True, "refused_unconfirmed_key": True}
    fields = {
        "environment": "lab",
        "municipality": "bo",
        "ok": True,
        "hosts": [{**host, "host_key": "ssh-ed25519 AAAA"}],
    }
    data = json.loads(jobrecord.write(tmp_path, "drill", "bo", fields).read_text())
    assert data["hosts"] == [
        {**host, "host_key": "[secret]", "rto_seconds": None, "rpo_seconds": None}
    ]
