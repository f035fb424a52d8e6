"""A container-scoped service SAS URL, signed by Azure with the account key (ListServiceSas)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage


def container_sas_url(
    account_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    blob_endpoint: pulumi.Input[str],
    container_name: pulumi.Input[str],
    permissions: str,
    expiry: str,
) -> pulumi.Output[str]:
    """`<endpoint><container>?<sas>` for one container, exported only as a secret."""
    # A service SAS on the canonical container path: sr=c cannot reach other containers.
    sas = storage.list_storage_account_service_sas_output(
        account_name=account_name,
        resource_group_name=resource_group_name,
        canonicalized_resource=pulumi.Output.concat("/blob/", account_name, "/", container_name),
        resource="c",
        permissions=permissions,
        protocols=storage.HttpProtocol.HTTPS,
        shared_access_expiry_time=expiry,
        key_to_sign="key1",
    )
    return pulumi.Output.secret(
        pulumi.Output.concat(blob_endpoint, container_name, "?", sas.service_sas_token)
    )
