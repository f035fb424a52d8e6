"""Shared access signatures for the lab's Azure Blob Storage, signed by azure-storage-blob.

The library signs with its own service version (the `sv` field); Azurite verifies every version
from 2020-12-06 on with the same string-to-sign layout. tests/lab_unit/test_sas_reference_vectors.py holds
reference vectors computed by Azurite for the version the pinned library uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from azure.storage.blob import generate_account_sas, generate_container_sas

# Azurite's built-in development account. Its key is published in the Azurite and Azure
# docs and opens nothing but a local emulator; it is not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class AccountKey:
    """A storage account and its shared key (base64), the credential every SAS here is signed with."""

    account: str
    key_b64: str

    def __repr__(self) -> str:
        # The key never lands in logs or tracebacks, even for accounts other than Azurite's.
        return f"AccountKey(account={self.account!r})"


DEV_KEY = AccountKey(DEV_ACCOUNT, DEV_ACCOUNT_KEY)


@dataclass(frozen=True)
class Signed:
    """A SAS token (query string without '?') and the exact string the library signed."""

    token: str
    string_to_sign: str


def sas_time(moment: datetime) -> str:
    """ISO 8601 UTC to the second, the form SAS fields use (2024-01-31T12:00:00Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_container(
    key: AccountKey, container: str, permissions: str, expiry: str, start: str = ""
) -> Signed:
    """A service SAS for one whole container (signedResource `c`), any protocol."""
    signed: list[str] = []
    token = generate_container_sas(
        key.account,
        container,
        account_key=key.key_b64,
        permission=permissions,
        expiry=expiry,
        start=start or None,
        sts_hook=signed.append,
    )
    return Signed(token, signed[-1])


def sign_account(
    key: AccountKey,
    permissions: str,
    services: str,
    resource_types: str,
    expiry: str,
    start: str = "",
) -> Signed:
    """An account SAS: `services` e.g. "b", `resource_types` any of "s", "c", "o"."""
    signed: list[str] = []
    token = generate_account_sas(
        key.account,
        key.key_b64,
        resource_types=resource_types,
        permission=permissions,
        expiry=expiry,
        start=start or None,
        services=services,
        sts_hook=signed.append,
    )
    return Signed(token, signed[-1])


def container_sas(
    key: AccountKey, container: str, permissions: str, expiry: str, start: str = ""
) -> str:
    """A container-scoped SAS token (query string without '?')."""
    return sign_container(key, container, permissions, expiry, start).token


def account_sas(
    key: AccountKey,
    permissions: str,
    services: str,
    resource_types: str,
    expiry: str,
    start: str = "",
) -> str:
    """An account SAS token (query string without '?')."""
    return sign_account(key, permissions, services, resource_types, expiry, start).token
