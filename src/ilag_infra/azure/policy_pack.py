"""The shared policy rules wrapped as pulumi-policy validations for `--policy-pack policy`."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ilag_infra.azure import policies

PACK_NAME = "ilag-azure"


def _validator(
    policy: policies.Policy,
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in policy.check(args.resource_type, args.props):
            report_violation(f"{args.name}: {message}", None)

    return validate


def build() -> list[ResourceValidationPolicy]:
    """One mandatory ResourceValidationPolicy per rule in ilag_infra.azure.policies."""
    return [
        ResourceValidationPolicy(
            name=p.name,
            description=p.description,
            validate=_validator(p),
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        for p in policies.POLICIES
    ]
