"""The shared policy rules wrapped as pulumi-policy validations for `--policy-pack policy`."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ilag_infra.azure import azure_rules, policies

PACK_NAME = "ilag-azure"


def _validator(
    policy: policies.Policy,
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in policy.check(args.resource_type, args.props):
            report_violation(f"{args.name}: {message}", None)

    return validate


def _rule_validator(
    rule: azure_rules.Rule,
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for f in rule.check(args.resource_type, args.props):
            if f.unknown:
                # pulumi-policy itself reports what it cannot check during a preview.
                continue
            report_violation(f"{args.name}: {f.prop}: {f.problem}; fix: {f.fix} ({rule.doc})", None)

    return validate


def build() -> list[ResourceValidationPolicy]:
    """One mandatory ResourceValidationPolicy per rule in ilag_infra.azure.policies and per
    per-resource rule in ilag_infra.azure.azure_rules."""
    own = [
        ResourceValidationPolicy(
            name=p.name,
            description=p.description,
            validate=_validator(p),
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        for p in policies.POLICIES
    ]
    azure = [
        ResourceValidationPolicy(
            name=r.name,
            description=f"{r.description} {r.doc}",
            validate=_rule_validator(r),
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        for r in azure_rules.RULES
    ]
    return own + azure
