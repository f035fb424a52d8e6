"""Benchmark: no-op re-converge of every lab host, project settings against stock ansible-playbook,
and the offline plan of all stacks. Both sides run in this one process, on the same hosts, and
the script prints ratios against the baseline.

    .venv/bin/python bench/converge.py [--rounds 2] [--hosts-per-municipality 2]

Needs root (the lab). Brings the lab up if it is not, and down again only if it did so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from ilag_infra import lab  # noqa: E402
from ilag_infra.model import region  # noqa: E402
from ilag_infra.onsite import apply as apply_mod  # noqa: E402
from ilag_infra.onsite import outputs  # noqa: E402
from ilag_infra.onsite.runner import ApplyRequest, Progress, secret_vars_file  # noqa: E402
from ilag_infra.onsite.targets import Target  # noqa: E402


def quiet(_: Progress) -> None:
    pass


def stock_run(
    target: Target, model: region.Region, slug: str, out: outputs.StackOutputs, empty_cfg: Path
) -> tuple[int, float]:
    """Plain ansible-playbook with Ansible's defaults; only host key pinning is added."""
    rv = outputs.run_vars(model, slug, out)
    with secret_vars_file(rv) as secrets, tempfile.NamedTemporaryFile("w", suffix=".json") as pub:
        json.dump(rv.public, pub)
        pub.flush()
        argv = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            *[a for src in target.inventory_sources(slug) for a in ("-i", str(src))],
            "--limit",
            "ilag_lab",
            "-e",
            f"@{pub.name}",
            "-e",
            f"@{secrets}",
            str(REPO / "playbooks" / "site.yml"),
        ]
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(empty_cfg),
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_SSH_COMMON_ARGS": (
                f"-o UserKnownHostsFile={target.known_hosts(slug)} "
                "-o GlobalKnownHostsFile=/dev/null "
                "-o StrictHostKeyChecking=yes"
            ),
        }
        started = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        return proc.returncode, time.perf_counter() - started


def stock_all(target: Target, model: region.Region, out: outputs.StackOutputs) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as cfg:
        cfg.write("[defaults]\n")
        cfg.flush()
        started = time.perf_counter()
        with ThreadPoolExecutor(len(model.slugs)) as pool:
            results = list(
                pool.map(lambda s: stock_run(target, model, s, out, Path(cfg.name)), model.slugs)
            )
        elapsed = time.perf_counter() - started
    bad = [s for s, (rc, _) in zip(model.slugs, results, strict=True) if rc != 0]
    if bad:
        raise SystemExit(f"stock ansible-playbook failed for {bad}")
    return elapsed


def project_all(target: Target, model: region.Region) -> float:
    req = ApplyRequest("", REPO / "playbooks" / "site.yml", strategy="mitogen")
    started = time.perf_counter()
    outcome = apply_mod.apply(model, target, model.slugs, req, quiet)
    elapsed = time.perf_counter() - started
    if not outcome.ok:
        raise SystemExit(f"project converge failed: {outcome.problem_hosts}")
    changed = sum(h.changed for r in outcome.results for h in r.hosts.values())
    if changed:
        print(f"  note: {changed} changes in a run meant to be a no-op")
    return elapsed


def bench_plan(loaded: region.LoadedRegion) -> None:
    from ilag_infra.azure import plan

    stacks = ["network", "identity", "backup"]
    # Baseline: each stack planned on its own, as three `ilag plan --stack X` calls would,
    # each re-planning its upstream stacks for their outputs.
    started = time.perf_counter()
    for stack in stacks:
        plan.run(stack, loaded, root=REPO)
    separate = time.perf_counter() - started
    started = time.perf_counter()
    results = plan.run_many(stacks, loaded, root=REPO)
    chained = time.perf_counter() - started
    count = sum(len(r.resources) for r in results)
    print(f"offline plan, {count} resources in 3 stacks:")
    print(f"  baseline (each stack alone)      {separate:6.2f} s")
    print(f"  ilag plan (upstream outputs fed) {chained:6.2f} s   ratio {separate / chained:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--hosts-per-municipality", type=int, default=2)
    args = parser.parse_args()
    loaded = region.load(REPO / "region.yaml")
    model = loaded.model
    bench_plan(loaded)

    brought_up = not lab.status().healthy
    if brought_up:
        print("bringing the lab up …")
        lab.up(loaded, REPO, args.hosts_per_municipality)
    try:
        os.environ.setdefault("ILAG_RUNS_DIR", tempfile.mkdtemp(prefix="ilag-bench-runs-"))
        target = Target("lab", REPO)
        out = target.stack_outputs()
        hosts = len(lab.lab_state().hosts)
        print(f"converging {hosts} lab hosts once to reach a steady state …")
        project_all(target, model)
        stock, project = [], []
        for i in range(args.rounds):
            stock.append(stock_all(target, model, out))
            project.append(project_all(target, model))
            print(f"  round {i + 1}: stock {stock[-1]:.1f} s, project {project[-1]:.1f} s")
        s, p = statistics.median(stock), statistics.median(project)
        print(f"no-op re-converge of {hosts} hosts in 5 municipalities (median of {args.rounds}):")
        print(f"  baseline: stock ansible-playbook defaults   {s:6.1f} s")
        print(f"  ilag apply (pipelining, Mitogen, cfg)       {p:6.1f} s   ratio {s / p:.2f}x")
    finally:
        if brought_up:
            lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
