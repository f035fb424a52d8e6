"""The one secrets policy: names, text redaction and nested masking."""

from __future__ import annotations

import pytest

from ilag_infra.model.secrets import MASK, is_secret_name, mask_mapping, redact_text


@pytest.mark.parametrize(
    "name",
    [
        "container_sas_urls",
        "storageAccountKey",
        "restic_password",
        "RESTIC_PASSWORD",
        "vpnPsk",
        "sig",
        "sasToken",
        "credentials",
        "accessKeys",
        "client-secret",
        "primary.key",
        "connectionString",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "keyToSign",
        "signedExpiry",
        "resource_group",
        "monkey",
        "disaster_site",
        "ssh_ca_public_key",
        "publicKey",
        "keyVaultName",
        "vnet_id",
    ],
)
def test_plain_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://a.blob.core.windows.net/c?sv=2022-11-02&sig=abc%2Fdef%3D&se=2",
            f"https://a.blob.core.windows.net/c?sv=2022-11-02&sig={MASK}&se=2",
        ),
        ("SIG=abc def", f"SIG={MASK} def"),
        ("password=hunter2 next", f"password={MASK} next"),
        ('{"restic_password": "hunter2"}', f'{{"restic_password": "{MASK}"}}'),
        ("RESTIC_PASSWORD: hunter2", f"RESTIC_PASSWORD: {MASK}"),
        ("https://user:pw@host/x", f"https://user:{MASK}@host/x"),
        ("AccountName=x;AccountKey=Eby8vdM02x==;", f"AccountName=x;AccountKey={MASK};"),
        # prose that only mentions a password keeps its words
        ("sudo without a password does not work", "sudo without a password does not work"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected  # idempotent


def test_redact_known_values() -> None:
    assert redact_text("value is s3cr3t-v4lue here", ["s3cr3t-v4lue"]) == f"value is {MASK} here"


def test_mask_mapping_nested_keeps_shape_and_leaves_input() -> None:
    data = {
        "backup": {
            "container_sas_urls": {"andoy": "https://x/c?sig=1", "bo": "https://y/c?sig=2"},
            "storage_account": "stilag",
            "note": "see https://x/c?sv=1&sig=abc",
        },
        "list": [1, {"psk": "x", "ok": True}],
    }
    masked = mask_mapping(data)
    assert masked == {
        "backup": {
            "container_sas_urls": {"andoy": MASK, "bo": MASK},
            "storage_account": "stilag",
            "note": f"see https://x/c?sv=1&sig={MASK}",
        },
        "list": [1, {"psk": MASK, "ok": True}],
    }
    assert data["backup"]["container_sas_urls"]["andoy"] == "https://x/c?sig=1"  # type: ignore[index]


def test_a_path_that_names_a_secret_file_is_not_redacted() -> None:
    # An error about /etc/passwd must stay readable; an assignment right beside it is still masked.
    assert redact_text("/etc/passwd: cannot write") == "/etc/passwd: cannot write"
    assert (
        redact_text("/etc/passwd: ok, password: hunter2") == "/etc/passwd: ok, password: [secret]"
    )
