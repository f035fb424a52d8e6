"""`ilag diff` on real revisions of the project: one commit per review case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ilag_infra.diff import run as diff_mod
from ilag_infra.diff.plan import StackDiff
from ilag_infra.diff.render import COMMENT_LIMIT, MARKER, render

from .conftest import CIPHER_BASE, CIPHER_HEAD, CIPHER_NEW, FixtureRepo, git

ALL_FORMATS = ("markdown", "text", "json")


def _stack(report: diff_mod.DiffReport, name: str) -> StackDiff:
    return next(s for s in report.stacks if s.stack == name)


def _ops(stack: StackDiff, op: str, type_suffix: str = "") -> list[str]:
    return [r.name for r in stack.resources if r.op == op and r.type.endswith(type_suffix)]


def test_sixth_municipality(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("sixth")
    assert not report.failed
    net = _stack(report, "network")
    assert [n for n in _ops(net, "create", ":LocalNetworkGateway") if "vagan" in n]
    assert [n for n in _ops(net, "create", ":VirtualNetworkGatewayConnection") if "vagan" in n]
    assert net.count("delete") == 0 and net.count("replace") == 0
    backup = _stack(report, "backup")
    assert [n for n in _ops(backup, "create", ":BlobContainer") if "vagan" in n]
    sas = [d for d in backup.derived if d.op == "create" and "vagan" in d.label]
    assert sas and "SAS" in sas[0].label
    assert report.ansible is not None
    vagan = next(m for m in report.ansible.municipalities if m.slug == "vagan")
    assert vagan.status == "new" and vagan.hosts == ["vagan-fil01"]
    md = render(report, "markdown")
    assert "Vågan" in md and "**new**" in md and "vagan-fil01" in md
    text = render(report, "text")
    assert "lgw-vagan" in text and "SAS for" in text


def test_prefix_change(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("prefix")
    net = _stack(report, "network")
    updated = [r for r in net.resources if r.op == "update"]
    assert updated, "the Bø site's local network gateway must be updated"
    paths = [(r.name, c.path, c.old, c.new) for r in updated for c in r.changes]
    assert any(
        "bo" in name
        and "addressPrefixes" in path
        and "10.67.32.0/21" in json.dumps(old)
        and "10.67.40.0/21" in json.dumps(new)
        for name, path, old, new in paths
    ), paths
    assert net.count("create") == net.count("delete") == net.count("replace") == 0
    assert report.ansible is not None
    touched = {m.slug for m in report.ansible.municipalities if m.hosts}
    assert touched == {"bo"}
    bo = report.ansible.municipalities[0]
    assert bo.hosts == ["bo-fil01", "bo-util01"]
    assert any("municipality_networks" in r for r in bo.reasons)
    assert "localNetworkAddressSpace.addressPrefixes" in render(report, "text")


def test_rename_needs_alias(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("rename")
    net = _stack(report, "network")
    replaced = [r for r in net.resources if r.op == "replace"]
    assert len(replaced) == 1
    vnet = replaced[0]
    assert (
        vnet.name == "hub-vnet"
        and vnet.old_urn
        and vnet.old_urn.endswith("::vnet-ilag-hub-prod-noe")
    )
    assert "would replace: add an alias" in vnet.reason
    assert net.count("create") == net.count("delete") == 0
    for fmt in ALL_FORMATS:
        assert "would replace: add an alias" in render(report, fmt)
    md = render(report, "markdown")
    assert "[!WARNING]" in md.split("<details")[0]  # loud in the summary, not only in details
    assert report.ansible is not None and report.ansible.municipalities == []


def test_role_default_only(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("role_default")
    assert not report.azure_changes
    assert all(
        s.counts == {"create": 0, "update": 0, "delete": 0, "replace": 0} for s in report.stacks
    )
    assert report.ansible is not None
    (change,) = report.ansible.changes
    assert change.kind == "role-variables"
    (var,) = change.variables
    assert (var.name, var.old, var.new) == fixture_repo.changed_default
    assert {m.slug for m in report.ansible.municipalities} == {
        "hadsel",
        "bo",
        "oksnes",
        "sortland",
        "andoy",
    }
    assert "sortland-db01" in change.hosts
    md = render(report, "markdown")
    assert "<details" in md and "Azure stack" not in md  # only the Ansible details
    assert fixture_repo.changed_default[0] in md


def test_no_changes(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("nothing")
    assert not report.has_changes and not report.failed
    for fmt in ("markdown", "text"):
        assert "No changes." in render(report, fmt)
    data = json.loads(render(report, "json"))
    assert data["has_changes"] is False


def test_large_diff_stays_under_limit(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("large")
    assert not report.failed
    assert sum(s.count(op) for s in report.stacks for op in ("create", "replace")) > 100
    full = render(report, "text")
    assert len(full) > COMMENT_LIMIT, "the case must really be too large for one comment"
    md = render(report, "markdown")
    assert len(md) < COMMENT_LIMIT
    summary = md.split("<details")[0]
    for stack in ("network", "identity", "backup"):
        assert f"| `{stack}` | " in summary
    assert "### Municipalities" in summary and "Vågan" in summary
    assert "Details trimmed" in md
    # Trimming holds at any budget: the summary survives even a tiny limit.
    from ilag_infra.diff.render import render_markdown

    small = render_markdown(report, limit=12_000)
    assert len(small) <= 12_000
    assert (
        small.split("<details")[0].split("> Details trimmed")[0]
        == summary.split("> Details trimmed")[0]
    )
    assert "Details trimmed" in small


def test_secrets_never_shown(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("secrets", base=fixture_repo.cases["secrets_base"])
    net = _stack(report, "network")
    conn = [
        r
        for r in net.resources
        if r.op == "create" and "vagan" in r.name and r.type.endswith("Connection")
    ]
    assert conn and any(c.path == "sharedKey" and c.new == "[secret]" for c in conn[0].changes)
    backup = _stack(report, "backup")
    assert backup.derived  # the new SAS is reported, its value never
    for fmt in ALL_FORMATS:
        out = render(report, fmt)
        for secret in (CIPHER_BASE, CIPHER_HEAD, CIPHER_NEW, "sig=PLAN"):
            assert secret not in out, (fmt, secret)
        assert "[secret]" in out


def test_cli_exit_codes_and_cleanup(fixture_repo: FixtureRepo, tmp_path: Path) -> None:
    root = fixture_repo.root
    env = {**os.environ, "ILAG_ROOT": str(root)}
    ilag = [sys.executable, "-m", "ilag_infra.cli.app"]
    out = tmp_path / "comment.md"
    proc = subprocess.run(
        [
            *ilag,
            "diff",
            "--base",
            fixture_repo.base,
            "--head",
            fixture_repo.cases["nothing"],
            "-f",
            "markdown",
            "-o",
            str(out),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8").startswith(MARKER)
    bad = subprocess.run(
        [*ilag, "diff", "--base", "no-such-ref"], cwd=root, env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "no-such-ref" in bad.stderr
    # Every temporary worktree is gone again.
    assert git(root, "worktree", "list", "--porcelain").count("worktree ") == 1


@pytest.mark.parametrize("case", ["sixth", "rename"])
def test_json_is_complete(fixture_repo: FixtureRepo, case: str) -> None:
    data = json.loads(render(fixture_repo.report(case), "json"))
    assert {s["stack"] for s in data["stacks"]} == {"network", "identity", "backup"}
    assert all("counts" in s for s in data["stacks"])


def test_base_without_azure_program(fixture_repo: FixtureRepo) -> None:
    """The base predates the Azure program: its plan is empty and everything is new."""
    report = diff_mod.run_diff(
        fixture_repo.root,
        fixture_repo.cases["no_program"],
        fixture_repo.base,
        cache=fixture_repo.cache,
    )
    assert not report.failed
    assert all(s.base_missing and s.count("create") > 0 for s in report.stacks)
    assert all(s.count(op) == 0 for s in report.stacks for op in ("update", "delete", "replace"))
    assert any("no Azure program" in n for n in report.notes)


def test_worktree_is_removed_on_error(fixture_repo: FixtureRepo) -> None:
    from ilag_infra.diff import git as diffgit

    rev = diffgit.resolve(fixture_repo.root, fixture_repo.base, "--base")
    seen: list[Path] = []
    with pytest.raises(KeyboardInterrupt), diffgit.checkout(fixture_repo.root, rev) as tree:
        seen.append(tree)
        assert (tree / "region.yaml").is_file()
        raise KeyboardInterrupt
    assert not seen[0].exists()
    assert not str(seen[0]).startswith(str(fixture_repo.root))
    assert git(fixture_repo.root, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_a_role_file_that_does_not_parse_is_said_so(fixture_repo: FixtureRepo) -> None:
    path = "roles/baseline/defaults/main.yml"
    head = fixture_repo.report("broken_role")
    [change] = [c for c in head.ansible.changes if c.path == path] if head.ansible else [None]
    assert change is not None and change.variables == []
    assert "does not parse at head" in change.note
    assert head.exit_code == 2 and head.bad_input
    for fmt in ALL_FORMATS:
        out = render(head, fmt)
        assert "does not parse at head" in out, fmt
        assert "- baseline__" not in out, fmt  # no variable reads as removed
    # The other way round the base is broken: the report says so and lists nothing as added.
    back = diff_mod.run_diff(
        fixture_repo.root,
        fixture_repo.cases["broken_role"],
        fixture_repo.base,
        cache=fixture_repo.cache,
    )
    assert back.ansible is not None
    [change] = [c for c in back.ansible.changes if c.path == path]
    assert change.variables == [] and "does not parse at base" in change.note
    assert any("does not parse at base" in n for n in back.notes)
    assert "does not parse at base" in render(back, "text")
