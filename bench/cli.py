"""The everyday commands as a person runs them: whole processes, median of 3.

Times `ilag --version`, `ilag validate`, `ilag plan` and `ilag diff HEAD~1` and prints each as
a ratio to `python -c pass` timed in the same run, so the figures compare across machines.
The diff is of a change to one stack file: the bench clones this repository into a temporary
directory (sharing its objects; the repository itself is not touched), commits a new VPN
gateway SKU to stacks/Pulumi.network.yaml there, and runs every command in that clone with
this tree's code (PYTHONPATH=src). Goals on an idle 2-core machine: plan <= 3 s, diff <= 3 s.

`ilag plan` keeps its plans in a cache (ILAG_PLAN_CACHE): the bench gives it an empty one of
its own, so the first round plans afresh and later rounds read stored plans; every round's
wall time is printed. --no-cache turns the cache off, so every round plans afresh.

    .venv/bin/python bench/cli.py [--rounds 3] [--only plan] [--src OTHER/src] [--no-cache]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOALS = {"plan": 3.0, "diff HEAD~1": 3.0}
STACK_FILE = "stacks/Pulumi.network.yaml"
CHANGE = ("ilag:vpnGatewaySku: VpnGw2AZ", "ilag:vpnGatewaySku: VpnGw3AZ")


def ilag() -> list[str]:
    """The console script beside this Python, else the module: how a person starts it."""
    script = Path(sys.executable).parent / "ilag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ilag_infra.cli.app"]


def commands() -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ilag --version": [*ilag(), "--version"],
        "ilag validate": [*ilag(), "validate"],
        "plan": [*ilag(), "plan"],
        # The base as an argument where the CLI takes it, else as --base.
        "diff HEAD~1": [*ilag(), "diff", "--base", "HEAD~1"],
    }


def git(where: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=where, check=True, capture_output=True, text=True
    ).stdout


def clone_with_one_stack_change(tmp: Path) -> Path:
    """A clone of this repository's HEAD with one more commit changing one stack file."""
    clone = tmp / "repo"
    git(REPO, "clone", "-q", "--shared", "--no-checkout", str(REPO), str(clone))
    git(clone, "checkout", "-q", "--detach", git(REPO, "rev-parse", "HEAD").strip())
    path = clone / STACK_FILE
    text = path.read_text(encoding="utf-8")
    if CHANGE[0] not in text:
        raise SystemExit(f"{STACK_FILE} no longer holds {CHANGE[0]!r}; update bench/cli.py")
    path.write_text(text.replace(CHANGE[0], CHANGE[1], 1), encoding="utf-8")
    git(clone, "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qam", "b")
    for name in (".venv", "node_modules"):  # the shared environments, as in the repository
        if (REPO / name).exists() and not (clone / name).exists():
            (clone / name).symlink_to((REPO / name).resolve())
    return clone


def run_once(argv: list[str], where: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the process and its children, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=where, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", action="append", help="only this command (repeatable)")
    parser.add_argument(
        "--src", type=Path, default=REPO / "src", help="the code to time (e.g. an older export)"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="plan afresh in every round (ILAG_PLAN_CACHE=off)"
    )
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(args.src.resolve()), ILAG_ENV="lab")
    env.pop("ILAG_REGION", None)
    with tempfile.TemporaryDirectory() as tmp:
        env["ILAG_PLAN_CACHE"] = "off" if args.no_cache else str(Path(tmp) / "plan-cache")
        where = clone_with_one_stack_change(Path(tmp))
        figures: dict[str, tuple[float, float, list[int], list[float]]] = {}
        for name, argv in commands().items():
            if args.only and name != "python -c pass" and name not in args.only:
                continue
            runs = [run_once(argv, where, env) for _ in range(args.rounds)]
            figures[name] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
                sorted({r[2] for r in runs}),
                [r[0] for r in runs],
            )
    base = figures["python -c pass"][0]
    cache = "off" if args.no_cache else "empty at the start"
    print(
        f"median of {args.rounds} whole processes, wall (CPU incl. children); plan cache {cache}:"
    )
    for name, (wall, cpu, codes, walls) in figures.items():
        label = name if name.startswith(("python", "ilag")) else f"ilag {name}"
        goal = GOALS.get(name)
        verdict = (
            "" if goal is None else f"  goal <= {goal:g} s: {'ok' if wall <= goal else 'OVER'}"
        )
        print(
            f"  {label:<20} {wall:6.2f} s ({cpu:5.2f} s)  {wall / base:6.1f}x python -c pass"
            f"  exit {','.join(map(str, codes))}{verdict}"
            f"  rounds: {' '.join(f'{w:.2f}' for w in walls)} s"
        )
    print(f"  load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
