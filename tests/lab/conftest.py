"""The lab for integration tests: booted once per session, converged once, torn down at the end.

These tests need root and systemd-nspawn. Outside CI they skip when those are missing; in CI
(ILAG_REQUIRE_LAB=1) a skip fails the run (see tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ilag_infra.model import region
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite.apply import ApplyOutcome
from ilag_infra.onsite.runner import ApplyRequest, Progress
from ilag_infra.onsite.targets import Target

REPO = Path(__file__).resolve().parents[2]


def _quiet(_: Progress) -> None:
    pass


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a lab test (so `-m 'not lab'` never boots a lab, and CI's no-skip
    rule covers it), and tests marked lab_last run after all others: they rebuild the lab
    from another region, which the rest must not see."""
    here = Path(__file__).parent
    mine = [i for i in items if here in Path(str(i.path)).parents]
    for item in mine:
        item.add_marker(pytest.mark.lab)
    last = [i for i in mine if i.get_closest_marker("lab_last")]
    if last:
        items[:] = [i for i in items if i not in last] + last


@dataclass
class Lab:
    loaded: region.LoadedRegion
    target: Target
    state: object  # ilag_infra.lab.LabState
    outputs: dict[str, object]
    runs_dir: Path

    def apply(
        self,
        slugs: list[str] | None = None,
        playbook: str = "site",
        wait: float = 0.0,
        **kw: object,
    ) -> ApplyOutcome:
        req = ApplyRequest("", REPO / "playbooks" / f"{playbook}.yml", strategy="mitogen", **kw)  # type: ignore[arg-type]
        return apply_mod.apply(
            self.loaded.model, self.target, slugs or self.loaded.model.slugs, req, _quiet, wait
        )

    def hosts(self, slug: str | None = None) -> list[object]:
        # Read from disk each time: a drill or a repair earlier in the session rebuilds hosts
        # (new host keys), and the state the session started with would be stale.
        from ilag_infra.lab import lab_paths
        from ilag_infra.lab import state as lab_state

        current = lab_state.load(lab_paths()) or self.state
        return [h for h in current.hosts if slug is None or h.slug == slug]  # type: ignore[attr-defined]

    def secrets(self) -> list[str]:
        backup = self.outputs["backup"]
        lab = self.outputs.get("lab", {})
        values = list(backup["container_sas_urls"].values())  # type: ignore[index]
        values += list(lab.get("restic_passwords", {}).values())  # type: ignore[union-attr]
        # The signature alone must not leak either, not only the whole URL.
        values += [v.split("sig=")[1].split("&")[0] for v in values if "sig=" in v]
        return values


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if (
        os.geteuid() != 0
        or shutil.which("systemd-nspawn") is None
        or shutil.which("debootstrap") is None
    ):
        pytest.skip("the lab needs root, systemd-nspawn and debootstrap (make setup installs them)")
    from ilag_infra import lab as lab_mod

    runs = tmp_path_factory.mktemp("runs")
    old_runs = os.environ.get("ILAG_RUNS_DIR")
    os.environ["ILAG_RUNS_DIR"] = str(runs)
    loaded = region.load(REPO / "region.yaml")
    state = lab_mod.up(loaded, REPO, 2, progress=lambda m: print(f"lab: {m}", flush=True))
    outputs = json.loads((lab_mod.lab_paths().state / "outputs.json").read_text())
    try:
        yield Lab(loaded, Target("lab", REPO), state, outputs, runs)
    finally:
        lab_mod.down(progress=lambda m: print(f"lab: {m}", flush=True))
        if old_runs is None:
            os.environ.pop("ILAG_RUNS_DIR", None)
        else:
            os.environ["ILAG_RUNS_DIR"] = old_runs


@pytest.fixture(scope="session")
def converged(lab: Lab) -> tuple[ApplyOutcome, ApplyOutcome]:
    """Two runs of site.yml on every municipality: the first converges, the second must not change."""
    first = lab.apply()
    second = lab.apply()
    return first, second
