"""`ilag costs` at scale: a month of 100,000 export rows split in at most 5 s.

The export is generated (same columns as Azure's FOCUS 1.0 and EA actual-cost files, through
the test fixtures' generator) with every kind of row the split treats differently: direct
costs tagged by slug, display name or kommunenummer in any case, shared costs, untagged
resources, credits, and services outside the stacks' three. The baseline, timed in the same
process on the same file, is the least any exact reader does: the csv module's rows and a
Decimal of each cost cell. The ratio says how far the split is from that floor, whatever the
machine.

    .venv/bin/python bench/costs.py                 # 100,000 FOCUS rows, 3 rounds
    .venv/bin/python bench/costs.py --rows 20000 --schema ea --profile
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gzip
import importlib.util
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 5.0


def generator() -> ModuleType:
    """tests/fixtures/costs/generate.py: the export columns and row writers the tests use."""
    path = REPO / "tests" / "fixtures" / "costs" / "generate.py"
    spec = importlib.util.spec_from_file_location("cost_export_generator", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# Who a row is charged to, as tags write it: slugs, display names and kommunenummer in any
# case, the shared pool, and no municipality tag at all (untagged, charged as shared).
OWNERS = [
    "hadsel", "bo", "oksnes", "sortland", "andoy",
    "Hadsel", "Bø", "ØKSNES", "1866", "1871",
    "shared", "shared", "Shared", "",
]  # fmt: skip
SERVICES = ["network", "identity", "backup", "dns", "monitoring", ""]
KINDS = [
    ("Microsoft.Network/virtualNetworkGateways", "vgw", "rg-ilag-network-prod-noe"),
    ("Microsoft.Network/connections", "vcn", "rg-ilag-network-prod-noe"),
    ("Microsoft.KeyVault/vaults", "kv", "rg-ilag-identity-prod-noe"),
    ("Microsoft.Storage/storageAccounts", "st", "rg-ilag-backup-prod-noe"),
    ("Microsoft.Compute/virtualMachines", "vm", "rg-test-manual"),
]


def charges(gen: ModuleType, rows: int) -> list[object]:
    """`rows` daily charges over one month: resources x 31 days, amounts to eight decimals."""
    out: list[object] = []
    resources = -(-rows // gen.DAYS)
    for r in range(resources):
        kind, prefix, group = KINDS[r % len(KINDS)]
        rid = f"{gen._rg(group)}/providers/{kind}/{prefix}-{r:05d}"
        owner = OWNERS[(r * 7) % len(OWNERS)]
        service = SERVICES[(r * 5) % len(SERVICES)]
        tags = gen._tagged(owner, service) if owner else {"environment": "prod"}
        if not service:
            tags.pop("service", None)
        for d in range(gen.DAYS):
            if len(out) == rows:
                return out
            amount = (Decimal(r % 97 + 1) * gen._jitter(rid, str(d))).quantize(Decimal("1e-8"))
            if (r + d) % 101 == 0:
                amount = -amount / 3  # a credit or refund
            charge = gen.small(d + 1, str(amount), rid, tags)
            out.append(replace(charge, day=gen.MONTH + timedelta(days=d)))
    return out


def export_bytes(rows: int, schema: str = "focus", gz: bool = False) -> bytes:
    gen = generator()
    got = charges(gen, rows)
    if schema == "focus":
        return bytes(gen.csv_bytes(gen.FOCUS_COLUMNS, map(gen.focus_row, got), gz=gz))
    return bytes(gen.csv_bytes(gen.EA_COLUMNS, map(gen.ea_row, got), bom=True, gz=gz))


def baseline(path: Path) -> None:
    """The floor: every row through the csv module and its cost cell through Decimal."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    header = next(reader)
    names = [h.lower() for h in header]
    cost = (
        names.index("billedcost") if "billedcost" in names else names.index("costinbillingcurrency")
    )
    total = Decimal(0)
    for values in reader:
        total += Decimal(values[cost])


def split_csv(path: Path) -> str:
    """What `ilag costs EXPORT --format csv` does after its start: read, split, render."""
    from ilag_infra.costs import exports, render, split
    from ilag_infra.model.region import load

    region = load(REPO / "region.yaml").model
    return render.csv_text(split.split(exports.read([path]), region))


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process over `rounds` runs. On a machine
    shared with other work the CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--schema", choices=("focus", "ea"), default="focus")
    parser.add_argument("--gzip", action="store_true", help="write the export gzip-compressed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the split's top functions")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{args.schema}-2026-10.csv{'.gz' if args.gzip else ''}"
        path.write_bytes(export_bytes(args.rows, args.schema, args.gzip))
        size = path.stat().st_size / 2**20
        print(f"export: {args.rows:,} {args.schema} rows, {size:.1f} MiB")
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(split_csv, path)
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        base, base_cpu = timed(lambda: baseline(path), args.rounds)
        ours, ours_cpu = timed(lambda: split_csv(path), args.rounds)
    verdict = "within" if ours <= GOAL_SECONDS else "OVER"
    print(f"median of {args.rounds}, wall (CPU of this process):")
    print(f"  baseline: csv module + Decimal of each cost   {base:6.2f} s ({base_cpu:.2f} s)")
    print(
        f"  ilag costs: read, split, render CSV           {ours:6.2f} s ({ours_cpu:.2f} s)"
        f"   ratio {ours / base:.2f}x ({ours_cpu / base_cpu:.2f}x)"
    )
    print(
        f"  goal: {args.rows:,} rows in <= {GOAL_SECONDS:g} s on an idle 2-core machine: {verdict}"
    )
    print(f"  load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
