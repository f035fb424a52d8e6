"""Benchmark: a sixth municipality (Lødingen, 1851) from nothing to converged, backed up and
proven recoverable, on the lab, from a clean checkout. Each step is the `ilag` command an
operator types, in a process of its own, with the checkout's code and region:

    onboard --apply, validate, diff HEAD, lab up, first converge, backup run,
    restore --verify-only, drill

Baseline in the same process: the first converge of Bø from the same bare base in the same
lab, so the ratio says whether joining costs more than an existing municipality's converge.
The last line is `onboard total N s` (goal: N <= 1,800).

    flock /tmp/ilag-lab.flock .venv/bin/python bench/onboard.py [--json out.json]

Needs root (the lab). It rebuilds the machine's lab with six municipalities and removes it at
the end. Exits 1 if a step fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from ilag_infra import lab  # noqa: E402
from tests.lab.join_path import ONBOARD, SLUG, JoinPath, clean_checkout  # noqa: E402

GOAL = 1800.0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write every step to this file.")
    args = parser.parse_args()
    if lab.status().healthy:
        print("a lab is up on this machine: `sudo ilag lab down` first", file=sys.stderr)
        return 2
    ok = True
    with tempfile.TemporaryDirectory(prefix="ilag-onboard-bench-") as tmp:
        path = JoinPath(clean_checkout(REPO, Path(tmp) / "checkout"), progress=print)
        try:
            for name, cmd in (
                ("onboard", [*ONBOARD, "--apply"]),
                ("validate", ["validate"]),
                ("diff", ["diff", "HEAD"]),
                ("lab up", ["lab", "up"]),
                ("converge", ["apply", SLUG]),
                ("backup", ["backup", "run", SLUG]),
                ("restore test", ["restore", f"{SLUG}-fil01", "/etc", "--verify-only", "--yes"]),
                ("drill", ["drill", SLUG]),
            ):
                step = path.run(name, *cmd)
                if step.rc != 0:
                    print(step.tail, file=sys.stderr)
                    ok = False
                    break
            converge = next((s for s in path.steps if s.name == "converge"), None)
            if ok and converge is not None:
                base = path.run("baseline: converge bo", "apply", "bo")
                path.steps.remove(base)
                if base.rc == 0 and base.seconds:
                    print(
                        f"ratio first converge {SLUG} / bo: {converge.seconds / base.seconds:.2f}x"
                    )
        finally:
            lab.down(progress=lambda m: print(f"lab: {m}", flush=True))
        total = path.total
        if args.json:
            args.json.write_text(
                json.dumps({"steps": [asdict(s) for s in path.steps], "total": total}, indent=2)
                + "\n"
            )
    print(f"goal {GOAL:.0f} s: {'met' if ok and total <= GOAL else 'NOT met'}")
    print(f"onboard total {total:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
