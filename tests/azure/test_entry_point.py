"""The entry point the Pulumi engine runs, exercised the way the engine runs it."""

from __future__ import annotations

import contextvars
import os
import runpy
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from ilag_infra.azure import plan

from .conftest import REPO

PROGRAM = REPO / "src/ilag_infra/azure/program"


def _run_entry(stack: str, config: dict[str, str], secret: list[str]) -> dict[str, object]:
    """runpy on the program directory with the engine's working directory (the main dir)."""
    mocks = plan._Mocks({})
    pulumi.runtime.set_mocks(mocks, project="ilag", stack=stack, preview=False)
    pulumi.runtime.set_all_config(config, secret)
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(PROGRAM), run_name="__main__")))
    return dict(getattr(get_root_resource(), "outputs", {}))


def _test_config(stack: str) -> tuple[dict[str, str], list[str]]:
    """The shipped stack's config in a test environment, which may keep the placeholders."""
    config, secret = plan.stack_config(REPO, stack)
    config["ilag:environment"] = "test"
    return config, sorted(secret)


def test_main_dir_entry_finds_project_root_and_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROGRAM)
    config, secret = _test_config("network")
    config["ilag:vpnSharedKeys"] = (
        '{"hadsel": "k1", "bo": "k2", "oksnes": "k3", "sortland": "k4", "andoy": "k5"}'
    )
    outputs = contextvars.Context().run(
        _run_entry, "network", config, [*secret, "ilag:vpnSharedKeys"]
    )
    assert {"gateway_public_ip", "connection_names", "dns_domain"} <= set(outputs)
    assert Path(os.getcwd()) == PROGRAM


def test_bad_input_becomes_a_clean_run_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROGRAM)
    config, _ = _test_config("network")
    with pytest.raises(pulumi.RunError) as err:
        contextvars.Context().run(_run_entry, "network", config, [])
    assert "ilag:vpnSharedKeys" in str(err.value) and "--secret" in str(err.value)


def test_a_prod_stack_with_a_placeholder_is_refused_by_the_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As `pulumi up -s identity` runs it: the shipped file, environment prod.
    monkeypatch.chdir(PROGRAM)
    config, secret = plan.stack_config(REPO, "identity")
    with pytest.raises(pulumi.RunError) as err:
        contextvars.Context().run(_run_entry, "identity", config, sorted(secret))
    text = str(err.value)
    assert "stacks/Pulumi.identity.yaml:19: ilag:operatorsGroupObjectId" in text
    assert "ilag:sshUserCaPublicKey" in text and "ilag:keyVaultAllowedIps[0]" in text
