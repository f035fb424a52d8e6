"""The fast reader splits exactly as the reader before it did, row for row and øre for øre.

The expected results in fixtures/costs/scale-expected.json were written by the reader before it
was made fast (`python tests/test_costs_scale.py` writes them again). Each case is a generated
export with every kind of row the split treats differently (see bench/costs.py), or a broken
one whose problems must be the same, in the same order, with the same words.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from ilag_infra.costs import exports, render, split
from ilag_infra.model.errors import InputError
from ilag_infra.model.region import load

REPO = Path(__file__).resolve().parent.parent
EXPECTED = REPO / "tests" / "fixtures" / "costs" / "scale-expected.json"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_costs", REPO / "bench" / "costs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _table(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def _write(rows: list[list[str]], bom: bool = False) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def _shuffled(rows: list[list[str]]) -> list[list[str]]:
    """The same rows with the columns in another order, as a second part of an export may be."""
    order = list(reversed(range(len(rows[0]))))
    return [[r[i] for i in order] for r in rows]


def _broken(rows: list[list[str]]) -> list[list[str]]:
    """Every kind of bad cell the reader names, on rows spread through the file."""
    head = [h.lower() for h in rows[0]]
    out = [list(r) for r in rows]

    def put(row: int, column: str, value: str) -> None:
        out[row][head.index(column.lower())] = value

    put(5, "BilledCost", "12,5x")
    put(9, "BillingCurrency", "kroner")
    put(14, "ChargePeriodStart", "yesterday")
    put(20, "ChargePeriodEnd", "2026-09-01T00:00:00Z")
    put(33, "Tags", '{"municipality": ["bo"]}')
    put(41, "Tags", "not json")
    put(57, "BilledCost", "1e400")
    put(60, "BilledCost", "")
    out[70] = out[70][:-3]
    put(88, "Tags", '{"municipality": "narvik"}')
    return out


def cases() -> dict[str, Callable[[Path], list[Path]]]:
    """Each case writes its export's files into a directory and returns their paths."""
    b = bench()
    focus = b.export_bytes(6000, "focus")
    ea = b.export_bytes(3100, "ea", gz=True)
    table = _table(focus)
    half = len(table) // 2

    def files(**named: bytes) -> Callable[[Path], list[Path]]:
        def write(where: Path) -> list[Path]:
            paths = []
            for name, data in named.items():
                path = where / name.replace("_", "-")
                path.write_bytes(data)
                paths.append(path)
            return paths

        return write

    return {
        "focus": files(focus_csv=focus),
        "ea": files(ea_csv_gz=ea),
        "two-parts": files(
            part1_csv=_write(table[:half]), part2_csv=_write(_shuffled([table[0], *table[half:]]))
        ),
        "part-overlap": files(
            part1_csv=_write(table[:half]),
            part2_csv=_write(_shuffled([table[0], *table[half - 3 :]])),
        ),
        "broken": files(broken_csv=_write(_broken(table[:200]))),
        "unknown-owner": files(
            bad_csv=_write([table[0], *[_broken(table[:100])[88]] * 30, *table[1:50]])
        ),
    }


def outcome(paths: list[Path], where: Path) -> object:
    region = load(REPO / "region.yaml").model
    try:
        result = split.split(exports.read(paths), region)
    except InputError as exc:
        got: object = [str(p).replace(str(where), "<dir>") for p in exc.problems]
    else:
        got = json.loads(render.json_text(result).replace(str(where), "<dir>"))
        assert isinstance(got, dict)
        got["csv"] = render.csv_text(result)
    return got


@pytest.mark.parametrize("case", sorted(cases()))
def test_split_is_what_it_was(case: str, tmp_path: Path) -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert outcome(cases()[case](tmp_path), tmp_path) == expected[case]


def main() -> None:
    import tempfile

    found = {}
    for name, make in sorted(cases().items()):
        with tempfile.TemporaryDirectory() as tmp:
            found[name] = outcome(make(Path(tmp)), Path(tmp))
    EXPECTED.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()


@pytest.mark.parametrize(
    ("change", "same"),
    [
        (lambda cell: f"  {cell}\t", True),  # padding is not part of a cell
        (lambda cell: cell, True),
        (lambda cell: cell + "x" if cell == "Microsoft" else cell, False),
        (lambda cell: cell + "\x00" if cell == "Microsoft" else cell, False),
    ],
)
def test_the_same_charge_in_two_parts_whatever_its_column_order(
    change: Callable[[str], str], same: bool, tmp_path: Path
) -> None:
    table = _table(bench().export_bytes(40, "focus"))
    (tmp_path / "a.csv").write_bytes(_write(table[:21]))
    moved = _shuffled([table[0], *[[change(c) for c in r] for r in table[20:]]])
    (tmp_path / "b.csv").write_bytes(_write(moved))
    try:
        exports.read([tmp_path / "a.csv", tmp_path / "b.csv"])
    except InputError as exc:
        assert same and [p.key for p in exc.problems] == ["row 2"]
    else:
        assert not same
