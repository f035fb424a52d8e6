"""Benchmark: the region-wide disaster-recovery drill (`ilag drill --all`): every
municipality lost at the same moment and recovered together. Baseline, in the same process: the
same municipalities drilled one after the other (`ilag drill SLUG` each), as an operator without
`--all` would. Prints each municipality's RTO and RPO, the region's RTO, the bytes verified and
lost, the ratio of the one-by-one time to the region drill's, and last `region drill total N s`
(the whole `ilag drill --all`, converge and backup before the disaster included; goal 1,800 s).

    .venv/bin/python bench/drill.py [--municipalities bo,oksnes] [--no-baseline] [--json out.json]

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
from ilag_infra.lab.drill_report import fmt_seconds  # noqa: E402
from ilag_infra.model import region  # noqa: E402

ILAG = REPO / ".venv" / "bin" / "ilag"


def run_drill(slugs: list[str]) -> tuple[dict[str, Any] | None, float, str]:
    """Run `ilag drill SLUG... --json`; its region result, wall seconds, stderr's tail."""
    start = time.monotonic()
    done = subprocess.run(
        [str(ILAG), "drill", *slugs, "--json"], cwd=REPO, capture_output=True, text=True
    )
    wall = time.monotonic() - start
    try:
        result = json.loads(done.stdout)
    except ValueError:
        return None, wall, (done.stderr or done.stdout).strip()[-400:]
    return result, wall, done.stderr.strip()[-400:]


def line(m: dict[str, Any]) -> str:
    files = sum(h["files"] for h in m["hosts"])
    size = sum(h["bytes"] for h in m["hosts"])
    return (
        f"  {m['municipality']:<9} {'ok    ' if m['ok'] else 'FAILED'} "
        f"RTO {fmt_seconds(m['rto_seconds']):>8}  RPO {fmt_seconds(m['rpo_seconds']):>6}  "
        f"{len(m['hosts'])} hosts, {files} files, {size / 1e6:.1f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--municipalities", help="Comma-separated slugs (default: all).")
    parser.add_argument(
        "--no-baseline", action="store_true", help="Skip the one-by-one drills (saves ~8 min)."
    )
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
    out: dict[str, Any] = {"one_by_one": [], "region": None}
    ok = True
    try:
        one_by_one = 0.0
        if not args.no_baseline:
            print("baseline: one municipality after the other", flush=True)
            for slug in slugs:
                result, wall, err = run_drill([slug])
                one_by_one += wall
                if result is None:
                    print(f"  {slug:<9} FAILED after {wall:.0f} s: {err}", flush=True)
                    ok = False
                    continue
                print(
                    line(result["municipalities"][0]) + f"  (whole drill {wall:.0f} s)", flush=True
                )
                ok = ok and bool(result["ok"])
                out["one_by_one"].append({**result, "wall_seconds": round(wall, 1)})
            print(f"  one by one: {one_by_one:.0f} s in all", flush=True)
        print(f"region: {', '.join(slugs)} lost at the same moment", flush=True)
        result, total, err = run_drill(slugs)
        if result is None:
            print(f"  FAILED after {total:.0f} s: {err}", flush=True)
            ok = False
        else:
            for m in result["municipalities"]:
                print(line(m), flush=True)
            ok = ok and bool(result["ok"])
            out["region"] = {**result, "wall_seconds": round(total, 1)}
            print(
                f"  region RTO {fmt_seconds(result['rto_seconds'])} (disaster to the last "
                f"verified host), {result['hosts']} hosts, {result['workers']} restores at once, "
                f"{result['bytes_verified'] / 1e6:.1f} MB verified, "
                f"{result['bytes_lost']} bytes lost; steps "
                + ", ".join(f"{k} {v:.0f} s" for k, v in result["steps"].items()),
                flush=True,
            )
            if one_by_one:
                print(f"  ratio one-by-one / region: {one_by_one / total:.2f}x", flush=True)
    finally:
        if brought_up:
            lab.down(progress=lambda m: print(f"lab: {m}", flush=True))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"region drill total {total:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
