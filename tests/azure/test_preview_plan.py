"""The offline plan in preview mode: outputs are unknown as in `pulumi preview`, and policies and
Azure's rules still run, report what they cannot decide, and catch what they can."""

from __future__ import annotations

import pytest

from ilag_infra.azure import azure_rules, plan, policies

from .conftest import REPO


@pytest.fixture(scope="module")
def previews() -> dict[str, plan.PlanResult]:
    return {r.stack: r for r in plan.run_many(plan.STACK_ORDER, root=REPO, preview=True)}


def test_every_stack_previews_with_unknowns(
    previews: dict[str, plan.PlanResult], plans: dict[str, plan.PlanResult]
) -> None:
    for stack in plan.STACK_ORDER:
        result = previews[stack]
        assert result.preview is True
        # The same resources as the full plan, only less known.
        assert set(result.by_urn()) == set(plans[stack].by_urn()), stack
        unknown = [r for r in result.resources if plan.UNKNOWN in str(r.inputs)]
        assert unknown, stack
    # An id Azure assigns (the hub VNet's) and the gateway's public address only exist after apply.
    assert previews["network"].outputs["hub_vnet_id"] == plan.UNKNOWN
    assert previews["network"].outputs["gateway_public_ip"] == plan.UNKNOWN
    assert plans["network"].outputs["hub_vnet_id"] != plan.UNKNOWN


def test_rules_run_and_report_unknown_until_apply_without_failing(
    previews: dict[str, plan.PlanResult],
) -> None:
    seen: set[str] = set()
    for result in previews.values():
        assert set(azure_rules.RULE_NAMES) <= set(result.policies_checked)
        assert result.ok, [v.message for v in result.violations if v.enforcement != "advisory"]
        for v in result.violations:
            assert v.enforcement == policies.ADVISORY, v.message
            assert "unknown until apply" in v.message and "https://" in v.message
            seen.add(v.policy)
    # Role-assignment names derive from scope ids a preview does not know; the container's
    # account name likewise: those checks say so instead of passing silently.
    assert {"azure-role-assignment-unique", "azure-immutability-needs-versioning"} <= seen


def test_a_breach_is_still_caught_in_preview(plans: dict[str, plan.PlanResult]) -> None:
    upstream = {"network": plans["network"].outputs, "identity": plans["identity"].outputs}
    result = plan.run(
        "backup",
        root=REPO,
        config={"ilag:deleteRetentionDays": "400", "ilag:backupImmutabilityDays": "30"},
        upstream=upstream,
        preview=True,
    )
    assert not result.ok
    failed = {v.policy for v in result.violations if v.enforcement == policies.MANDATORY}
    assert failed == {"azure-blob-soft-delete-range"}
    # The WORM policies exist in preview too; their container name is unknown until apply.
    worm = [r for r in result.resources if r.type.endswith(":BlobContainerImmutabilityPolicy")]
    assert len(worm) == 5
    assert all(r.inputs["immutabilityPeriodSinceCreationInDays"] == 30 for r in worm)
