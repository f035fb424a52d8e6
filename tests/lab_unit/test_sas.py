"""SAS signing against vectors computed by an independent implementation (Azurite's own)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from ilag_infra.lab import azurite, sas

# Computed with Azurite 3.35's generateBlobSASSignature / generateAccountSASSignature
# (the code it uses to verify incoming SAS) for the well-known development account.
CONTAINER_SIG = "GZSRNvvWmrJJhbx39/bu8EVlb6J4AlYGyLjWRPSv7hA="
CONTAINER_STS = (
    "racwdl\n\n2030-01-01T00:00:00Z\n/blob/devstoreaccount1/backup-andoy"
    "\n\n\n\n2020-12-06\nc\n\n\n\n\n\n\n"
)
ACCOUNT_SIG = "0lTI9/1Q1eQVcZHuq3WRW09/lNdWbYL6L733X6e2YbU="
ACCOUNT_STS = "devstoreaccount1\nc\nb\nc\n\n2030-01-01T00:00:00Z\n\n\n2020-12-06\n\n"


def test_container_string_to_sign_matches_reference() -> None:
    sts = sas.container_string_to_sign(
        sas.DEV_KEY, "backup-andoy", "racwdl", "2030-01-01T00:00:00Z"
    )
    assert sts == CONTAINER_STS
    assert sas.DEV_KEY.sign(sts) == CONTAINER_SIG


def test_container_sas_query_carries_fields_and_encoded_signature() -> None:
    token = sas.container_sas(sas.DEV_KEY, "backup-andoy", "racwdl", "2030-01-01T00:00:00Z")
    assert "%3A" in token  # times are percent-encoded
    assert "+" not in token and "/" not in token  # so is the base64 signature
    fields = {k: v[0] for k, v in parse_qs(token).items()}
    assert fields == {
        "sv": "2020-12-06",
        "se": "2030-01-01T00:00:00Z",
        "sr": "c",
        "sp": "racwdl",
        "sig": CONTAINER_SIG,
    }


def test_account_sas_matches_reference() -> None:
    sts = sas.account_string_to_sign(sas.DEV_KEY, "c", "b", "c", "2030-01-01T00:00:00Z")
    assert sts == ACCOUNT_STS
    assert sas.DEV_KEY.sign(sts) == ACCOUNT_SIG
    fields = parse_qs(sas.account_sas(sas.DEV_KEY, "c", "b", "c", "2030-01-01T00:00:00Z"))
    assert fields["sig"] == [ACCOUNT_SIG]


def test_container_sas_url_is_container_scoped_with_site_permissions() -> None:
    now = datetime(2029, 12, 2, 8, 30, tzinfo=UTC)
    url = azurite.container_sas_url("http://10.250.255.1:10000/devstoreaccount1", "backup-bo", now)
    parts = urlsplit(url)
    assert parts.path == "/devstoreaccount1/backup-bo"
    query = parse_qs(parts.query)
    assert query["sr"] == ["c"]
    assert query["sp"] == ["racwdl"]
    assert query["se"] == ["2030-01-01T08:30:00Z"]


def test_sas_time_is_utc_seconds() -> None:
    assert sas.sas_time(datetime(2030, 1, 1, 1, 2, 3, 999, tzinfo=UTC)) == "2030-01-01T01:02:03Z"
