"""What the controller hands a node: its own municipality's slice of the outputs, the
repository at a commit, and a wheelhouse that installs offline."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from ilag_infra.onsite import nodebundle
from ilag_infra.onsite.outputs import StackOutputs

REPO = Path(__file__).resolve().parents[1]
SLUGS = frozenset({"andoy", "bo", "sortland"})


def _outputs() -> StackOutputs:
    per = {s: f"https://st.example/{s}?sig=SECRET-{s}" for s in SLUGS}
    return StackOutputs(
        {
            "network": {"resolver_inbound_ip": "10.0.0.4", "connection_names": {"bo": "vcn-bo"}},
            "backup": {
                "blob_endpoint": "https://st.example",
                "container_names": {s: f"backup-{s}" for s in SLUGS},
                "container_sas_urls": per,
                "records_sas_urls": {s: u.replace("/", "/records-", 3) for s, u in per.items()},
            },
        },
        "test",
        {s: f"pw-{s}" for s in SLUGS},
    )


def test_a_node_gets_its_own_municipalitys_slice_only() -> None:
    got = nodebundle.node_outputs(_outputs(), "bo", SLUGS, "10.250.0.0/16")
    text = json.dumps(got)
    for other in SLUGS - {"bo"}:
        assert f"SECRET-{other}" not in text and f"pw-{other}" not in text
    assert got["backup"]["container_sas_urls"] == {"bo": "https://st.example/bo?sig=SECRET-bo"}
    assert got["lab"] == {"restic_passwords": {"bo": "pw-bo"}, "lab_prefix": "10.250.0.0/16"}
    # Shared values stay whole; a map of one municipality's is cut like the others.
    assert got["network"]["resolver_inbound_ip"] == "10.0.0.4"
    assert nodebundle.node_outputs(_outputs(), "andoy", SLUGS)["network"]["connection_names"] == {}


def test_the_source_bundle_is_the_commit_with_its_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    tar, commit = nodebundle.source(REPO)
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert commit == head
    with tarfile.open(tar) as t:
        names = set(t.getnames())
        revision = t.extractfile("REVISION")
        assert revision is not None and revision.read().decode().strip() == head
    assert {"region.yaml", "playbooks/node.yml", "roles/ilag_node/tasks/main.yml"} <= names
    assert not any(n.startswith((".venv", "runs/", "node_modules")) for n in names)


def test_no_vault_file_travels_to_a_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every municipality's ansible-vault file stays on the controller; a node gets its own
    restic password in clear instead, never the region's ciphertext."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    for slug in ("bo", "sortland"):
        vault = repo / "inventories" / slug / "group_vars" / slug / "vault.yml"
        vault.parent.mkdir(parents=True)
        vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
        (repo / "inventories" / slug / "hosts.yml").write_text("---\n")
    (repo / "region.yaml").write_text("---\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    tar, _ = nodebundle.source(repo)
    with tarfile.open(tar) as t:
        names = t.getnames()
    assert "inventories/bo/hosts.yml" in names and "region.yaml" in names
    assert not [n for n in names if n.endswith("vault.yml")], names
