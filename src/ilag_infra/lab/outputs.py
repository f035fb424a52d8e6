"""The lab's stand-in for the Pulumi stack outputs (same shape as docs/interfaces.md).

The file holds secrets (SAS URLs, restic passwords): it is written 0600 and never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ilag_infra.lab.azurite import operator_sas_url
from ilag_infra.lab.keys import write_private
from ilag_infra.lab.net import NetPlan
from ilag_infra.lab.sas import DEV_KEY
from ilag_infra.model.region import Region
from ilag_infra.model.stack_outputs import BackupOutputs, IdentityOutputs, NetworkOutputs, Stack


def render(
    region: Region,
    netplan: NetPlan,
    *,
    ca_public_key: str,
    blob_endpoint: str,
    container_names: dict[str, str],
    sas_urls: dict[str, str],
    restic_passwords: dict[str, str],
    state_dir: Path,
    records_urls: dict[str, str],
    site_policies: dict[str, str] | None = None,
) -> dict[str, Any]:
    info = region.region
    # Built through the contract's models: a renamed or mistyped output fails here (and in
    # mypy), not in the first run that reads the file.
    stacks = {
        Stack.NETWORK: NetworkOutputs(
            # The lab's one service address plays the hub's DNS resolver inbound endpoint.
            resolver_inbound_ip=str(netplan.service_ip),
            dns_domain=info.dns_domain,
            hub_prefixes=[str(info.hub.address_space)],
            connection_names={n.slug: n.bridge for n in netplan.nets},
        ),
        Stack.IDENTITY: IdentityOutputs(ssh_user_ca_public_key=ca_public_key),
        Stack.BACKUP: BackupOutputs(
            blob_endpoint=blob_endpoint,
            storage_account_name=DEV_KEY.account,
            container_names=container_names,
            container_sas_urls=sas_urls,
            records_sas_urls=records_urls,
        ),
    }
    return {
        **{str(stack): model.model_dump(exclude_none=True) for stack, model in stacks.items()},
        "lab": {
            "restic_passwords": restic_passwords,
            # The operator's credential (prune); only here, never in a host's run variables.
            "operator_sas_url": operator_sas_url(blob_endpoint),
            "state_dir": str(state_dir),
            # The stored access policy each site's SAS is bound to (`ilag backup revoke`).
            "site_policies": dict(site_policies or {}),
            "lab_prefix": str(netplan.prefix),
            "networks": {
                n.slug: {"bridge": n.bridge, "subnet": str(n.subnet), "gateway": str(n.gateway)}
                for n in netplan.nets
            },
        },
    }


def write(path: Path, outputs: dict[str, Any]) -> None:
    write_private(path, json.dumps(outputs, indent=2, ensure_ascii=False) + "\n")
