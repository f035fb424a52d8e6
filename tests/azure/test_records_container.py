"""The records containers (records-<slug>): one per municipality beside its backup container,
outside WORM, with a container-scoped `racwl` SAS exported only as a secret."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest
from pulumi_azure_native import storage

from ilag_infra.azure import plan, records
from ilag_infra.cli.app import main
from ilag_infra.model.region import load
from ilag_infra.model.stack_outputs import records_container

from .conftest import RECORDS_PREFIX, REPO, SERVICE_SAS, of_type, sas_invokes

SLUGS = {m.slug for m in load(REPO / "region.yaml").model.municipalities}


def _backup(plans: dict[str, plan.PlanResult], **config: str) -> plan.PlanResult:
    upstream = {"network": plans["network"].outputs, "identity": plans["identity"].outputs}
    return plan.run("backup", root=REPO, config=config, upstream=upstream)


def records_sas_problems(result: plan.PlanResult) -> list[str]:
    """Why the plan's records SAS are not one container-scoped `racwl` SAS per municipality."""
    account = result.outputs["storage_account_name"]
    problems = [
        f"{i.token} signs a SAS for more than one container"
        for i in result.invokes
        if i.token.endswith(":listStorageAccountSAS")
    ]
    minted = sas_invokes(result, records=True)
    scoped = sorted(str(i.args["canonicalizedResource"]) for i in minted)
    wanted = sorted(f"/blob/{account}/{records_container(s)}" for s in SLUGS)
    if scoped != wanted:
        problems.append(f"records SAS reach {scoped}, not one per municipality: {wanted}")
    for i in minted:
        where = i.args["canonicalizedResource"]
        if i.args["resource"] != "c":
            problems.append(f"{where}: resource {i.args['resource']!r}, not a container (c)")
        if i.args["permissions"] != "racwl":
            problems.append(f"{where}: permissions {i.args['permissions']!r}, not racwl")
    if result.outputs.get("records_sas_urls") != plan.SECRET:
        problems.append("records_sas_urls is not exported as a secret")
    return problems


def test_one_records_container_per_municipality_outside_worm(
    plans: dict[str, plan.PlanResult],
) -> None:
    # With a WORM window configured, the backup containers get a policy; records do not.
    result = _backup(plans, **{"ilag:backupImmutabilityDays": "30"})
    assert result.ok, [v.message for v in result.violations]
    [service] = of_type(result, ":BlobServiceProperties")
    boxes = [
        c
        for c in of_type(result, ":BlobContainer")
        if c.inputs["containerName"].startswith(RECORDS_PREFIX)
    ]
    assert {c.inputs["containerName"] for c in boxes} == {records_container(s) for s in SLUGS}
    for c in boxes:
        slug = c.inputs["containerName"].removeprefix(RECORDS_PREFIX)
        assert c.inputs["publicAccess"] == "None"
        assert c.inputs["metadata"]["municipality"] == slug
        assert "immutableStorageWithVersioning" not in c.inputs, c.name
        # Versioning and soft delete are the account's: the container waits for them.
        assert service.urn in c.dependencies, c.name
    worm = {p.inputs["containerName"] for p in of_type(result, ":BlobContainerImmutabilityPolicy")}
    assert worm and not {n for n in worm if n.startswith(RECORDS_PREFIX)}


def test_records_sas_is_one_container_scoped_racwl_secret_per_municipality(
    plans: dict[str, plan.PlanResult],
) -> None:
    backup = plans["backup"]
    assert records_sas_problems(backup) == []
    minted = sas_invokes(backup, records=True)
    assert len(minted) == len(SLUGS)
    site = sas_invokes(backup)
    for i in minted:
        assert i.args["permissions"] == "racwl" and "d" not in i.args["permissions"]
        # The same expiry, protocol and key as the site SAS.
        for key in ("sharedAccessExpiryTime", "protocols", "keyToSign"):
            assert {i.args[key]} == {s.args[key] for s in site}, key
    assert "records_sas_urls" in backup.secret_outputs


@pytest.mark.parametrize("permissions", ["racwdl", "racwxl", "racwyl"])
def test_a_records_sas_that_deletes_is_caught(
    plans: dict[str, plan.PlanResult], monkeypatch: pytest.MonkeyPatch, permissions: str
) -> None:
    monkeypatch.setattr(records, "RECORDS_SAS_PERMISSIONS", permissions)
    problems = records_sas_problems(_backup(plans))
    assert len(problems) == len(SLUGS)
    assert all(f"permissions {permissions!r}" in p for p in problems)


def _account_sas_url(
    account_name: Any,
    resource_group_name: Any,
    blob_endpoint: Any,
    container_name: Any,
    permissions: str,
    expiry: str,
) -> pulumi.Output[str]:
    """The mistake: an account SAS, which reaches every container of the account."""
    sas = storage.list_storage_account_sas_output(
        account_name=account_name,
        resource_group_name=resource_group_name,
        services="b",
        resource_types="co",
        permissions=permissions,
        shared_access_expiry_time=expiry,
    )
    return pulumi.Output.secret(
        pulumi.Output.concat(blob_endpoint, "?", sas.apply(lambda r: r.account_sas_token or ""))
    )


def test_an_account_wide_records_sas_is_caught(
    plans: dict[str, plan.PlanResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "service_sas", SimpleNamespace(container_sas_url=_account_sas_url))
    result = _backup(plans)
    assert not sas_invokes(result, records=True)
    problems = records_sas_problems(result)
    assert any("more than one container" in p for p in problems)
    assert any("not one per municipality" in p for p in problems)


def test_records_sas_are_never_printed_by_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "backup", "--json"]) == 0
    out = capsys.readouterr().out
    # The offline plan's stand-in signature is sig=PLAN; no URL with a signature is shown.
    assert "records_sas_urls" in out and "sig=" not in out
    data = json.loads(out)
    backups = [r for r in (data if isinstance(data, list) else [data]) if "secret_outputs" in r]
    backup = next(r for r in backups if r["stack"] == "backup")
    assert backup["outputs"]["records_sas_urls"] == plan.SECRET
    assert SERVICE_SAS in {i["token"] for i in backup["invokes"]}
