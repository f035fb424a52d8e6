"""A sixth municipality in region.yaml adds exactly its own resources, with no code change."""

from __future__ import annotations

from ilag_infra.azure import plan

from .conftest import SIXTH


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


def test_backup_adds_its_container_sas_secret_and_reader_roles_only(
    plans: dict[str, plan.PlanResult], sixth_plans: dict[str, plan.PlanResult]
) -> None:
    added = _added(plans["backup"], sixth_plans["backup"])
    types = sorted(t for t, _ in added)
    # The container with its reader role, and the site secret with its reader role.
    assert types == [
        "azure-native:authorization:RoleAssignment",
        "azure-native:authorization:RoleAssignment",
        "azure-native:keyvault:Secret",
        "azure-native:storage:BlobContainer",
        "ilag:backup:MunicipalityContainer",
        "ilag:backup:SiteSecret",
    ]
    sas = [i for i in sixth_plans["backup"].invokes if i.token.endswith("ServiceSAS")]
    assert len(sas) == len(plans["backup"].invokes) - 1 + 1 == 6
    assert any(i.args["canonicalizedResource"].endswith("/backup-lodingen") for i in sas)
    assert sixth_plans["backup"].outputs["container_names"][SIXTH["slug"]] == "backup-lodingen"


def test_identity_is_unchanged(
    plans: dict[str, plan.PlanResult], sixth_plans: dict[str, plan.PlanResult]
) -> None:
    assert set(plans["identity"].by_urn()) == set(sixth_plans["identity"].by_urn())
