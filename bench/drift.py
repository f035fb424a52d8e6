"""The drift round: a "no-op" converge must still find and fix a file changed behind its back.

One managed file is changed on three hosts of different municipalities. The next converge
must report changed=1 on exactly those hosts (and 0 elsewhere), and the files must be back.
A speed-up that skipped a check would miss the drift and fail this round.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ilag_infra.lab import HostState
from ilag_infra.onsite.apply import ApplyOutcome

# Written by the identity role's sudo task from a template, and no handler is notified, so
# fixing it is exactly one change.
DRIFT_FILE = "etc/sudoers.d/ilag-admins"
MARK = "# drift: changed behind the converge's back by bench/converge.py\n"


def pick(hosts: list[HostState], slugs: list[str], count: int = 3) -> list[HostState]:
    """The first host of each of the first `count` municipalities."""
    chosen = []
    for slug in slugs:
        first = next((h for h in hosts if h.slug == slug), None)
        if first is not None:
            chosen.append(first)
        if len(chosen) == count:
            break
    return chosen


def drift(hosts: list[HostState]) -> None:
    """Change the managed file on each host, through the host's own root file system."""
    for h in hosts:
        path = Path(h.root) / DRIFT_FILE
        path.write_text(path.read_text() + MARK)


@dataclass
class DriftResult:
    changed: dict[str, int]  # every host → its changed count
    drifted: list[str]
    still_drifted: list[str]

    @property
    def ok(self) -> bool:
        want = {h: (1 if h in self.drifted else 0) for h in self.changed}
        return self.changed == want and not self.still_drifted and bool(self.drifted)

    def line(self) -> str:
        got = {h: c for h, c in self.changed.items() if c}
        verdict = "PASS" if self.ok else "FAIL"
        extra = f"; still drifted: {self.still_drifted}" if self.still_drifted else ""
        return (
            f"drift round: changed {DRIFT_FILE} on {', '.join(self.drifted)}; "
            f"the converge changed {got or 'nothing'} -> {verdict}{extra}"
        )


def check(outcome: ApplyOutcome, drifted: list[HostState]) -> DriftResult:
    changed = {n: h.changed for r in outcome.results for n, h in r.hosts.items()}
    still = [h.name for h in drifted if MARK in (Path(h.root) / DRIFT_FILE).read_text()]
    return DriftResult(changed, [h.name for h in drifted], still)
