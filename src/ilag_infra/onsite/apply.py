"""`ilag apply`: run a playbook on one or more municipalities, in parallel, one lock each."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.region import Region
from ilag_infra.onsite import (
    drift,
    hostlist,
    jobrecord,
    nodebundle,
    outputs,
    recordstore,
    runrecord,
    streamed,
)
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.lock import LOCAL_NOTE, OFFLINE_NOTE, LockedError, apply_lock
from ilag_infra.onsite.runner import ApplyRequest, MunicipalityResult, ProgressFn, run_playbook
from ilag_infra.onsite.targets import Target

# playbooks/node.yml: the controller builds the node's bundle for it (onsite/nodebundle.py).
NODE_PLAYBOOK = "node"
# playbooks/restore-test.yml restores and compares each backup client's canary: a restore
# record per host, like `ilag restore --verify-only`, so the restore test ages and alerts.
RESTORE_TEST_PLAYBOOK = "restore-test"


@dataclass
class ApplyOutcome:
    run_id: str
    results: list[MunicipalityResult]
    records: list[Path]
    # Which lock guarded the runs, said when it is only this machine's own.
    lock_note: str = ""
    # The check results among the records (drift, restore test): what alerts look at.
    check_records: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.succeeded for r in self.results)

    @property
    def problem_hosts(self) -> dict[str, list[str]]:
        """Hosts that failed or were unreachable, per municipality."""
        out: dict[str, list[str]] = {}
        for r in self.results:
            hosts = r.failed_hosts + r.unreachable_hosts
            if hosts:
                out[r.slug] = hosts
        return out


def resolve_slugs(region: Region, slugs: list[str], all_: bool) -> list[str]:
    """Turn the command line's municipalities into known slugs; bad names are bad input."""
    if all_ and slugs:
        raise InputError(
            [
                Problem(
                    "command line",
                    "KOMMUNE",
                    "give municipalities or --all, not both",
                    "drop one of them",
                )
            ]
        )
    if all_:
        return list(region.slugs)
    if not slugs:
        raise InputError(
            [
                Problem(
                    "command line",
                    "KOMMUNE",
                    "no municipality given",
                    f"name one or more of {', '.join(region.slugs)}, or --all",
                )
            ]
        )
    unknown = [s for s in slugs if s not in region.slugs]
    if unknown:
        raise InputError(
            [
                Problem(
                    "command line",
                    "KOMMUNE",
                    f"unknown municipality {u!r}",
                    f"use one of {', '.join(region.slugs)}",
                )
                for u in unknown
            ]
        )
    return list(dict.fromkeys(slugs))


def apply(
    region: Region,
    target: Target,
    slugs: list[str],
    request: ApplyRequest,
    progress: ProgressFn,
    lock_wait: float = 0.0,
) -> ApplyOutcome:
    """Apply request.playbook to each municipality (in parallel) and record every run."""
    hosts: dict[str, list[SshHost]] = {}
    for slug in slugs:
        # Checks readiness too, reads each host's jump host (a bad one is bad input before
        # any run) and, in the lab, refuses addresses outside it. Production resolves every
        # host: a --limit that matches nothing there is Ansible's to report, as before.
        lab = target.env == "lab"
        hosts[slug] = hostlist.resolve(target, slug, request.limit if lab else None)
    if request.via_node:
        for slug in slugs:
            streamed.node_host(target, slug)  # no node: bad input before any run
    stack_outputs = target.stack_outputs()
    run_vars = {slug: outputs.run_vars(region, slug, stack_outputs) for slug in slugs}
    if request.playbook.stem == NODE_PLAYBOOK:
        for slug in slugs:
            extra = nodebundle.run_vars(region, target, slug, stack_outputs)
            run_vars[slug] = run_vars[slug].merged(extra)
    run_id = runrecord.new_run_id()
    base = runrecord.runs_dir(target.repo_root)
    run_dir = base / run_id
    lock_dir = base / "locks"

    offline: list[str] = []

    def one(slug: str) -> MunicipalityResult:
        req = replace(request, slug=slug)
        try:
            with apply_lock(
                lock_dir, target.env, slug, run_id, lock_wait, offline_ok=request.check
            ) as kind:
                if kind == "offline":
                    offline.append(slug)
                if req.via_node:
                    return streamed.run_via_node(
                        target, req, run_vars[slug].public, run_dir, progress
                    )
                return run_playbook(target, req, run_vars[slug], run_dir, progress, hosts[slug])
        except LockedError as exc:
            return MunicipalityResult(slug, "locked", 1, messages={"": str(exc)})

    with ThreadPoolExecutor(max_workers=max(1, len(slugs))) as pool:
        results = list(pool.map(one, slugs))
    records = [
        runrecord.write(target.repo_root, run_id, target.env, replace(request, slug=r.slug), r)
        for r in results
    ]
    checks = (
        [drift.write(target.repo_root, target.env, r) for r in results] if request.check else []
    )
    if request.playbook.stem == RESTORE_TEST_PLAYBOOK and not request.check:
        checks += [
            path for r in results for path in restore_records(target.repo_root, target.env, r)
        ]
    note = LOCAL_NOTE if recordstore.store_url() is None else OFFLINE_NOTE if offline else ""
    return ApplyOutcome(run_id, results, records + checks, note, checks)


def restore_records(repo_root: Path, env: str, result: MunicipalityResult) -> list[Path]:
    """One restore record per host the restore test ran on."""
    return [
        jobrecord.write(
            repo_root,
            "restore",
            host,
            {
                "environment": env,
                "municipality": result.slug,
                "ok": result.rc == 0 and not (hr.failed or hr.unreachable),
                "host": host,
                "error": result.messages.get(host),
                "playbook": f"{RESTORE_TEST_PLAYBOOK}.yml",
            },
        )
        for host, hr in sorted(result.hosts.items())
    ]


def playbook_path(repo_root: Path, name: str) -> Path:
    """playbooks/<name>.yml, or a path as given; bad names are bad input."""
    candidates = [
        Path(name),
        repo_root / "playbooks" / name,
        repo_root / "playbooks" / f"{name}.yml",
    ]
    for c in candidates:
        if c.is_file():
            return c
    known = sorted(p.stem for p in (repo_root / "playbooks").glob("*.yml"))
    raise InputError(
        [
            Problem(
                "command line",
                "--playbook",
                f"no playbook {name!r}",
                f"use one of {', '.join(known)}",
            )
        ]
    )
