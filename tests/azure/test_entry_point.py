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


def test_main_dir_entry_finds_project_root_and_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROGRAM)
    config, secret = plan.stack_config(REPO, "network")
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
    config, _ = plan.stack_config(REPO, "network")
    with pytest.raises(pulumi.RunError) as err:
        contextvars.Context().run(_run_entry, "network", config, [])
    assert "ilag:vpnSharedKeys" in str(err.value) and "--secret" in str(err.value)
