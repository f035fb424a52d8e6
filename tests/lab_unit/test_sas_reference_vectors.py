"""SAS signing against vectors computed by an independent implementation (Azurite's own)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from ilag_infra.lab import azurite, sas

# Computed with Azurite 3.35's generateBlobSASSignature / generateAccountSASSignature
# (the code it uses to verify incoming SAS) for the well-known development account, at the
# service version the pinned azure-storage-blob signs with. After a library upgrade changes
# that version, recompute them the same way (node, node_modules/azurite/dist/src/...).
SIGNED_VERSION = "2026-10-06"
CONTAINER_SIG = "0wIZ2ZeL73HRjiArq7q76CDUkiNksVd7rzRri6AcBjk="
CONTAINER_STS = (
    "racwdl\n\n2030-01-01T00:00:00Z\n/blob/devstoreaccount1/backup-andoy"
    f"\n\n\n\n{SIGNED_VERSION}\nc\n\n\n\n\n\n\n"
)
ACCOUNT_SIG = "L8p7CctyVUrVnqSOQXGs/kCgZuwEMV4e+Sc+RmTYmQw="
ACCOUNT_STS = f"devstoreaccount1\nc\nb\nc\n\n2030-01-01T00:00:00Z\n\n\n{SIGNED_VERSION}\n\n"


def fields(token: str) -> dict[str, str]:
    parsed = parse_qs(token, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {k: v[0] for k, v in parsed.items()}


def test_container_string_to_sign_matches_reference() -> None:
    signed = sas.sign_container(sas.DEV_KEY, "backup-andoy", "racwdl", "2030-01-01T00:00:00Z")
    assert signed.string_to_sign == CONTAINER_STS
    assert fields(signed.token)["sig"] == CONTAINER_SIG


def test_container_sas_query_carries_fields_and_encoded_signature() -> None:
    token = sas.container_sas(sas.DEV_KEY, "backup-andoy", "racwdl", "2030-01-01T00:00:00Z")
    assert "%3A" in token  # times are percent-encoded
    assert "+" not in token and "/" not in token  # so is the base64 signature
    assert fields(token) == {
        "sv": SIGNED_VERSION,
        "se": "2030-01-01T00:00:00Z",
        "sr": "c",
        "sp": "racwdl",
        "sig": CONTAINER_SIG,
    }


def test_account_sas_matches_reference() -> None:
    signed = sas.sign_account(sas.DEV_KEY, "c", "b", "c", "2030-01-01T00:00:00Z")
    assert signed.string_to_sign == ACCOUNT_STS
    assert "+" not in signed.token  # a literal '+' would decode as a space
    assert fields(signed.token) == {
        "sv": SIGNED_VERSION,
        "ss": "b",
        "srt": "c",
        "sp": "c",
        "se": "2030-01-01T00:00:00Z",
        "sig": ACCOUNT_SIG,
    }
    assert sas.account_sas(sas.DEV_KEY, "c", "b", "c", "2030-01-01T00:00:00Z") == signed.token


def test_start_time_is_signed_and_sent() -> None:
    signed = sas.sign_container(
        sas.DEV_KEY, "backup-bo", "rl", "2030-01-01T00:00:00Z", start="2029-12-31T00:00:00Z"
    )
    assert signed.string_to_sign.split("\n")[:3] == [
        "rl",
        "2029-12-31T00:00:00Z",
        "2030-01-01T00:00:00Z",
    ]
    assert fields(signed.token)["st"] == "2029-12-31T00:00:00Z"


def test_another_account_key_signs_differently_and_stays_out_of_repr() -> None:
    other = sas.AccountKey("stilagbackup", "c2VjcmV0LWtleS1ub3QtdGhlLWRldi1rZXk=")
    token = sas.account_sas(other, "rdl", "b", "sco", "2030-01-01T00:00:00Z")
    assert fields(token)["sig"] != ACCOUNT_SIG
    assert other.key_b64 not in repr(other)


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


def test_policy_sas_carries_no_permissions_of_its_own() -> None:
    """A SAS bound to a stored access policy: replacing the policy revokes it (tests/lab)."""
    url = azurite.policy_sas_url(
        "http://10.250.255.1:10000/devstoreaccount1", "backup-bo", "site-20300101T000000-abcdef"
    )
    query = parse_qs(urlsplit(url).query)
    assert query["si"] == ["site-20300101T000000-abcdef"] and query["sr"] == ["c"]
    assert "sp" not in query and "se" not in query and query["sig"]
    assert azurite.new_policy_id() != azurite.new_policy_id()
    assert len(azurite.new_policy_id()) <= 64
