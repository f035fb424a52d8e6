"""The stack-output contract: what each Pulumi stack exports, with types and secret flags.

The Azure stacks export these names, the lab writes the same shape, and on-site runs read
it (docs/interfaces.md). Names are StrEnum members, so they are plain strings wherever a key
is needed; the models check the values.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from ilag_infra.model.errors import InputError, Problem


class Stack(StrEnum):
    NETWORK = "network"
    IDENTITY = "identity"
    BACKUP = "backup"


STACKS: tuple[Stack, ...] = tuple(Stack)


class NetworkOutput(StrEnum):
    GATEWAY_PUBLIC_IP = "gateway_public_ip"
    HUB_PREFIXES = "hub_prefixes"
    RESOLVER_INBOUND_IP = "resolver_inbound_ip"
    CONNECTION_NAMES = "connection_names"
    DNS_DOMAIN = "dns_domain"
    # Read by the identity and backup stacks through StackReference.
    RESOURCE_GROUP_NAME = "resource_group_name"
    RESOURCE_GROUP_ID = "resource_group_id"
    HUB_VNET_ID = "hub_vnet_id"
    PRIVATE_ENDPOINT_SUBNET_ID = "private_endpoint_subnet_id"
    PRIVATE_DNS_ZONE_IDS = "private_dns_zone_ids"
    # The environment's monitoring: every stack logs and alerts through these two.
    LOG_ANALYTICS_WORKSPACE_ID = "log_analytics_workspace_id"
    ACTION_GROUP_ID = "action_group_id"


class IdentityOutput(StrEnum):
    KEY_VAULT_URI = "key_vault_uri"
    SSH_USER_CA_PUBLIC_KEY = "ssh_user_ca_public_key"
    DEPLOY_IDENTITY_CLIENT_ID = "deploy_identity_client_id"
    # Read by the backup stack through StackReference.
    DEPLOY_IDENTITY_PRINCIPAL_ID = "deploy_identity_principal_id"
    # The read-only identity of pull-request previews.
    PREVIEW_IDENTITY_CLIENT_ID = "preview_identity_client_id"
    PREVIEW_IDENTITY_PRINCIPAL_ID = "preview_identity_principal_id"
    OPERATORS_GROUP_OBJECT_ID = "operators_group_object_id"
    KEY_VAULT_NAME = "key_vault_name"
    RESOURCE_GROUP_NAME = "resource_group_name"
    LOCK_ROLE_DEFINITION_ID = "lock_role_definition_id"
    BACKUP_DEPLOYER_ROLE_DEFINITION_ID = "backup_deployer_role_definition_id"
    PRUNER_ROLE_DEFINITION_ID = "pruner_role_definition_id"


class BackupOutput(StrEnum):
    BLOB_ENDPOINT = "blob_endpoint"
    STORAGE_ACCOUNT_NAME = "storage_account_name"
    CONTAINER_NAMES = "container_names"
    CONTAINER_SAS_URLS = "container_sas_urls"
    RESOURCE_GROUP_NAME = "resource_group_name"
    # Each municipality's node writes run records and takes its apply lease in a records
    # container of its own (records-<slug>), with a SAS for that container only.
    RECORDS_SAS_URLS = "records_sas_urls"


NAMES: Mapping[Stack, type[StrEnum]] = {
    Stack.NETWORK: NetworkOutput,
    Stack.IDENTITY: IdentityOutput,
    Stack.BACKUP: BackupOutput,
}

# Outputs whose values are secret: exported with pulumi.Output.secret, masked when shown.
SECRET_OUTPUTS: frozenset[tuple[str, str]] = frozenset(
    {
        (Stack.BACKUP, BackupOutput.CONTAINER_SAS_URLS),
        (Stack.BACKUP, BackupOutput.RECORDS_SAS_URLS),
    }
)


def _ipv4(value: str) -> str:
    ipaddress.IPv4Address(value)
    return value


def _ipv4_net(value: str) -> str:
    ipaddress.IPv4Network(value)
    return value


IPv4Text = Annotated[str, AfterValidator(_ipv4)]
IPv4NetText = Annotated[str, AfterValidator(_ipv4_net)]


class OutputsModel(BaseModel):
    # strict: JSON gives str/list/dict already, so nothing may be coerced into shape;
    # forbid: an output outside the contract is a renamed or forgotten name.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, hide_input_in_errors=True)


class NetworkOutputs(OutputsModel):
    """Required fields are what runs read; the rest only Azure has (no VPN gateway in the lab)."""

    resolver_inbound_ip: IPv4Text
    hub_prefixes: list[IPv4NetText] | None = None
    connection_names: dict[str, str] | None = None
    dns_domain: str | None = None
    gateway_public_ip: str | None = None
    resource_group_name: str | None = None
    resource_group_id: str | None = None
    hub_vnet_id: str | None = None
    private_endpoint_subnet_id: str | None = None
    private_dns_zone_ids: dict[str, str] | None = None
    log_analytics_workspace_id: str | None = None
    action_group_id: str | None = None


class IdentityOutputs(OutputsModel):
    ssh_user_ca_public_key: str
    key_vault_uri: str | None = None
    deploy_identity_client_id: str | None = None
    deploy_identity_principal_id: str | None = None
    preview_identity_client_id: str | None = None
    preview_identity_principal_id: str | None = None
    operators_group_object_id: str | None = None
    key_vault_name: str | None = None
    resource_group_name: str | None = None
    lock_role_definition_id: str | None = None
    backup_deployer_role_definition_id: str | None = None
    pruner_role_definition_id: str | None = None


class BackupOutputs(OutputsModel):
    blob_endpoint: str
    container_names: dict[str, str]
    container_sas_urls: dict[str, str]
    storage_account_name: str | None = None
    resource_group_name: str | None = None
    records_sas_urls: dict[str, str] | None = None

    @model_validator(mode="after")
    def _sas_urls_are_container_scoped(self) -> BackupOutputs:
        # Messages name the municipality, never the URL: it carries the signature.
        for slug, url in self.container_sas_urls.items():
            container = self.container_names.get(slug)
            if container is None:
                raise ValueError(f"container_sas_urls.{slug} has no entry in container_names")
            parts = urlsplit(url)
            query = parse_qs(parts.query)
            if not parts.path.rstrip("/").endswith(f"/{container}") or "sig" not in query:
                raise ValueError(
                    f"container_sas_urls.{slug} is not a signed URL for container {container}"
                )
        for slug, url in (self.records_sas_urls or {}).items():
            parts = urlsplit(url)
            if not parts.path.rstrip("/").endswith(f"/{records_container(slug)}") or (
                "sig" not in parse_qs(parts.query)
            ):
                raise ValueError(
                    f"records_sas_urls.{slug} is not a signed URL for container "
                    f"{records_container(slug)}"
                )
        return self


def records_container(slug: str) -> str:
    """The municipality's records container: its run records and its apply lease."""
    return f"records-{slug}"


