"""`ilag plan --preview`: the offline plan as `pulumi preview` sees it, from the command line."""

from __future__ import annotations

import json

import pytest

from ilag_infra.cli.app import main


def test_plan_preview_reports_unknowns_as_advisories(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--preview", "--json", "-s", "backup"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["preview"] is True and data["ok"] is True
    # Ids that Azure assigns are unknown in a preview; the rules say so instead of passing.
    advisories = [v for v in data["violations"] if "unknown until apply" in v["message"]]
    assert advisories, data["violations"]
    assert all(v["enforcement"] == "advisory" for v in advisories)


def test_plan_without_preview_knows_the_ids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", "-s", "backup"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["preview"] is False
    assert not [v for v in data["violations"] if "unknown until apply" in v["message"]]
