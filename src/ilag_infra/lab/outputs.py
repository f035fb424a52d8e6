"""The lab's stand-in for the Pulumi stack outputs (same shape as docs/interfaces.md).

The file holds secrets (SAS URLs, restic passwords): it is written 0600 and never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ilag_infra.lab.keys import write_private
from ilag_infra.lab.net import NetPlan
from ilag_infra.lab.sas import DEV_KEY
from ilag_infra.model.region import Region


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
) -> dict[str, Any]:
    info = region.region
    return {
        "network": {
            # The lab's one service address plays the hub's DNS resolver inbound endpoint.
            "resolver_inbound_ip": str(netplan.service_ip),
            "dns_domain": info.dns_domain,
            "hub_prefixes": [str(info.hub.address_space)],
            "connection_names": {n.slug: n.bridge for n in netplan.nets},
        },
        "identity": {"ssh_user_ca_public_key": ca_public_key},
        "backup": {
            "blob_endpoint": blob_endpoint,
            "storage_account_name": DEV_KEY.account,
            "container_names": container_names,
            "container_sas_urls": sas_urls,
        },
        "lab": {
            "restic_passwords": restic_passwords,
            "state_dir": str(state_dir),
            "lab_prefix": str(netplan.prefix),
            "networks": {
                n.slug: {"bridge": n.bridge, "subnet": str(n.subnet), "gateway": str(n.gateway)}
                for n in netplan.nets
            },
        },
    }


def write(path: Path, outputs: dict[str, Any]) -> None:
    write_private(path, json.dumps(outputs, indent=2, ensure_ascii=False) + "\n")
