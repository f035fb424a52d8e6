"""`ilag costs` as the treasurer runs it: real export files in, five lines out, exit 2 on bad rows."""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ilag_infra.cli.app import main

FIX = Path(__file__).resolve().parent / "fixtures" / "costs"
GEN = FIX / "generated"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["costs", *args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *files: Path) -> dict[str, object]:
    code, out, err = run(capsys, *map(str, files), "--format", "json")
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def lines_of(data: dict[str, object]) -> list[dict[str, str]]:
    lines = data["lines"]
    assert isinstance(lines, list)
    return lines


def test_generated_focus_ea_and_mca_give_the_same_split(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outs = []
    for name in (
        "focus-2026-10.csv.gz",
        "ea-actualcost-2026-10.csv.gz",
        "mca-actualcost-2026-10.csv.gz",
    ):
        code, out, err = run(capsys, str(GEN / name), "--format", "csv", "--period", "2026-10")
        assert code == 0, err
        outs.append(out)
    assert outs[0] == outs[1] == outs[2]
    rows = list(csv.DictReader(io.StringIO(outs[0])))
    assert [r["municipality"] for r in rows] == ["hadsel", "bo", "oksnes", "sortland", "andoy"]
    # The sum of the lines is the export's own total to the øre, computed here independently.
    with gzip.open(GEN / "ea-actualcost-2026-10.csv.gz", "rt", encoding="utf-8-sig") as fh:
        exact = sum(Decimal(r["CostInBillingCurrency"]) for r in csv.DictReader(fh))
    assert sum(Decimal(r["total"]) for r in rows) == exact.quantize(Decimal("0.01"))
    for r in rows:
        assert Decimal(r["direct"]) + Decimal(r["shared"]) == Decimal(r["total"])
        services = ("network", "identity", "backup", "dns")
        assert sum(Decimal(r[s]) for s in services) == Decimal(r["total"])


def test_shared_cost_follows_the_key_and_direct_cost_its_tag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = as_json(capsys, FIX / "ea-small.csv")
    by = {x["municipality"]: x for x in lines_of(data)}
    # Only Andøy has a direct cost (its VPN link, 3.40); the rest is shared.
    assert by["andoy"]["direct"] == "3.40"
    assert all(by[s]["direct"] == "0.00" for s in ("hadsel", "bo", "oksnes", "sortland"))
    # 30 % equal, 70 % by population: Sortland (10 618) pays most, Bø (2 634) least.
    totals = {s: Decimal(x["shared"]) for s, x in by.items()}
    assert max(totals, key=lambda s: totals[s]) == "sortland"
    assert min(totals, key=lambda s: totals[s]) == "bo"
    assert data["key"] == {
        "method": "weighted",
        "equal_share": "3/10",
        "description": "30 % split equally, 70 % by population",
    }


@pytest.mark.parametrize(
    "name",
    [
        "focus-small.csv",
        "focus-small.csv.gz",
        "mca-small.csv",
        "ea-shuffled-upper.csv",
        "ea-semicolon.csv",
    ],
)
def test_every_shape_of_the_same_month_gives_the_same_lines(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert lines_of(as_json(capsys, FIX / name)) == lines_of(as_json(capsys, FIX / "ea-small.csv"))


def test_untagged_costs_are_shared_and_listed_with_their_resource(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = as_json(capsys, FIX / "focus-untagged.csv")
    assert data["untagged_total"] == "12.50"
    untagged = data["untagged"]
    assert isinstance(untagged, list) and len(untagged) == 1
    assert untagged[0]["resource"].endswith("/virtualMachines/vm-test-01")
    assert untagged[0]["rows"] == [f"{FIX / 'focus-untagged.csv'} row 6"]
    small = {
        x["municipality"]: Decimal(x["shared"])
        for x in lines_of(as_json(capsys, FIX / "focus-small.csv"))
    }
    more = {x["municipality"]: Decimal(x["shared"]) for x in lines_of(data)}
    assert all(more[s] > small[s] for s in small)
    code, out, _ = run(capsys, str(FIX / "focus-untagged.csv"))
    assert code == 0 and "vm-test-01" in out and "charged as shared" in out


def test_credits_are_kept_and_shown(capsys: pytest.CaptureFixture[str]) -> None:
    data = as_json(capsys, FIX / "focus-credits.csv")
    credits = data["credits"]
    assert isinstance(credits, list)
    assert [(c["amount"], c["charged_to"]) for c in credits] == [
        ("-25.00", "shared"),
        ("-1.40", "andoy"),
    ]
    by = {x["municipality"]: x for x in lines_of(data)}
    assert by["andoy"]["direct"] == "2.00"  # 3.40 link less a 1.40 credit
    assert data["total"] == "73.34"
    code, out, _ = run(capsys, str(FIX / "focus-credits.csv"))
    assert code == 0 and "Credits and refunds kept" in out and "-25.00" in out


def test_inherited_resource_group_tags_count(capsys: pytest.CaptureFixture[str]) -> None:
    data = as_json(capsys, FIX / "ea-inherited.csv")
    by = {x["municipality"]: x for x in lines_of(data)}
    assert by["andoy"]["direct"] == "6.80"
    assert data["untagged"] == []


def test_markdown_and_table_show_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(FIX / "ea-small.csv"), "--format", "markdown")
    assert code == 0
    assert "| Andøy (1871) |" in out and "**99.74**" in out
    code, out, _ = run(capsys, str(FIX / "ea-small.csv"))
    assert code == 0 and "Øksnes" in out and "99.74" in out


def test_parts_of_one_export_are_added(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Azure splits a large export into parts with one header each and no row in two parts.
    header, *rows = (FIX / "ea-inherited.csv").read_text(encoding="utf-8").splitlines()
    first, second = tmp_path / "part_0_0001.csv", tmp_path / "part_0_0002.csv"
    first.write_text("\n".join([header, *rows[:3]]) + "\n", encoding="utf-8")
    with gzip.open(second, "wt", encoding="utf-8") as fh:
        fh.write("\n".join([header, *rows[3:]]) + "\n")
    data = as_json(capsys, first, second)
    assert data["total"] == "103.14" == as_json(capsys, FIX / "ea-inherited.csv")["total"]


def test_one_export_under_two_names_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # focus-small.csv.gz is focus-small.csv compressed: the same bill, not a second part.
    code, out, err = run(capsys, str(FIX / "focus-small.csv"), str(FIX / "focus-small.csv.gz"))
    assert code == 2 and out == ""
    assert f"{FIX / 'focus-small.csv.gz'}: file: has the same content as" in err
    assert "count twice" in err and "Traceback" not in err
    copy = tmp_path / "copy.csv"
    copy.write_bytes((FIX / "ea-small.csv").read_bytes())
    code, _, err = run(capsys, str(FIX / "ea-small.csv"), str(copy))
    assert code == 2 and f"{copy}: file: has the same content as {FIX / 'ea-small.csv'}" in err


def test_the_same_charge_in_two_files_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # ea-inherited.csv is ea-small.csv plus one row: overlapping exports, not parts of one.
    code, _, err = run(capsys, str(FIX / "ea-small.csv"), str(FIX / "ea-inherited.csv"))
    assert code == 2
    assert f"{FIX / 'ea-inherited.csv'}: row 2: is the same charge as" in err
    assert f"{FIX / 'ea-small.csv'} row 2" in err and "count twice" in err


@pytest.mark.parametrize(
    ("name", "row", "column", "words"),
    [
        ("focus-mixed-currency.csv", 6, "BillingCurrency", "currency EUR differs from NOK"),
        ("ea-outside-period.csv", 6, "Date", "lies outside 2026-10"),
        ("focus-unknown-municipality.csv", 6, "Tags", "'lodingen' names no municipality"),
        ("ea-no-currency.csv", 1, "BillingCurrencyCode", "no currency column"),
        ("focus-no-cost.csv", 1, "BilledCost", "BilledCost is missing"),
        ("ea-bad-number.csv", 3, "CostInBillingCurrency", "'3.40 kr' is not a number"),
        ("ea-european-date.csv", 3, "Date", "is not MM/DD/YYYY"),
        ("ea-bad-tags.csv", 3, "Tags", "not JSON key/value pairs"),
        ("empty.csv", 1, "", "the file is empty"),
        ("header-only.csv", 2, "", "no cost rows"),
    ],
)
def test_bad_input_exits_2_naming_file_row_and_column(
    capsys: pytest.CaptureFixture[str], name: str, row: int, column: str, words: str
) -> None:
    code, out, err = run(capsys, str(FIX / name))
    assert code == 2
    assert out == ""
    where = f"{FIX / name}: row {row}" + (f", column {column}" if column else "")
    assert where in err, err
    assert words in err
    assert "Traceback" not in err


def test_period_flag_is_checked_against_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(FIX / "ea-small.csv"), "--period", "2026-09")
    assert code == 2 and "row 2, column Date" in err and "outside 2026-09" in err
    code, _, err = run(capsys, str(FIX / "ea-small.csv"), "--period", "2026-13")
    assert code == 2 and "--period" in err
    code, _, err = run(capsys, str(FIX / "ea-small.csv"), "--format", "xml")
    assert code == 2 and "--format" in err


def test_a_file_that_is_not_there_or_not_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2 and f"{tmp_path}: file: is a directory" in err and "no such file" not in err
    code, _, err = run(capsys, "/dev/null")
    assert code == 2 and "/dev/null: file: is not a regular file" in err
    (tmp_path / "zero.csv").write_bytes(b"")
    code, _, err = run(capsys, str(tmp_path / "zero.csv"))
    assert code == 2 and "the file is empty" in err
    parquet = tmp_path / "part_0_0001.parquet"
    parquet.write_bytes(b"PAR1\x00\x00")
    code, _, err = run(capsys, str(parquet))
    assert code == 2 and "Parquet" in err
    latin = tmp_path / "latin1.csv"
    latin.write_bytes((FIX / "ea-small.csv").read_bytes().replace(b"ILAG IKT", b"\xd8ksnes"))
    code, _, err = run(capsys, str(latin))
    assert code == 2 and "not UTF-8" in err


def test_a_correction_of_last_month_belongs_to_this_bill(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = as_json(capsys, FIX / "focus-correction.csv")
    assert data["period"] == "2026-10"
    assert data["total"] == "95.54"  # 99.74 less the 4.20 correction
    credits = data["credits"]
    assert isinstance(credits, list) and credits[0]["category"] == "Adjustment"
    code, _, err = run(capsys, str(FIX / "focus-correction.csv"), "--period", "2026-09")
    assert code == 2 and "row 2, column ChargePeriodEnd" in err
    # The same row without ChargeClass=Correction is a September charge: outside October.
    plain = tmp_path / "no-correction.csv"
    text = (FIX / "focus-correction.csv").read_text(encoding="utf-8")
    plain.write_text(text.replace("Correction", ""), encoding="utf-8")
    code, _, err = run(capsys, str(plain), "--period", "2026-10")
    assert code == 2 and "row 6, column ChargePeriodStart" in err
    code, _, err = run(capsys, str(plain))
    assert code == 2 and "the file has 2026-09, 2026-10" in err


def test_the_same_month_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(FIX / "ea-small.csv"), str(FIX / "focus-small.csv"))
    assert code == 2 and f"{FIX / 'focus-small.csv'}: row 1" in err and "counted twice" in err
    code, _, err = run(capsys, str(FIX / "ea-small.csv"), str(FIX / "ea-small.csv"))
    assert code == 2 and "given twice" in err


def test_a_spreadsheets_unicode_text_save_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (FIX / "ea-small.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\r\n").writerows(rows)
    saved = tmp_path / "eksport.txt"
    saved.write_bytes(out.getvalue().encode("utf-16"))  # with its byte-order mark
    assert lines_of(as_json(capsys, saved)) == lines_of(as_json(capsys, FIX / "ea-small.csv"))


@pytest.mark.parametrize("service", ["[/x]", "[bold]net", "[link=file:///etc]x[/link]"])
def test_a_tag_value_that_looks_like_markup_is_shown_as_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, service: str
) -> None:
    text = (FIX / "focus-small.csv").read_text(encoding="utf-8-sig")
    odd = tmp_path / "odd-service.csv"
    odd.write_text(text.replace('""network""', f'""{service}""'), encoding="utf-8")
    code, out, err = run(capsys, str(odd))
    assert code == 0, err
    assert "Traceback" not in err and service in out
