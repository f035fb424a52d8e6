"""One municipality's records container (records-<slug>) in the backup account, and its SAS.

The node writes its run records there and takes its apply lease on `locks/<env>/<slug>`
(onsite/recordstore.py, onsite/lease.py). The container stays outside WORM, so records stay
writable: the lock blob's metadata is rewritten on every apply, and a retention policy holds
each blob version against change and delete. Overwrites and deletes stay recoverable through
the account's blob versioning and soft delete, which cover every container in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from ilag_infra.azure import service_sas
from ilag_infra.model.stack_outputs import records_container

# Read, add, create, write (also takes and renews the lease), list. No `d`: a node never
# deletes, and `d` would also break a lease. No `x` or `y`: no version is deleted.
RECORDS_SAS_PERMISSIONS = "racwl"


@dataclass(frozen=True)
class RecordsArgs:
    resource_group_name: pulumi.Input[str]
    account_name: pulumi.Input[str]
    blob_endpoint: pulumi.Input[str]
    slug: str
    sas_expiry: str
    blob_service: pulumi.Resource


class RecordsContainer(pulumi.ComponentResource):
    """The municipality's private records container and a SAS that reaches it only."""

    container: storage.BlobContainer
    sas_url: pulumi.Output[str]

    def __init__(self, name: str, args: RecordsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:backup:RecordsContainer", name, None, opts)
        container = records_container(args.slug)
        self.container = storage.BlobContainer(
            container,
            container_name=container,
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            # Containers carry no ARM tags; metadata names the owner, as on the backup ones.
            metadata={"municipality": args.slug, "service": "records"},
            # No immutableStorageWithVersioning and no immutability policy: see the module doc.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.blob_service]),
        )
        self.sas_url = service_sas.container_sas_url(
            args.account_name,
            args.resource_group_name,
            args.blob_endpoint,
            self.container.name,
            RECORDS_SAS_PERMISSIONS,
            args.sas_expiry,
        )
        self.register_outputs({"container": self.container.name})
