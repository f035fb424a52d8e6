"""`ilag diff` shows every change that matters: rotated secrets, an alias that resolves a
rename, secret role defaults, and never a secret's value."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from ilag_infra.diff.plan import StackDiff
from ilag_infra.diff.render import render

from .conftest import (
    CIPHER_BASE,
    CIPHER_ROTATED,
    NESTED_SECRET,
    PLAIN_PSK,
    SECRET_DEFAULTS,
    FixtureRepo,
    _sub,
)

ALL_FORMATS = ("markdown", "text", "json")


def _stack(stacks: list[StackDiff], name: str) -> StackDiff:
    return next(s for s in stacks if s.stack == name)


def test_psk_rotation_is_a_change_of_that_sites_connection(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("psk_rotation", base=fixture_repo.cases["secrets_base"])
    assert report.has_changes and not report.failed
    net = _stack(report.stacks, "network")
    changed = [r for r in net.resources if any(c.secret for c in r.changes)]
    assert [r.azure_name for r in changed] == ["vcn-hadsel-stokmarknes-prod-noe"]
    (prop,) = changed[0].changes
    assert (prop.path, prop.kind, prop.old, prop.new) == (
        "sharedKey",
        "update",
        "[secret]",
        "[secret]",
    )
    assert net.count("update") == 1 and net.count("replace") == net.count("delete") == 0
    (secret,) = report.secrets
    assert secret.key == "ilag:vpnSharedKeys.hadsel" and secret.kind == "changed"
    assert secret.file == "stacks/Pulumi.network.yaml"
    assert secret.municipalities == ["hadsel"]
    assert report.ansible is not None
    assert "stacks/Pulumi.network.yaml" not in report.ansible.other_files
    hadsel = next(m for m in report.ansible.municipalities if m.slug == "hadsel")
    assert any("firewall needs the new key" in r for r in hadsel.reasons)
    for fmt in ALL_FORMATS:
        out = render(report, fmt)
        assert "No changes" not in out
        assert "touch neither" not in out, fmt
        assert "ilag:vpnSharedKeys.hadsel" in out and "vcn-hadsel-stokmarknes-prod-noe" in out
        for secret_text in (CIPHER_BASE, CIPHER_ROTATED, "[secret:"):
            assert secret_text not in out, (fmt, secret_text)
    assert "sharedKey: changed (secret" in render(report, "text")
    data = json.loads(render(report, "json"))
    assert data["has_changes"] is True and data["secrets"][0]["kind"] == "changed"


def test_secure_to_plain_is_shown_and_refused(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("psk_plain", base=fixture_repo.cases["secrets_base"])
    (secret,) = report.secrets
    assert secret.key == "ilag:vpnSharedKeys.bo" and secret.kind == "now-plain"
    net = _stack(report.stacks, "network")
    assert net.head_error and "ilag:vpnSharedKeys.bo" in net.head_error
    assert report.failed
    for fmt in ALL_FORMATS:
        out = render(report, fmt)
        assert "No changes" not in out
        assert "ilag:vpnSharedKeys.bo" in out and "now plain text" in out
        assert PLAIN_PSK not in out and CIPHER_BASE not in out


def test_suggested_alias_clears_the_warning(fixture_repo: FixtureRepo) -> None:
    rename = fixture_repo.report("rename")
    (vnet,) = [r for r in _stack(rename.stacks, "network").resources if r.needs_alias]
    found = re.search(r"add (aliases=\[.*?\]) to its ResourceOptions", vnet.reason)
    assert found, vnet.reason
    suggested = found.group(1)

    def rename_with_alias(repo: FixtureRepo) -> None:
        repo.edit(
            "src/ilag_infra/azure/network.py",
            _sub(
                r"network\.VirtualNetwork\(\n(\s+)names\.vnet\(\"hub\"\),",
                'network.VirtualNetwork(\n\\1"hub-vnet",',
            ),
        )
        # Exactly the suggested text, next to the options the resource already has.
        repo.edit(
            "src/ilag_infra/azure/network.py",
            _sub(
                # The renamed hub VNet's own options, whatever its other arguments are.
                r"(network\.VirtualNetwork\(\n\s+\"hub-vnet\",(?:(?!\n\s+\)).)*?"
                r"opts=_child\(self)\)",
                lambda m: f"{m.group(1)}, {suggested})",
                flags=re.S,
            ),
        )

    fixture_repo.commit("rename_alias", rename_with_alias)
    report = fixture_repo.report("rename_alias")
    assert not report.failed
    net = _stack(report.stacks, "network")
    assert net.count("replace") == net.count("create") == net.count("delete") == 0
    assert not [r for r in net.resources if r.needs_alias]
    for fmt in ALL_FORMATS:
        assert "add an alias" not in render(report, fmt)


def test_secret_role_defaults_are_masked(fixture_repo: FixtureRepo) -> None:
    report = fixture_repo.report("role_secrets")
    assert report.ansible is not None
    (change,) = report.ansible.changes
    shown = {v.name: v.new for v in change.variables}
    for name in SECRET_DEFAULTS:
        assert name in shown and shown[name] is None
    assert shown["baseline__backup_env"] is not None
    assert "[secret]" in shown["baseline__backup_env"] and "fil01" in shown["baseline__backup_env"]
    for fmt in ALL_FORMATS:
        out = render(report, fmt)
        for value in (*SECRET_DEFAULTS.values(), NESTED_SECRET):
            assert value not in out, (fmt, value)


def test_broken_head_is_bad_input_not_a_traceback(fixture_repo: FixtureRepo) -> None:
    def break_files(repo: FixtureRepo) -> None:
        # The common Ansible mistake (hosts as a list) and a tag with a bad value.
        repo.edit(
            "inventories/bo/hosts.yml",
            _sub(r"bo-fil01:\n(\s+)ansible_host: [0-9.]+", r"- bo-fil01"),
        )
        repo.edit("region.yaml", _sub(r"population: 2634", "population: !!float abc"))

    fixture_repo.commit("broken_head", break_files)
    head = fixture_repo.cases["broken_head"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ilag_infra.cli.app",
            "diff",
            "--base",
            fixture_repo.base,
            "--head",
            head,
            "--json",
        ],
        cwd=fixture_repo.root,
        env={**os.environ, "ILAG_ROOT": str(fixture_repo.root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    data = json.loads(proc.stdout)
    assert data["bad_input"] is True and data["failed"] is True
    notes = "\n".join(data["notes"])
    assert "inventories/bo/hosts.yml" in notes and "is a list" in notes
    errors = [s["head_error"] for s in data["stacks"] if s["head_error"]]
    assert errors and all("region.yaml" in e and "!!float" in e for e in errors)
