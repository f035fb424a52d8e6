"""Backup containers and version-level immutability (WORM): what the backup stack declares."""

from __future__ import annotations

import pytest

from ilag_infra.azure import plan, settings
from ilag_infra.model.errors import InputError

from .conftest import REPO, backup_containers, of_type, sas_invokes

POLICY = ":BlobContainerImmutabilityPolicy"


def _backup(plans: dict[str, plan.PlanResult], days: str) -> plan.PlanResult:
    upstream = {"network": plans["network"].outputs, "identity": plans["identity"].outputs}
    return plan.run(
        "backup", root=REPO, config={"ilag:backupImmutabilityDays": days}, upstream=upstream
    )


def test_every_container_supports_version_level_worm_on_a_versioned_account(
    plans: dict[str, plan.PlanResult],
) -> None:
    backup = plans["backup"]
    [service] = of_type(backup, ":BlobServiceProperties")
    assert service.inputs["isVersioningEnabled"] is True
    containers = backup_containers(backup)
    assert len(containers) == 5
    for c in containers:
        # Only settable when the container is created; Azure needs versioning first.
        assert c.inputs["immutableStorageWithVersioning"] == {"enabled": True}, c.name
        assert service.urn in c.dependencies, c.name
    assert not [v for v in backup.violations if v.policy.startswith("azure-immutability")]


def test_shipped_config_declares_no_default_retention_policy(
    plans: dict[str, plan.PlanResult],
) -> None:
    """A default policy would stop restic from deleting its lock files (docs/operators.md)."""
    assert of_type(plans["backup"], POLICY) == []
    key = next(k for k in settings.KEYS if k.name == "backupImmutabilityDays")
    assert key.default == "0"


def test_a_configured_window_gives_each_container_its_default_policy(
    plans: dict[str, plan.PlanResult],
) -> None:
    result = _backup(plans, "30")
    assert result.ok, [v.message for v in result.violations]
    policies = of_type(result, POLICY)
    containers = {c.inputs["containerName"] for c in backup_containers(result)}
    assert {p.inputs["containerName"] for p in policies} == containers
    for p in policies:
        assert p.inputs["immutabilityPolicyName"] == "default"
        assert p.inputs["immutabilityPeriodSinceCreationInDays"] == 30


@pytest.mark.parametrize("days", ["146001", "-1", "thirty"])
def test_a_window_azure_refuses_is_bad_input(plans: dict[str, plan.PlanResult], days: str) -> None:
    with pytest.raises(InputError) as err:
        _backup(plans, days)
    assert any(p.key == "ilag:backupImmutabilityDays" for p in err.value.problems)


def test_site_sas_cannot_delete_a_version(plans: dict[str, plan.PlanResult]) -> None:
    """`d` deletes the current version only; deleting a version needs `x`, permanently `y`."""
    sas = sas_invokes(plans["backup"])
    assert len(sas) == 5
    for invoke in sas:
        perms = str(invoke.args["permissions"])
        assert "d" in perms and not {"x", "y", "i"} & set(perms), perms
