"""A sixth municipality in region.yaml adds exactly its own resources, with no code change."""

from __future__ import annotations

from ilag_infra.azure import plan

from .conftest import SIXTH, sas_invokes


def _added(before: plan.PlanResult, after: plan.PlanResult) -> list[tuple[str, str]]:
    old = set(before.by_urn())
    return sorted((r.type, r.name) for r in after.resources if r.urn not in old)


def test_network_adds_its_gateway_and_connection_only(
    plans: dict[str, plan.PlanResult], sixth_plans: dict[str, plan.PlanResult]
) -> None:
    added = _added(plans["network"], sixth_plans["network"])
    assert added == [
        ("azure-native:network:LocalNetworkGateway", "lgw-lodingen-radhuset-prod-noe"),
        ("azure-native:network:VirtualNetworkGatewayConnection", "vcn-lodingen-radhuset-prod-noe"),
        ("ilag:network:SiteLink", "lodingen-radhuset"),
    ]
    assert set(plans["network"].by_urn()) <= set(sixth_plans["network"].by_urn())
    assert "lodingen" in sixth_plans["network"].outputs["connection_names"]


def test_backup_adds_its_containers_sas_secret_and_reader_roles_only(
    plans: dict[str, plan.PlanResult], sixth_plans: dict[str, plan.PlanResult]
) -> None:
    added = _added(plans["backup"], sixth_plans["backup"])
    types = sorted(t for t, _ in added)
    # The container with its reader role, the site secret and the restic password escrow
    # each with its reader role, and the records container.
    assert types == [
        "azure-native:authorization:RoleAssignment",
        "azure-native:authorization:RoleAssignment",
        "azure-native:authorization:RoleAssignment",
        "azure-native:keyvault:Secret",
        "azure-native:keyvault:Secret",
        "azure-native:storage:BlobContainer",
        "azure-native:storage:BlobContainer",
        "ilag:backup:MunicipalityContainer",
        "ilag:backup:RecordsContainer",
        "ilag:backup:ResticEscrow",
        "ilag:backup:SiteSecret",
    ]
    sixth = sixth_plans["backup"]
    for records in (False, True):
        before, after = sas_invokes(plans["backup"], records), sas_invokes(sixth, records)
        assert len(after) == len(before) + 1 == 6
    scoped = {i.args["canonicalizedResource"].rsplit("/", 1)[-1] for i in sas_invokes(sixth)}
    assert "backup-lodingen" in scoped
    scoped = {i.args["canonicalizedResource"].rsplit("/", 1)[-1] for i in sas_invokes(sixth, True)}
    assert "records-lodingen" in scoped
    assert sixth.outputs["container_names"][SIXTH["slug"]] == "backup-lodingen"


def test_identity_is_unchanged(
    plans: dict[str, plan.PlanResult], sixth_plans: dict[str, plan.PlanResult]
) -> None:
    assert set(plans["identity"].by_urn()) == set(sixth_plans["identity"].by_urn())
