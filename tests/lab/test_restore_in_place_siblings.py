"""In-place restore of two paths in one folder: each is staged on its own, both come back
identical and both live versions are kept aside (a shared stage once lost the second path)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ilag_infra.cli.app import main

from .conftest import Lab
from .test_backup_lifecycle import FS, cli, manifest, must

pytestmark = pytest.mark.lab
PAIR = ["/srv/søsken-a", "/srv/søsken-b"]


def test_restore_in_place_two_sibling_paths(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = lab.apply(["andoy"])
    assert outcome.ok, outcome.problem_hosts
    for p in PAIR:
        must(lab, FS, f"mkdir -p '{p}/under' && echo 'original {p}' > '{p}/under/fil.txt'")
    before: dict[str, list[dict[str, Any]]] = {p: manifest(lab, FS, p) for p in PAIR}
    assert main(["backup", "run", "andoy"]) == 0
    for p in PAIR:
        must(lab, FS, f"echo ødelagt > '{p}/under/fil.txt'")

    rc, out = cli(capsys, "restore", FS, *PAIR, "--in-place", "--yes", "--json")
    assert rc == 0, out
    result = json.loads(out)
    assert result["ok"] and result["error"] is None
    assert sorted(a.split(".ilag-before-")[0] for a in result["kept_aside"]) == PAIR
    for p in PAIR:
        assert manifest(lab, FS, p) == before[p]
    for aside in result["kept_aside"]:
        assert must(lab, FS, f"cat '{aside}/under/fil.txt'") == "ødelagt\n"
    # No stage directory left behind.
    assert must(lab, FS, "ls -A /srv | grep -c '^.ilag-restore-' || true").strip() == "0"
    records = sorted(lab.runs_dir.glob(f"*-restore-{FS}.json"))
    assert records and json.loads(records[-1].read_text())["ok"] is True

    # Nested paths are bad input: exit 2 and nothing changed.
    must(lab, FS, f"echo ødelagt > '{PAIR[0]}/under/fil.txt'")
    assert main(["restore", FS, "/srv", PAIR[0], "--in-place", "--yes"]) == 2
    assert must(lab, FS, f"cat '{PAIR[0]}/under/fil.txt'") == "ødelagt\n"