MODELS: Mapping[Stack, type[OutputsModel]] = {
    Stack.NETWORK: NetworkOutputs,
    Stack.IDENTITY: IdentityOutputs,
    Stack.BACKUP: BackupOutputs,
}


def names(stack: Stack | str) -> frozenset[str]:
    """Every output name the stack exports."""
    return frozenset(str(n) for n in NAMES[Stack(stack)])


def required(stack: Stack | str) -> frozenset[str]:
    """The outputs every source must provide (what on-site runs read)."""
    return frozenset(n for n, f in MODELS[Stack(stack)].model_fields.items() if f.is_required())


def is_secret(stack: Stack | str, name: str) -> bool:
    return (str(stack), str(name)) in SECRET_OUTPUTS


def parse(stack: Stack | str, values: Mapping[str, Any], source: str) -> OutputsModel:
    """Check one stack's outputs against the contract; InputError names source, stack, output."""
    stack = Stack(stack)
    try:
        return MODELS[stack].model_validate(dict(values))
    except ValidationError as exc:
        problems = []
        # include_input=False: the rejected value may be a secret.
        for err in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in err["loc"])
            key = f"{stack}.{where}" if where else str(stack)
            if err["type"] == "missing":
                problem = Problem(
                    source,
                    key,
                    "output is missing",
                    f"run `pulumi up -s {stack}` (or `ilag lab up` in the lab) so it exports it",
                )
            elif err["type"] == "extra_forbidden":
                problem = Problem(
                    source,
                    key,
                    "output is not part of the stack-output contract",
                    "add it to ilag_infra.model.stack_outputs or stop exporting it",
                )
            else:
                problem = Problem(
                    source,
                    key,
                    err["msg"],
                    f"re-run `pulumi up -s {stack}` (lab: `ilag lab up`) to export it again",
                )
            problems.append(problem)
        raise InputError(problems) from None
