"""The Azure stacks export exactly the stack-output contract, with its types and secret flags."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from ilag_infra.azure import plan
from ilag_infra.model import stack_outputs as contract
from ilag_infra.model.errors import InputError


@pytest.mark.parametrize("stack", contract.STACKS)
def test_exported_names_are_the_contract(
    stack: contract.Stack, plans: dict[str, plan.PlanResult]
) -> None:
    assert set(plans[stack].outputs) == contract.names(stack)


@pytest.mark.parametrize("stack", contract.STACKS)
def test_secret_flags_are_the_contract(
    stack: contract.Stack, plans: dict[str, plan.PlanResult]
) -> None:
    secret = {name for s, name in contract.SECRET_OUTPUTS if s == stack}
    assert set(plans[stack].secret_outputs) == secret


@pytest.mark.parametrize("stack", contract.STACKS)
def test_exported_values_have_the_contract_types(
    stack: contract.Stack, plans: dict[str, plan.PlanResult]
) -> None:
    # The offline plan masks secret values, so each public value is checked on its own.
    model = contract.MODELS[stack]
    result = plans[stack]
    for name, value in result.outputs.items():
        if name in result.secret_outputs:
            continue
        annotation = model.model_fields[name].annotation
        TypeAdapter(annotation).validate_python(value, strict=True)
        assert value is not None, f"{stack}.{name} is exported empty"


def test_public_outputs_with_stand_in_secrets_parse(plans: dict[str, plan.PlanResult]) -> None:
    backup = dict(plans["backup"].outputs)
    endpoint = backup["blob_endpoint"].rstrip("/")
    backup["container_sas_urls"] = {
        slug: f"{endpoint}/{name}?sv=2026-10-06&sr=c&sp=racwdl&sig=x"
        for slug, name in backup["container_names"].items()
    }
    backup["records_sas_urls"] = {
        slug: f"{endpoint}/{contract.records_container(slug)}?sv=2026-10-06&sr=c&sp=racwl&sig=x"
        for slug in backup["container_names"]
    }
    for stack in contract.STACKS:
        values = backup if stack == contract.Stack.BACKUP else plans[stack].outputs
        contract.parse(stack, values, f"plan of {stack}")
    # The same check refuses a SAS URL that points at another municipality's container.
    backup["container_sas_urls"]["andoy"] = backup["container_sas_urls"]["bo"]
    with pytest.raises(InputError) as info:
        contract.parse("backup", backup, "plan of backup")
    assert "container_sas_urls.andoy" in str(info.value)
    assert "sig=" not in str(info.value)
