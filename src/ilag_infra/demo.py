"""`ilag demo`: the whole job on the local lab, end to end, with one summary row per municipality."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ilag_infra.model import region
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite import backup, preflight
from ilag_infra.onsite.runner import ApplyRequest, MunicipalityResult, ProgressFn
from ilag_infra.onsite.targets import Target

Say = Callable[[str], None]


@dataclass
class MunicipalityRow:
    slug: str
    name: str
    hosts: int = 0
    converged: int = 0
    changed_second_run: int | None = None
    last_backup: str = "-"
    backups_fresh: int = 0
    backup_clients: int = 0
    restore_verified: int = 0
    # Only the drilled municipality has these; None elsewhere.
    drill_ok: bool | None = None
    drill_rto_seconds: float | None = None
    drill_rpo_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return (
            self.hosts > 0
            and self.converged == self.hosts
            and self.changed_second_run == 0
            and self.backups_fresh == self.backup_clients
            and self.restore_verified == self.backup_clients
            and self.drill_ok is not False
        )


@dataclass
class DemoReport:
    rows: list[MunicipalityRow]
    steps: list[tuple[str, float, bool]] = field(default_factory=list)
    plan_summary: list[tuple[str, int, int]] = field(
        default_factory=list
    )  # stack, resources, violations

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows) and all(ok for _, _, ok in self.steps)


def _converged(results: list[MunicipalityResult]) -> dict[str, int]:
    return {
        r.slug: sum(1 for h in r.hosts.values() if h.status in ("ok", "changed")) for r in results
    }


def smallest_municipality(model: region.Region) -> str:
    """The slug of the municipality with the fewest inhabitants (the demo drills that one)."""
    return min(model.municipalities, key=lambda m: (m.population, m.slug)).slug


def run(
    repo_root: Path,
    loaded: region.LoadedRegion,
    say: Say,
    progress: ProgressFn,
    hosts_per_municipality: int = 2,
    mitogen: bool = True,
) -> DemoReport:
    """Lab up, validate, plan, preflight, converge twice, back up, restore-test, drill one
    municipality; then report.

    The caller loads the region once and passes it: every step uses that one copy."""
    from ilag_infra import lab
    from ilag_infra.model.validate import validate

    model = loaded.model
    rows = {m.slug: MunicipalityRow(m.slug, m.name) for m in model.municipalities}
    report = DemoReport(list(rows.values()))
    target = Target("lab", repo_root)
    slugs = model.slugs
    strategy = "mitogen" if mitogen else None

    def step(name: str, fn: Callable[[], bool]) -> bool:
        say(f"── {name}")
        started = time.monotonic()
        ok = fn()
        report.steps.append((name, time.monotonic() - started, ok))
        say(f"   {'done' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s")
        return ok

    def lab_up() -> bool:
        state = lab.up(loaded, repo_root, hosts_per_municipality, progress=lambda m: say(f"   {m}"))
        for h in state.hosts:
            rows[h.slug].hosts += 1
        return True

    def do_validate() -> bool:
        rep = validate(loaded.path, loaded)
        say(f"   region and {len(rep.inventories)} inventories valid ({rep.host_count} hosts)")
        return True

    def plan() -> bool:
        from ilag_infra.azure import plan as plan_mod

        results = plan_mod.run_many(["network", "identity", "backup"], loaded, root=repo_root)
        for r in results:
            report.plan_summary.append((r.stack, len(r.resources), len(r.violations)))
            say(
                f"   {r.stack:<9} {len(r.resources):>3} resources, "
                f"{len(r.violations)} policy violations, planned in {r.seconds:.1f} s"
            )
        return all(r.ok for r in results)

    def do_preflight() -> bool:
        checks = preflight.preflight(target, slugs)
        bad = [c for c in checks if not c.ok]
        for c in bad:
            say(f"   {c.host.name}: {'; '.join(c.problems)}")
        say(
            f"   {len(checks) - len(bad)}/{len(checks)} hosts ready (host keys pinned and matching)"
        )
        return not bad

    def converge(second: bool) -> bool:
        req = ApplyRequest("", repo_root / "playbooks" / "site.yml", strategy=strategy)
        outcome = apply_mod.apply(model, target, slugs, req, progress)
        for slug, n in _converged(outcome.results).items():
            rows[slug].converged = n
        if second:
            for r in outcome.results:
                rows[r.slug].changed_second_run = sum(h.changed for h in r.hosts.values())
        for slug, hosts in outcome.problem_hosts.items():
            say(f"   {slug}: failed or unreachable: {', '.join(hosts)}")
        return outcome.ok

    def backups() -> bool:
        statuses = backup.run_now(target, slugs, timedelta(hours=1))
        # The region report reads backup freshness from these records.
        backup.write_records(repo_root, target.env, "run", statuses, timedelta(hours=1))
        for s in statuses:
            row = rows[s.host.municipality]
            row.backup_clients += 1
            if s.fresh:
                row.backups_fresh += 1
                stamp = s.last_success.strftime("%H:%M UTC") if s.last_success else "?"
                row.last_backup = f"{stamp} {(s.snapshot_id or '')[:8]}"
            else:
                say(f"   {s.host.name}: backup {s.state}: {s.error or ''}")
        return all(s.fresh for s in statuses)

    def restore() -> bool:
        req = ApplyRequest("", repo_root / "playbooks" / "restore-test.yml", strategy=strategy)
        outcome = apply_mod.apply(model, target, slugs, req, progress)
        for r in outcome.results:
            rows[r.slug].restore_verified = sum(
                1 for h in r.hosts.values() if h.status in ("ok", "changed")
            )
        return outcome.ok

    def do_drill() -> bool:
        from ilag_infra.lab import drill, drill_report
        from ilag_infra.model.errors import IlagError

        slug = smallest_municipality(model)
        row = rows[slug]
        say(f"   drilling {row.name} ({slug}), the smallest municipality by population")
        try:
            result = drill.drill(model, target, slug, lambda m: say(f"   {m}"))
        except IlagError as exc:
            row.drill_ok = False
            say(f"   {slug}: drill failed: {exc}")
            return False
        drill_report.write_reports(repo_root, result, target.env)
        row.drill_ok = result.ok
        row.drill_rto_seconds, row.drill_rpo_seconds = result.rto_seconds, result.rpo_seconds
        for h in result.hosts:
            for problem in ([h.error] if h.error else []) + h.differences[:5]:
                say(f"   {h.name}: {problem}")
        say(
            f"   RTO {drill_report.fmt_seconds(result.rto_seconds)}, "
            f"RPO {drill_report.fmt_seconds(result.rpo_seconds)}; report {result.report}"
        )
        return result.ok

    steps: list[tuple[str, Callable[[], bool]]] = [
        ("lab up: real Debian 12 hosts per municipality, Blob emulator", lab_up),
        ("validate region.yaml and inventories", do_validate),
        ("offline plan of the Azure stacks (mocks, policies)", plan),
        ("preflight: pinned host keys, python3, sudo, disk, clock", do_preflight),
        ("apply --all: first converge", lambda: converge(False)),
        ("apply --all: second converge (must change nothing)", lambda: converge(True)),
        ("backup now on every backup client", backups),
        ("restore test: canary restored and compared by checksum", restore),
        (
            "disaster-recovery drill: the smallest municipality rebuilt from code and backup",
            do_drill,
        ),
    ]
    for name, fn in steps:
        if not step(name, fn):
            break
    return report
