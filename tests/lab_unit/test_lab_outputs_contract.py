"""The lab's stand-in stack outputs satisfy the stack-output contract, and runs can read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ilag_infra.lab import azurite, keys, net
from ilag_infra.lab import outputs as lab_outputs
from ilag_infra.model import stack_outputs as contract
from ilag_infra.model.errors import InputError
from ilag_infra.model.naming import container_name
from ilag_infra.model.region import load
from ilag_infra.model.stack_outputs import records_container
from ilag_infra.onsite import outputs

REPO = Path(__file__).resolve().parents[2]
# What only Azure has: a VPN gateway, a Key Vault, a deploy identity, resource groups.
AZURE_ONLY = {
    contract.Stack.NETWORK: contract.names("network")
    - {"resolver_inbound_ip", "dns_domain", "hub_prefixes", "connection_names"},
    contract.Stack.IDENTITY: contract.names("identity") - {"ssh_user_ca_public_key"},
    contract.Stack.BACKUP: {"resource_group_name"},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    region = load(REPO / "region.yaml").model
    netplan = net.plan(net.DEFAULT_LAB_PREFIX, list(region.slugs), 2)
    endpoint = azurite.blob_endpoint(str(netplan.service_ip))
    containers = {slug: container_name(slug) for slug in region.slugs}
    state = tmp_path_factory.mktemp("lab-state")
    data = lab_outputs.render(
        region,
        netplan,
        ca_public_key=keys.generate("lab-user-ca").public,
        blob_endpoint=endpoint,
        container_names=containers,
        sas_urls={s: azurite.container_sas_url(endpoint, c) for s, c in containers.items()},
        restic_passwords={slug: f"pw-{slug}" for slug in region.slugs},
        state_dir=state,
        records_urls={
            s: azurite.records_sas_url(endpoint, records_container(s)) for s in region.slugs
        },
    )
    path = state / "outputs.json"
    lab_outputs.write(path, data)
    return data, path


@pytest.mark.parametrize("stack", contract.STACKS)
def test_lab_outputs_satisfy_the_contract(
    stack: contract.Stack, rendered: tuple[dict[str, Any], Path]
) -> None:
    data, _ = rendered
    contract.parse(stack, data[stack], "lab outputs")
    assert set(data[stack]) == contract.names(stack) - AZURE_ONLY[stack]
    assert contract.required(stack) <= set(data[stack])


def test_lab_outputs_file_gives_every_municipality_its_run_vars(
    rendered: tuple[dict[str, Any], Path],
) -> None:
    _, path = rendered
    assert path.stat().st_mode & 0o777 == 0o600
    region = load(REPO / "region.yaml").model
    read = outputs.from_file(path)
    assert read.secret_names == contract.SECRET_OUTPUTS
    for slug in region.slugs:
        rv = outputs.run_vars(region, slug, read)
        assert rv.public["ilag_outputs"]["container_name"] == f"backup-{slug}"
        sas_url = rv.secrets["ilag_secrets"]["backup_sas_url"]
        assert sas_url.split("?")[0].endswith(f"/backup-{slug}")
        assert rv.secrets["ilag_secrets"]["restic_password"] == f"pw-{slug}"
        assert sas_url not in json.dumps(rv.public)
    masked = json.dumps(read.masked())
    assert "sig=" not in masked and "pw-" not in masked


def test_an_outputs_file_off_the_contract_is_bad_input_without_the_secret(
    rendered: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    data, _ = rendered
    broken = json.loads(json.dumps(data))
    broken["network"]["resolver_inbound_ip"] = "not-an-address"
    broken["identity"]["ssh_user_ca_pubkey"] = broken["identity"].pop("ssh_user_ca_public_key")
    broken["backup"]["container_sas_urls"]["bo"] = broken["backup"]["container_sas_urls"]["andoy"]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InputError) as info:
        outputs.from_file(path)
    keys_seen = {p.key for p in info.value.problems}
    assert keys_seen == {
        "network.resolver_inbound_ip",
        "identity.ssh_user_ca_public_key",
        "identity.ssh_user_ca_pubkey",
        "backup",
    }
    assert all(p.file == str(path) and p.fix for p in info.value.problems)
    assert "sig=" not in str(info.value)
