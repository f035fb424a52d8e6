"""Benchmark: the disaster-recovery drill (`ilag drill`) of each municipality, one after the
other, with RTO (destruction to verified data) and RPO (age of the newest snapshot at the
disaster) and the time of each step.

    .venv/bin/python bench/drill.py [--municipalities bo,oksnes] [--json results.json]

Needs root (the lab). Brings the lab up if it is not, and down again only if it did so.
Exits 1 if any drill fails (a file not restored byte for byte, a step that failed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from ilag_infra import lab  # noqa: E402
from ilag_infra.lab.drill import fmt_seconds  # noqa: E402
from ilag_infra.model import region  # noqa: E402

ILAG = REPO / ".venv" / "bin" / "ilag"


def drill_one(slug: str) -> tuple[dict[str, Any] | None, float, str]:
    """Run `ilag drill SLUG --json`; its result, wall seconds, and stderr's tail on failure."""
    start = time.monotonic()
    done = subprocess.run(
        [str(ILAG), "drill", slug, "--json"], cwd=REPO, capture_output=True, text=True
    )
    wall = time.monotonic() - start
    try:
        results = json.loads(done.stdout)
    except ValueError:
        return None, wall, (done.stderr or done.stdout).strip()[-400:]
    return (results[0] if results else None), wall, done.stderr.strip()[-400:]


def line(slug: str, result: dict[str, Any] | None, wall: float, err: str) -> str:
    if result is None:
        return f"{slug:<9} FAILED after {wall:.0f} s: {err}"
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in result["steps"].items())
    files = sum(h["files"] for h in result["hosts"])
    size = sum(h["bytes"] for h in result["hosts"])
    return (
        f"{slug:<9} {'ok    ' if result['ok'] else 'FAILED'} "
        f"RTO {fmt_seconds(result['rto_seconds']):>8}  RPO {fmt_seconds(result['rpo_seconds']):>6}  "
        f"{len(result['hosts'])} hosts, {files} files, {size / 1e6:.1f} MB  "
        f"(whole drill {wall:.0f} s; {steps})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--municipalities", help="Comma-separated slugs (default: all).")
    parser.add_argument("--json", type=Path, help="Also write every drill result to this file.")
    args = parser.parse_args()
    loaded = region.load(REPO / "region.yaml")
    slugs = args.municipalities.split(",") if args.municipalities else loaded.model.slugs
    unknown = sorted(set(slugs) - set(loaded.model.slugs))
    if unknown:
        print(f"unknown municipality: {', '.join(unknown)} (see region.yaml)", file=sys.stderr)
        return 2
    brought_up = not lab.status().healthy
    if brought_up:
        lab.up(loaded, REPO, 2, progress=lambda m: print(f"lab: {m}", flush=True))
    results: list[dict[str, Any]] = []
    ok = True
    try:
        for slug in slugs:
            result, wall, err = drill_one(slug)
            print(line(slug, result, wall, err), flush=True)
            ok = ok and result is not None and bool(result["ok"])
            if result is not None:
                results.append({**result, "wall_seconds": round(wall, 1)})
    finally:
        if brought_up:
            lab.down(progress=lambda m: print(f"lab: {m}", flush=True))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
