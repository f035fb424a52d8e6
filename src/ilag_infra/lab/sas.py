"""Shared access signatures for Azure Blob Storage, signed with the account key (stdlib only).

Field order follows the service-SAS and account-SAS string-to-sign of version 2020-12-06,
as the Azure Storage REST reference defines it and Azurite verifies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

SAS_VERSION = "2020-12-06"

# Azurite's built-in development account. Its key is published in the Azurite and Azure
# docs and opens nothing but a local emulator; it is not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class AccountKey:
    account: str
    key_b64: str

    def sign(self, string_to_sign: str) -> str:
        key = base64.b64decode(self.key_b64)
        digest = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")


DEV_KEY = AccountKey(DEV_ACCOUNT, DEV_ACCOUNT_KEY)


def sas_time(moment: datetime) -> str:
    """ISO 8601 UTC to the second, the form SAS fields use (2024-01-31T12:00:00Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _query(fields: dict[str, str]) -> str:
    # ':' in times and '+/=' in the signature must be percent-encoded; empty fields are left out.
    return urlencode({k: v for k, v in fields.items() if v}, quote_via=quote, safe="")


def container_string_to_sign(
    key: AccountKey, container: str, permissions: str, expiry: str, start: str = ""
) -> str:
    """The service-SAS string-to-sign for a whole container (signedResource `c`)."""
    return "\n".join(
        [
            permissions,
            start,
            expiry,
            f"/blob/{key.account}/{container}",
            "",  # signedIdentifier (stored access policy): none
            "",  # signedIP
            "",  # signedProtocol: any, the emulator speaks plain HTTP
            SAS_VERSION,
            "c",  # signedResource
            "",  # signedSnapshotTime
            "",  # signedEncryptionScope
            "",  # rscc (Cache-Control override)
            "",  # rscd (Content-Disposition)
            "",  # rsce (Content-Encoding)
            "",  # rscl (Content-Language)
            "",  # rsct (Content-Type)
        ]
    )


def container_sas(
    key: AccountKey, container: str, permissions: str, expiry: str, start: str = ""
) -> str:
    """A container-scoped SAS token (query string without '?')."""
    signature = key.sign(container_string_to_sign(key, container, permissions, expiry, start))
    return _query(
        {
            "sv": SAS_VERSION,
            "st": start,
            "se": expiry,
            "sr": "c",
            "sp": permissions,
            "sig": signature,
        }
    )


def account_string_to_sign(
    key: AccountKey, permissions: str, services: str, resource_types: str, expiry: str
) -> str:
    """The account-SAS string-to-sign (no start, IP or protocol restriction)."""
    return "\n".join(
        [
            key.account,
            permissions,
            services,
            resource_types,
            "",
            expiry,
            "",
            "",
            SAS_VERSION,
            "",
            "",
        ]
    )


def account_sas(
    key: AccountKey, permissions: str, services: str, resource_types: str, expiry: str
) -> str:
    """An account SAS token; the lab uses one only to create its containers."""
    signature = key.sign(account_string_to_sign(key, permissions, services, resource_types, expiry))
    return _query(
        {
            "sv": SAS_VERSION,
            "ss": services,
            "srt": resource_types,
            "sp": permissions,
            "se": expiry,
            "sig": signature,
        }
    )
