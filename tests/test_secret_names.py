"""One list of secret names: the model's policy, the plan worker's standard-library copy of it,
and the diff's role and inventory variables all decide the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.diff import ansible_vars, worker
from ilag_infra.model import secret_names
from ilag_infra.model.secrets import MASK, is_secret_name

BEGIN, END = "# --- secret names: begin ---", "# --- secret names: end ---"
NAMES = [
    # secret
    "container_sas_urls",
    "storageAccountKey",
    "restic_password",
    "vpnPsk",
    "sharedKey",
    "passphrase",
    "sasToken",
    "sig",
    "client-secret",
    "connectionString",
    "credentials",
    "ansible_become_pass",
    "ansible_ssh_pass",
    "sshPrivateKey",
    "userPassword",
    # not secret
    "keyToSign",
    "signedExpiry",
    "resource_group",
    "monkey",
    "publicKey",
    "identity__user_ca_public_key",
    "keyVaultName",
    "PASS_MAX_DAYS",
    "vault_name",
    "bypass",
]


def _block(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1, path
    return text[text.index(BEGIN) : text.index(END)]


def test_the_worker_carries_the_policy_verbatim() -> None:
    source = _block(Path(secret_names.__file__))
    copy = _block(Path(worker.__file__))
    assert copy == source, (
        "diff/worker.py's copy of the secret names differs from model/secret_names.py: "
        "copy the block between the markers over"
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_part_decides_alike(name: str) -> None:
    secret = is_secret_name(name)
    assert worker.is_secret_name(name) == secret
    assert (worker._masked_args({name: "v"})[name] == MASK) == secret
    assert (ansible_vars._show(name, "v", with_values=True) is None) == secret


@pytest.mark.parametrize("name", ["vpnPsk", "sasToken", "passphrase", "connectionString"])
def test_worker_masks_what_the_policy_calls_secret(name: str) -> None:
    assert worker._masked_args({name: "s3cr3t", "resourceGroupName": "rg"}) == {
        name: MASK,
        "resourceGroupName": "rg",
    }


def test_ansible_connection_passwords_are_secret_and_login_defs_is_not() -> None:
    assert is_secret_name("ansible_become_pass")
    assert not is_secret_name("PASS_MAX_DAYS")
    assert ansible_vars._show("baseline__login_defs", {"PASS_MAX_DAYS": 365}, True) == (
        "{'PASS_MAX_DAYS': 365}"
    )
