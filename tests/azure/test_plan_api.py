"""The plan API: plain data, deterministic, isolated runs, actionable errors, the CLI shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ilag_infra.azure import plan, policies
from ilag_infra.azure.settings import StackConfigError
from ilag_infra.cli import app as cli
from ilag_infra.model.errors import EXIT_BAD_INPUT

from .conftest import REPO


def test_results_are_json_and_secrets_masked(plans: dict[str, plan.PlanResult]) -> None:
    text = json.dumps([p.to_dict() for p in plans.values()])
    assert "sig=PLAN" not in text  # the mocked SAS token only lives inside a secret
    data = json.loads(text)
    assert {d["stack"] for d in data} == {"network", "identity", "backup"}
    assert all(d["ok"] for d in data)
    first = data[0]["resources"][0]
    assert set(first) == {"urn", "type", "name", "custom", "parent", "dependencies", "inputs"}


def test_plans_are_deterministic_and_runs_isolated(plans: dict[str, plan.PlanResult]) -> None:
    again = plan.run("network", root=REPO)
    before = plans["network"].to_dict()
    after = again.to_dict()
    before.pop("seconds"), after.pop("seconds")
    assert before == after
    assert all(r.urn.startswith("urn:pulumi:network::ilag::") for r in again.resources)


def test_plaintext_secret_is_refused() -> None:
    with pytest.raises(StackConfigError) as err:
        plan.run("network", root=REPO, config={"ilag:vpnSharedKeys": '{"andoy": "x"}'})
    assert "plain text" in str(err.value)


def test_missing_key_for_a_site_names_the_fix() -> None:
    with pytest.raises(StackConfigError) as err:
        plan.run("network", root=REPO, config={"ilag:vpnGatewaySku": "Basic"})
    assert "ilag:vpnGatewaySku" in str(err.value) and "VpnGw2AZ" in str(err.value)


def test_unknown_stack_kind() -> None:
    with pytest.raises(StackConfigError):
        plan.run("dns", root=REPO)


def test_cli_plan_json_and_violation_exit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["plan", "-s", "network", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stack"] == "network" and data["ok"] is True
    always = policies.Policy(
        "test-always-fails", "x", lambda t, p: ["no"] if t.endswith("ResourceGroup") else []
    )
    monkeypatch.setattr(policies, "POLICIES", (*policies.POLICIES, always))
    assert cli.main(["plan", "-s", "network"]) == 1
    assert "test-always-fails" in capsys.readouterr().out


def test_cli_plan_bad_region_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "region.yaml"
    bad.write_text("region: {}\n", encoding="utf-8")
    assert cli.main(["plan", "-s", "network", "--region", str(bad)]) == EXIT_BAD_INPUT
