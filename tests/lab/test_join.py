"""A sixth municipality joins (`ilag onboard`) and is converged, backed up and drilled on the
lab: the short version of bench/onboard.py, from a clean checkout, each step a real command.

It rebuilds the lab from the checkout's region (six municipalities, one host each), so it runs
after every other lab test (lab_last); the session's teardown removes that lab as usual.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import REPO, Lab
from .join_path import ONBOARD, SLUG, JoinPath, clean_checkout

pytestmark = [pytest.mark.lab, pytest.mark.lab_last]


def test_lodingen_joins_and_is_converged_backed_up_and_drilled(lab: Lab, tmp_path: Path) -> None:
    path = JoinPath(clean_checkout(REPO, tmp_path / "checkout"))
    region = path.checkout / "region.yaml"
    before = region.read_bytes()

    # A refused input changes nothing: the spoke prefix overlaps Hadsel's.
    bad = [a if a != "10.20.24.0/22" else "10.20.16.0/22" for a in ONBOARD]
    step = path.run("onboard (bad)", *bad, "--apply")
    assert step.rc == 2 and "overlaps" in step.tail, step.tail
    assert region.read_bytes() == before

    for name, args in (
        ("onboard", [*ONBOARD, "--apply"]),
        ("validate", ["validate"]),
        ("lab up", ["lab", "up", "--hosts-per-municipality", "1"]),
        ("converge", ["apply", SLUG]),
        ("backup", ["backup", "run", SLUG]),
        ("drill", ["drill", SLUG, "--json"]),
    ):
        step = path.run(name, *args)
        assert step.rc == 0, f"{name}: {step.tail}"
    assert f"slug: {SLUG}" in region.read_text()
    drill = json.loads(step.out)
    hosts = [h for m in drill["municipalities"] for h in m["hosts"]]
    assert drill["ok"] and [h["host"] for h in hosts] == [f"{SLUG}-fil01"]
    assert hosts[0]["differences"] == [] and hosts[0]["files"] >= 13
    print(
        "join path: "
        + ", ".join(f"{s.name} {s.seconds:.0f} s" for s in path.steps)
        + f"; total {path.total:.0f} s"
    )
