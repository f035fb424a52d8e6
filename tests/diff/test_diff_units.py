"""The pieces of `ilag diff` on small made-up data: no plans, no git, fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ilag_infra.diff import run as diff_mod
from ilag_infra.diff.ansible import AnsibleDiff, MunicipalityImpact, var_changes
from ilag_infra.diff.check import run_check
from ilag_infra.diff.plan import diff_resources, diff_values
from ilag_infra.diff.preview import MISSING_CLI, stack_diff_from_events
from ilag_infra.diff.render import COMMENT_LIMIT, MARKER, render, render_markdown

REPO = Path(__file__).resolve().parents[2]
VNET = "azure-native:network:VirtualNetwork"


def _res(name: str, **inputs: object) -> dict[str, object]:
    return {
        "urn": f"urn:pulumi:network::ilag::{VNET}::{name}",
        "type": VNET,
        "name": name,
        "custom": True,
        "parent": None,
        "inputs": {"resourceGroupName": "rg-a", **inputs},
    }


def test_rename_is_a_replace_that_an_alias_avoids() -> None:
    changes, unchanged = diff_resources(
        [_res("old", virtualNetworkName="vnet-hub", location="norwayeast")],
        [_res("new", virtualNetworkName="vnet-hub", location="norwayeast")],
    )
    (change,) = changes
    assert change.op == "replace" and change.needs_alias and unchanged == 0
    assert 'pulumi.Alias(name="old")' in change.reason


def test_new_azure_name_is_a_replace_no_alias_can_avoid() -> None:
    changes, _ = diff_resources(
        [_res("hub", virtualNetworkName="vnet-a")], [_res("hub", virtualNetworkName="vnet-b")]
    )
    (change,) = changes
    assert change.op == "replace" and not change.needs_alias
    assert "virtualNetworkName" in change.reason


def test_different_azure_objects_are_not_paired() -> None:
    changes, _ = diff_resources(
        [_res("a", virtualNetworkName="vnet-a")], [_res("b", virtualNetworkName="vnet-b")]
    )
    assert sorted(c.op for c in changes) == ["create", "delete"]


def test_nested_paths_and_named_list_items() -> None:
    old = {
        "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/24"]}},
        "rules": [{"name": "ssh", "priority": 100}, {"name": "dns", "priority": 200}],
    }
    new = {
        "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/24"]}},
        "rules": [{"name": "dns", "priority": 210}, {"name": "ssh", "priority": 100}],
    }
    paths = {c.path: (c.old, c.new) for c in diff_values(old, new)}
    assert paths == {
        "properties.addressSpace.addressPrefixes": (["10.0.0.0/24"], ["10.1.0.0/24"]),
        "rules[name=dns].priority": (200, 210),
    }


def test_variable_values_of_secret_names_stay_hidden() -> None:
    changes = var_changes(
        {"role__port": 22, "role__api_token": "old-token"},
        {"role__port": 2222, "role__api_token": "new-token"},
        with_values=True,
    )
    shown = {(c.name, c.old, c.new) for c in changes}
    assert ("role__port", "22", "2222") in shown
    assert ("role__api_token", None, None) in shown


def _big_report() -> diff_mod.DiffReport:
    base = [_res(f"vnet-{i}", virtualNetworkName=f"vnet-{i}", tags={"n": i}) for i in range(1500)]
    head = [_res(f"vnet-{i}", virtualNetworkName=f"vnet-{i}", tags={"n": -i}) for i in range(1500)]
    report = diff_mod.DiffReport("main", "working tree", "a" * 40, None)
    report.stacks = diff_mod.diff_plans(
        {"stacks": [{"stack": "network", "plan": {"resources": base}}]},
        {"stacks": [{"stack": "network", "plan": {"resources": head}}]},
    )
    report.ansible = AnsibleDiff(
        municipalities=[MunicipalityImpact("andoy", "Andøy", hosts=["andoy-fil01"], reasons=["x"])]
    )
    return report


def test_markdown_is_trimmed_under_the_limit_with_summary_and_marker() -> None:
    report = _big_report()
    assert len(render(report, "text")) > COMMENT_LIMIT
    md = render_markdown(report)
    assert len(md) < COMMENT_LIMIT and md.startswith(MARKER + "\n")
    summary = md.split("<details")[0]
    assert "| `network` | 0 | 1499 | 0 | 0 |" in summary and "Andøy" in summary
    assert "Details trimmed" in md and "not shown" in md


def _event(
    op: str,
    urn: str,
    old: dict[str, object] | None,
    new: dict[str, object] | None,
    diffs: list[str],
    keys: list[str] | None = None,
) -> object:
    from pulumi.automation import events

    def state(inputs: dict[str, object] | None) -> dict[str, object] | None:
        if inputs is None:
            return None
        return {
            "type": VNET,
            "urn": urn,
            "id": "",
            "parent": "",
            "provider": "",
            "custom": True,
            "inputs": inputs,
        }

    return events.EngineEvent.from_json(
        {
            "sequence": 1,
            "timestamp": 0,
            "resourcePreEvent": {
                "metadata": {
                    "op": op,
                    "urn": urn,
                    "type": VNET,
                    "provider": "",
                    "old": state(old),
                    "new": state(new),
                    "diffs": diffs,
                    "keys": keys or [],
                    "detailedDiff": {d: {"diffKind": "update", "inputDiff": True} for d in diffs},
                }
            },
        }
    )


def test_preview_events_become_the_same_model() -> None:
    urn = f"urn:pulumi:network::ilag::{VNET}::vnet-hub"
    secret = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": "s3cr3t",
    }
    events = [
        _event(
            "update",
            urn,
            {"addressSpace": {"addressPrefixes": ["10.0.0.0/22"]}, "key": secret},
            {"addressSpace": {"addressPrefixes": ["10.0.0.0/21"]}, "key": secret},
            ["addressSpace.addressPrefixes", "key"],
        ),
        _event("same", urn + "2", {"a": 1}, {"a": 1}, []),
        _event(
            "replace",
            urn + "3",
            {"virtualNetworkName": "a"},
            {"virtualNetworkName": "b"},
            ["virtualNetworkName"],
            ["virtualNetworkName"],
        ),
        _event("create-replacement", urn + "3", None, {"virtualNetworkName": "b"}, []),
    ]
    stack = stack_diff_from_events("network", events)
    assert stack.unchanged == 1 and stack.counts["update"] == 1 and stack.counts["replace"] == 1
    update = next(r for r in stack.resources if r.op == "update")
    assert {c.path: c.new for c in update.changes}["addressSpace.addressPrefixes"] == [
        "10.0.0.0/21"
    ]
    report = diff_mod.DiffReport("stack network (deployed)", "this checkout", None, None, "preview")
    report.stacks = [stack]
    for fmt in ("markdown", "text", "json"):
        assert "s3cr3t" not in render(report, fmt)
    assert render(report, "markdown").startswith("<!-- ilag-preview:network -->")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ilag_infra.cli.app", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_preview_without_the_pulumi_cli_says_what_to_install(tmp_path: Path) -> None:
    # The CLI is really absent here; keep it so even on a machine that has one.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + "/usr/bin:/bin"}
    # A stack without a file here: nothing to refuse, so the missing CLI is what stops it.
    proc = _cli("preview", "--stack", "network-test", env=env)
    assert proc.returncode == 1
    text = " ".join(proc.stderr.split())
    assert "Pulumi CLI is not installed" in text and "docs/operators.md" in text
    assert MISSING_CLI.split(".")[0] in text
    bad = _cli("preview", "--stack", "nettverk", env=env)
    assert bad.returncode == 2 and "nettverk" in bad.stderr


def test_check_mode_with_nothing_reachable_is_a_finding_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILAG_LAB_DIR", str(tmp_path / "no-lab"))
    ansible = AnsibleDiff(
        municipalities=[MunicipalityImpact("bo", "Bø", hosts=["bo-fil01"], reasons=["role x"])]
    )
    result = run_check(REPO, ansible, "lab")
    assert not result.ran and "bo" in result.unreachable
    assert "nothing reachable" in result.message and "ilag lab up" in result.message


def test_check_mode_summarises_changed_tasks_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from ilag_infra.onsite import apply as apply_mod
    from ilag_infra.onsite.runner import HostResult, MunicipalityResult, Progress

    calls: list[tuple[list[str], object]] = []

    def fake_apply(
        region: object,
        target: object,
        slugs: list[str],
        request: object,
        progress: object,
        lock_wait: float = 0.0,
    ) -> apply_mod.ApplyOutcome:
        calls.append((slugs, request))
        assert callable(progress)
        progress(Progress("bo", "changed", "bo-fil01", "Configure chrony"))
        progress(Progress("bo", "diff", "bo-fil01", "Configure chrony", "-server a\n+server b"))
        hosts = {
            "bo-fil01": HostResult("bo-fil01", ok=5, changed=1),
            "bo-util01": HostResult("bo-util01", ok=6),
        }
        return apply_mod.ApplyOutcome("run", [MunicipalityResult("bo", "successful", 0, hosts)], [])

    monkeypatch.setattr(apply_mod, "apply", fake_apply)
    ansible = AnsibleDiff(
        municipalities=[
            MunicipalityImpact("bo", "Bø", hosts=["bo-fil01", "bo-util01"], reasons=["role x"])
        ]
    )
    result = run_check(REPO, ansible, "prod")
    ((slugs, request),) = calls
    assert slugs == ["bo"] and request.check and request.diff  # type: ignore[attr-defined]
    assert request.limit == "bo-fil01,bo-util01"  # type: ignore[attr-defined]
    assert result.ran and result.env == "prod"
    fil = next(h for h in result.municipalities["bo"] if h.host == "bo-fil01")
    assert fil.changed_tasks == ["Configure chrony"] and "+server b" in fil.diffs[0]
    report = diff_mod.DiffReport("main", "working tree", "a" * 40, None)
    report.ansible, report.check = ansible, result
    md = render(report, "markdown")
    assert "Check mode (prod):** 2 host(s) checked" in md and "Configure chrony" in md
