"""Ansible check mode for `ilag diff --check`: what the change would do on reachable hosts."""

from __future__ import annotations

import threading
from pathlib import Path

from ilag_infra.diff.ansible import AnsibleDiff
from ilag_infra.diff.report import CheckHost, CheckResult
from ilag_infra.model import paths
from ilag_infra.model.errors import IlagError
from ilag_infra.model.region import load as load_region
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite.runner import ApplyRequest, Progress
from ilag_infra.onsite.targets import EnvName, Target

MAX_DIFF_CHARS = 4_000


class _Collector:
    """Changed tasks and their diffs per host; progress arrives from several threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changed: dict[tuple[str, str], list[str]] = {}
        self.diffs: dict[tuple[str, str], list[str]] = {}

    def __call__(self, event: Progress) -> None:
        key = (event.slug, event.host)
        with self.lock:
            if event.kind == "changed":
                self.changed.setdefault(key, []).append(event.task)
            elif event.kind == "diff":
                self.diffs.setdefault(key, []).append(event.detail[:MAX_DIFF_CHARS])


def run_check(root: Path, ansible: AnsibleDiff, env: str) -> CheckResult:
    """Run site.yml in check+diff mode on the affected hosts of each affected municipality.
    Nothing reachable is a finding for the report, not a failure of the diff."""
    name: EnvName = "prod" if env == "prod" else "lab"
    result = CheckResult(env=name)
    targets = [m for m in ansible.municipalities if m.hosts and m.status != "removed"]
    if not targets:
        result.message = "no municipality's servers are affected, nothing to check"
        return result
    try:
        region = load_region(paths.region_file(root)).model
    except IlagError as exc:
        result.message = f"region.yaml does not load at head: {exc}"
        return result
    target = Target(name, root)
    collector = _Collector()
    playbook = root / "playbooks" / "site.yml"
    for impact in targets:
        request = ApplyRequest(
            slug="", playbook=playbook, check=True, diff=True, limit=",".join(impact.hosts)
        )
        try:
            outcome = apply_mod.apply(region, target, [impact.slug], request, collector)
        except IlagError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            result.unreachable[impact.slug] = first
            continue
        for mres in outcome.results:
            hosts = []
            for host, hres in sorted(mres.hosts.items()):
                key = (mres.slug, host)
                hosts.append(
                    CheckHost(
                        host,
                        hres.status,
                        collector.changed.get(key, []),
                        collector.diffs.get(key, []),
                    )
                )
            if hosts:
                result.municipalities[mres.slug] = hosts
                result.ran = True
            if mres.unreachable_hosts or not hosts:
                why = mres.messages.get("") or "no host answered"
                if mres.unreachable_hosts:
                    why = f"unreachable: {', '.join(mres.unreachable_hosts)}"
                result.unreachable[mres.slug] = why
    if not result.ran:
        result.message = (
            f"nothing reachable in {name}"
            + (" (is the lab up? `ilag lab up`)" if name == "lab" else "")
            + "; the diff above is still complete"
        )
    elif result.unreachable:
        result.message = f"not reachable: {', '.join(sorted(result.unreachable))}"
    return result
