"""Stack outputs as the Pulumi Automation API returns them (OutputValue) map onto the contract."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pulumi.automation import OutputValue

from ilag_infra.model.errors import InputError
from ilag_infra.model.region import load
from ilag_infra.onsite import outputs

REPO = Path(__file__).resolve().parent.parent
SAS = (
    "https://stilag.blob.core.windows.net/backup-{slug}?sv=2026-10-06&sr=c&sp=racwdl&sig=S3CR3T%3D"
)
SLUGS = ("andoy", "bo")


def automation_outputs(*, sas_secret: bool = True) -> dict[str, dict[str, OutputValue]]:
    """What LocalWorkspace.stack_outputs returns per stack, built from real OutputValue objects."""
    return {
        "network": {
            "resolver_inbound_ip": OutputValue("10.20.3.4", False),
            "hub_prefixes": OutputValue(["10.20.0.0/22"], False),
            "dns_domain": OutputValue("ilag.internal", False),
            "gateway_public_ip": OutputValue("198.51.100.250", False),
        },
        "identity": {
            "ssh_user_ca_public_key": OutputValue("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ca", False),
            # Marked secret by Pulumi although the contract does not call it secret.
            "key_vault_uri": OutputValue("https://kv-ilag-prod.vault.azure.net/", True),
        },
        "backup": {
            "blob_endpoint": OutputValue("https://stilag.blob.core.windows.net/", False),
            "container_names": OutputValue({s: f"backup-{s}" for s in SLUGS}, False),
            "container_sas_urls": OutputValue({s: SAS.format(slug=s) for s in SLUGS}, sas_secret),
        },
    }


def test_values_and_secret_flags_map_onto_the_contract() -> None:
    out = outputs.from_output_values(automation_outputs(), "pulumi stacks (test)")
    assert out.get("network", "resolver_inbound_ip") == "10.20.3.4"
    assert out.get("backup", "container_names") == {"andoy": "backup-andoy", "bo": "backup-bo"}
    assert ("identity", "key_vault_uri") in out.secret_names
    assert ("backup", "container_sas_urls") in out.secret_names
    assert out.masked()["identity"]["key_vault_uri"] == outputs.SECRET_MASK
    assert out.masked()["backup"]["container_sas_urls"] == {
        "andoy": outputs.SECRET_MASK,
        "bo": outputs.SECRET_MASK,
    }
    rv = outputs.run_vars(load(REPO / "region.yaml").model, "bo", out)
    assert rv.secrets["ilag_secrets"]["backup_sas_url"] == SAS.format(slug="bo")
    assert rv.public["ilag_outputs"]["container_name"] == "backup-bo"


def test_the_contract_keeps_a_documented_secret_secret_even_if_pulumi_does_not_flag_it() -> None:
    out = outputs.from_output_values(automation_outputs(sas_secret=False), "test")
    assert "S3CR3T" not in json.dumps(out.masked())


def test_outputs_off_the_contract_are_bad_input_naming_stack_and_output() -> None:
    values = automation_outputs()
    values["network"]["resolver_inbound_ip"] = OutputValue(["10.20.3.4"], False)
    del values["backup"]["blob_endpoint"]
    with pytest.raises(InputError) as info:
        outputs.from_output_values(values, "pulumi stacks (network, identity, backup)")
    problems = {p.key: p for p in info.value.problems}
    assert set(problems) == {"network.resolver_inbound_ip", "backup.blob_endpoint"}
    assert problems["backup.blob_endpoint"].message == "output is missing"
    assert "pulumi up -s backup" in problems["backup.blob_endpoint"].fix
    assert "S3CR3T" not in str(info.value)


def test_without_the_pulumi_cli_the_error_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(outputs.OutputsError, match="pulumi CLI is not installed"):
        outputs.from_pulumi(cwd=REPO)
