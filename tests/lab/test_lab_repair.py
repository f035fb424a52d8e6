"""`ilag lab up` on a lab with one sick host rebuilds only that host and re-pins its new key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.lab import hosts as lab_hosts
from ilag_infra.onsite import hostlist, ssh
from tests.lab.conftest import REPO, Lab

pytestmark = pytest.mark.lab
MARKER = "/root/ilag-repair-marker"


def _answers(lab: Lab, slug: str) -> dict[str, str]:
    """Each host's marker file as read over SSH with the pinned keys only ('' if it has none)."""
    out = {}
    for h in hostlist.resolve(lab.target, slug):
        client = ssh.connect(h, lab.target.known_hosts(slug))
        try:
            rc, text, _ = ssh.run(client, f"cat {MARKER} 2>/dev/null || true")
            assert rc == 0
            out[h.name] = text.strip()
        finally:
            client.close()
    return out


def test_up_rebuilds_only_the_sick_host(lab: Lab) -> None:
    from ilag_infra import lab as lab_mod

    before = lab_mod.lab_state()
    slugs = lab.loaded.model.slugs
    for h in before.hosts:
        (Path(h.root) / MARKER.lstrip("/")).write_text(f"{h.name}\n")
    sick = before.hosts_of(slugs[0])[-1]
    old_key = sick.host_public_key
    lab_hosts.in_host(sick, ["systemctl", "stop", "ssh.socket", "ssh.service"], "stopping sshd")
    report = lab_mod.status()
    assert [p for p in report.problems] == [f"{sick.name} does not answer SSH"]

    said: list[str] = []
    after = lab_mod.up(lab.loaded, REPO, 2, progress=said.append)
    lab.state = after

    assert any(f"repairing {sick.name}: it does not answer SSH" in m for m in said), said
    assert lab_mod.status().healthy
    assert after.host(sick.name).host_public_key != old_key
    # Every other host is the same container as before: same nspawn process, marker kept.
    for h in before.hosts:
        if h.name != sick.name:
            assert after.host(h.name).nspawn_pid == h.nspawn_pid, h.name
    for slug in slugs:
        markers = _answers(lab, slug)
        for name, text in markers.items():
            assert text == ("" if name == sick.name else name), (slug, name, text)
    # The rebuilt host takes its roles again (later tests in the session expect a converged lab).
    outcome = lab.apply([sick.slug])
    assert outcome.ok, outcome.problem_hosts
