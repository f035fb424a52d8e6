"""Azure Cost Management exports read as Azure writes them: FOCUS 1.0 or EA/MCA actual cost.

A file may be plain CSV or gzip (detected by its first bytes, not its name), UTF-8 with or
without a byte-order mark. Headers are matched without regard to case or order: EA files say
`CostInBillingCurrency`, MCA files `costInBillingCurrency`. Every amount is an exact Decimal.
A file someone re-saved from a Norwegian spreadsheet (semicolons, decimal commas, DD.MM.YYYY)
is read too, because the delimiter tells it apart; nothing else is guessed.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from ilag_infra.costs.tags import TagError, parse_tags
from ilag_infra.model.errors import InputError, Problem

FOCUS = "FOCUS 1.0"
ACTUAL = "EA/MCA actual cost"
Basis = Literal["billed", "effective"]

# Problems beyond this many in one run are counted, not listed: one broken column would
# otherwise print a line for every row of a month.
MAX_PROBLEMS = 25

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?)?$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NB_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CostRow:
    """One charge: its exact amount, when it ran (end exclusive) and what it was for."""

    file: str
    row: int  # as a spreadsheet numbers it: the header is row 1
    amount: Decimal
    currency: str
    start: datetime
    end: datetime
    category: str
    resource_id: str
    resource_name: str
    resource_group: str
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    # The file's own header names, so a problem found later names the column as the file does.
    tags_column: str = "Tags"
    start_column: str = "ChargePeriodStart"
    end_column: str = "ChargePeriodEnd"
    currency_column: str = "BillingCurrency"
    # FOCUS corrections (ChargeClass "Correction") fix an earlier month's charge on this
    # month's bill: their charge period lies in the past, their billing period is this one.
    correction: bool = False
    billing_start: datetime | None = None

    @property
    def resource(self) -> str:
        """What a person would search the portal for: the resource id, else what the row says."""
        return self.resource_id or self.resource_name or self.description or "(no resource)"


@dataclass(frozen=True)
class ExportFile:
    path: str
    schema: str
    rows: int
    cost_column: str
    currency_column: str
    delimiter: str
    compressed: bool


@dataclass
class Export:
    files: list[ExportFile]
    rows: list[CostRow]

    @property
    def currency(self) -> str:
        return self.rows[0].currency if self.rows else ""


class _Problems:
    """Every problem found, capped, so one run shows all that is wrong, not only the first."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, file: str, row: int, column: str, message: str, fix: str = "") -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.dropped += 1
            return
        key = f"row {row}, column {column}" if column else f"row {row}" if row else "file"
        self.items.append(Problem(file, key, message, fix))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        items = list(self.items)
        if self.dropped:
            items.append(
                Problem(items[-1].file, "more", f"{self.dropped} further problem(s) not listed")
            )
        raise InputError(items)


@dataclass(frozen=True)
class _Columns:
    schema: str
    cost: str
    currency: str
    start: str
    end: str | None  # EA/MCA: one day per row, the end is the next day
    category: str | None
    resource_id: str | None
    resource_name: str | None
    resource_group: str | None
    description: str | None
    tags: str | None
    charge_class: str | None = None
    billing_start: str | None = None


def _first(headers: dict[str, str], *names: str) -> str | None:
    for name in names:
        if name.lower() in headers:
            return headers[name.lower()]
    return None


def _read_text(path: Path) -> tuple[str, bool, str]:
    """The text, whether it was gzip-compressed, and the sha256 of the decompressed bytes."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(
            [Problem(str(path), "file", f"cannot be read: {exc.strerror}", "check its permissions")]
        ) from None
    compressed = raw[:2] == b"\x1f\x8b"
    if compressed:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(
                [Problem(str(path), "file", f"gzip data is damaged: {exc}", "download it again")]
            ) from None
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:4] == b"PAR1":
        raise InputError(
            [
                Problem(
                    str(path),
                    "file",
                    "this is a Parquet export; only CSV exports are read",
                    "set the export's format to CSV (optionally gzip-compressed) and run it again",
                )
            ]
        )
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # A spreadsheet's "Unicode text" save: UTF-16 with a byte-order mark, tab-separated.
        return raw.decode("utf-16"), compressed, digest
    try:
        return raw.decode("utf-8-sig"), compressed, digest
    except UnicodeDecodeError as exc:
        raise InputError(
            [
                Problem(
                    str(path),
                    "file",
                    f"not UTF-8 text (byte {exc.start}); Azure writes exports as UTF-8",
                    "use the file as Azure wrote it, or save it again as 'CSV UTF-8'",
                )
            ]
        ) from None


def _delimiter(first_line: str) -> str:
    """Azure writes commas; a spreadsheet in a Norwegian locale re-saves with semicolons."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _columns(file: str, headers: dict[str, str], basis: Basis, problems: _Problems) -> _Columns:
    tags = _first(headers, "Tags")
    rid = _first(headers, "ResourceId", "InstanceId", "InstanceName")
    rname = _first(headers, "ResourceName")
    if "billedcost" in headers or "chargeperiodstart" in headers:
        cost_name = "BilledCost" if basis == "billed" else "EffectiveCost"
        cost = _first(headers, cost_name)
        currency = _first(headers, "BillingCurrency")
        start = _first(headers, "ChargePeriodStart")
        end = _first(headers, "ChargePeriodEnd")
        for have, name in (
            (cost, cost_name),
            (currency, "BillingCurrency"),
            (start, "ChargePeriodStart"),
            (end, "ChargePeriodEnd"),
        ):
            if have is None:
                problems.add(
                    file,
                    1,
                    name,
                    f"the FOCUS 1.0 column {name} is missing from the header",
                    "export the 'Cost and usage details (FOCUS)' dataset with all its columns",
                )
        return _Columns(
            FOCUS,
            cost or cost_name,
            currency or "BillingCurrency",
            start or "ChargePeriodStart",
            end or "ChargePeriodEnd",
            _first(headers, "ChargeCategory"),
            rid,
            rname,
            _first(headers, "x_ResourceGroupName", "ResourceGroupName", "ResourceGroup"),
            _first(headers, "ChargeDescription"),
            tags,
            _first(headers, "ChargeClass"),
            _first(headers, "BillingPeriodStart"),
        )
    cost = _first(headers, "CostInBillingCurrency")
    currency = _first(headers, "BillingCurrencyCode", "BillingCurrency")
    day = _first(headers, "Date", "UsageDate")
    if cost is None:
        problems.add(
            file,
            1,
            "CostInBillingCurrency",
            "no cost column: expected BilledCost (FOCUS 1.0) or CostInBillingCurrency "
            "(EA/MCA actual cost)",
            "use a Cost Management export of type FOCUS or ActualCost, as Azure wrote it",
        )
    if currency is None:
        problems.add(
            file,
            1,
            "BillingCurrencyCode",
            "no currency column: expected BillingCurrencyCode (EA) or billingCurrency (MCA)",
            "export the dataset with its currency column; amounts without a currency are not split",
        )
    if day is None:
        problems.add(file, 1, "Date", "no Date column", "export the dataset with its Date column")
    return _Columns(
        ACTUAL,
        cost or "CostInBillingCurrency",
        currency or "BillingCurrencyCode",
        day or "Date",
        None,
        _first(headers, "ChargeType"),
        rid,
        rname,
        _first(headers, "ResourceGroup", "ResourceGroupName"),
        _first(headers, "MeterName", "ProductName", "Product"),
        tags,
    )


MAX_AMOUNT = Decimal(10) ** 12


def parse_amount(text: str, delimiter: str) -> Decimal:
    """An exact amount; raises ValueError with the reason."""
    value = text.strip()
    if not value:
        raise ValueError("empty amount")
    if delimiter != "," and _DECIMAL_COMMA.match(value):
        value = value.replace(",", ".")
    if not _NUMBER.match(value):
        raise ValueError(f"{text!r} is not a number (expected e.g. 123.45 or 1.2E-05)")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    # Far above any bill the region can get; beyond it the øre arithmetic overflows Decimal.
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"{text!r} is out of range (at most {MAX_AMOUNT:,.0f} per row)")
    return amount


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time as FOCUS writes it (2024-01-01T00:00Z or, since 1.0r2, with seconds)."""
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time like 2024-01-01T00:00:00Z") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_day(text: str, delimiter: str) -> date:
    """The Date of an EA/MCA row: US MM/DD/YYYY as Azure writes it; ISO forms are unambiguous."""
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    try:
        if m := _US_DATE.match(value):
            month, day, year = int(m[1]), int(m[2]), int(m[3])
            if month > 12:
                raise ValueError(
                    f"{text!r} is not MM/DD/YYYY (month {month}); Azure writes US dates, so a "
                    "day first means the file was re-saved in another locale"
                )
            return date(year, month, day)
        if m := _ISO_DAY.match(value):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d", value):  # some exports write ISO times
            return parse_instant(value).date()
        if delimiter != "," and (m := _NB_DATE.match(value)):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError as exc:
        if "MM/DD/YYYY" in str(exc):
            raise
        raise ValueError(f"{text!r} is not a calendar date ({exc})") from None
    raise ValueError(f"{text!r} is not a date in US MM/DD/YYYY form")


def _rows(text: str, delimiter: str) -> Iterator[list[str]]:
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def not_a_file(path: Path) -> tuple[str, str] | None:
    """What the path is when it is not a regular file, and the fix; None for a regular file."""
    if path.is_dir():
        return "is a directory, not an export file", f"give the export file(s) in it: {path}/*.csv"
    if path.is_file():
        return None
    if path.exists():
        return (
            "is not a regular file (a device, pipe or socket)",
            "give the path of a downloaded export",
        )
    return "no such file", "give the path of a downloaded export"


class _Identity:
    """A row as its cells say it, whatever the column order: the same charge in two files.

    The header's work is done once per file: the stripped cells are taken in the order of
    their sorted column names and joined by NUL after those names, then hashed (quoted
    instead in the rare row with a NUL inside a cell). Two rows get one identity exactly when
    their stripped cells under the same column names are equal.
    """

    def __init__(self, header: list[str]) -> None:
        names = [h.strip().lower() for h in header]
        self.names = names
        self.order = sorted(range(len(names)), key=lambda i: names[i])
        self.unique = len(set(names)) == len(names)
        self.prefix = ("\x00".join(names[i] for i in self.order) + "\x00\x00").encode("utf-8")

    def __call__(self, values: list[str]) -> str:
        if not self.unique:  # duplicate column names: by name, then by cell, as always
            cells = sorted(zip(self.names, (v.strip() for v in values), strict=True))
            return hashlib.sha256(repr(cells).encode("utf-8")).hexdigest()
        picked = [values[i] for i in self.order]
        joined = "\x00".join(map(str.strip, picked))
        if joined.count("\x00") != len(picked) - 1:  # a cell holds a NUL of its own
            text = b"r" + repr([c.strip() for c in picked]).encode("utf-8")
        else:
            text = b"j" + joined.encode("utf-8")
        return hashlib.sha256(self.prefix + text).hexdigest()


@dataclass(frozen=True)
class FileRead:
    info: ExportFile
    rows: list[CostRow]
    digest: str  # sha256 of the decompressed bytes: one export under two names is one export
    identities: list[tuple[str, int]]  # (row identity, row number) of every cost row


def read_file(path: Path, basis: Basis, problems: _Problems, identify: bool = True) -> FileRead:
    """One export file's rows; what is wrong goes to `problems` with its row and column.

    With `identify`, also each row's identity, to find the same charge in another file; a
    single file has no other to compare with, and skips that work."""
    file = str(path)
    wrong = not_a_file(path)
    if wrong:
        problems.add(file, 0, "", *wrong)
        return FileRead(ExportFile(file, "?", 0, "", "", ",", False), [], "", [])
    text, compressed, digest = _read_text(path)
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line)
    reader = _rows(text, delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(file, 1, "", f"the header is not valid CSV: {exc}")
        return FileRead(ExportFile(file, "?", 0, "", "", delimiter, compressed), [], digest, [])
    if header is None or not any(h.strip() for h in header):
        problems.add(
            file, 1, "", "the file is empty", "export the month again; an empty file has no costs"
        )
        return FileRead(ExportFile(file, "?", 0, "", "", delimiter, compressed), [], digest, [])
    index = {h.strip().lower(): i for i, h in reversed(list(enumerate(header)))}
    names = {h.strip().lower(): h.strip() for h in header}
    cols = _columns(file, names, basis, problems)
    if problems.items:
        info = ExportFile(file, cols.schema, 0, cols.cost, cols.currency, delimiter, compressed)
        return FileRead(info, [], digest, [])

    read_row = _RowReader(file, cols, index, delimiter, problems)
    identity = _Identity(header)
    width = len(header)
    rows: list[CostRow] = []
    identities: list[tuple[str, int]] = []
    number = 1
    try:
        for values in reader:
            number += 1
            if len(values) != width:
                if not any(v.strip() for v in values):
                    continue  # a trailing blank line is not a charge
                problems.add(
                    file,
                    number,
                    "",
                    f"has {len(values)} cells where the header has {len(header)}",
                    "the row was cut or has an unquoted delimiter; export the file again",
                )
                continue
            if not "".join(values).strip():
                continue  # a row of empty cells is not a charge either
            row = read_row(number, values)
            if row is not None:
                rows.append(row)
                if identify:
                    identities.append((identity(values), number))
    except csv.Error as exc:
        problems.add(file, number + 1, "", f"not valid CSV: {exc}", "export the file again")
    if not rows and not problems.items:
        problems.add(
            file,
            2,
            "",
            "the file has a header but no cost rows",
            "check the export's scope and month; an empty month has nothing to split",
        )
    info = ExportFile(file, cols.schema, len(rows), cols.cost, cols.currency, delimiter, compressed)
    return FileRead(info, rows, digest, identities)


class _RowReader:
    """Turns a file's rows into CostRows, the header's lookups done once.

    An export repeats itself: a month has some 31 distinct dates, each resource one Tags cell
    and one currency. Those cells are parsed once per file and their results reused (a parse
    that failed is remembered with its message, so every row still gets its own problem).
    """

    def __init__(
        self,
        file: str,
        cols: _Columns,
        index: dict[str, int],
        delimiter: str,
        problems: _Problems,
    ) -> None:
        self.file, self.cols, self.delimiter, self.problems = file, cols, delimiter, problems

        def at(column: str | None) -> int:
            return -1 if column is None else index[column.lower()]

        self.cost, self.currency = at(cols.cost), at(cols.currency)
        self.start, self.end = at(cols.start), at(cols.end)
        self.category, self.resource_id = at(cols.category), at(cols.resource_id)
        self.resource_name, self.resource_group = at(cols.resource_name), at(cols.resource_group)
        self.description, self.tags = at(cols.description), at(cols.tags)
        self.charge_class, self.billing_start = at(cols.charge_class), at(cols.billing_start)
        self.currencies: dict[str, str | None] = {}  # cell -> code, None if not one
        self.instants: dict[str, datetime | ValueError] = {}
        self.days: dict[str, datetime | ValueError] = {}
        self.tag_cells: dict[str, dict[str, str] | TagError] = {}

    def _instant(self, text: str) -> datetime | ValueError:
        got = self.instants.get(text)
        if got is None:
            try:
                got = parse_instant(text)
            except ValueError as exc:
                got = exc
            self.instants[text] = got
        return got

    def _day(self, text: str) -> datetime | ValueError:
        got = self.days.get(text)
        if got is None:
            try:
                day = parse_day(text, self.delimiter)
                got = datetime(day.year, day.month, day.day, tzinfo=UTC)
            except ValueError as exc:
                got = exc
            self.days[text] = got
        return got

    def _tags(self, text: str) -> dict[str, str] | TagError:
        got = self.tag_cells.get(text)
        if got is None:
            try:
                got = parse_tags(text)
            except TagError as exc:
                got = exc
            self.tag_cells[text] = got
        # Each row its own dict, as when every cell was parsed alone.
        return got if isinstance(got, TagError) else dict(got)

    def __call__(self, number: int, values: list[str]) -> CostRow | None:
        file, cols, problems = self.file, self.cols, self.problems
        before = len(problems.items) + problems.dropped
        amount = Decimal(0)
        try:
            amount = parse_amount(values[self.cost], self.delimiter)
        except ValueError as exc:
            problems.add(file, number, cols.cost, str(exc), "amounts are plain decimal numbers")
        cell = values[self.currency]
        if cell in self.currencies:
            currency = self.currencies[cell]
        else:
            code = cell.strip().upper()
            currency = self.currencies[cell] = code if _CURRENCY.fullmatch(code) else None
        if currency is None:
            code = cell.strip().upper()
            problems.add(
                file,
                number,
                cols.currency,
                f"{code or 'empty'!r} is not a currency code like NOK",
                "every row needs its billing currency",
            )
        start = end = datetime(1970, 1, 1, tzinfo=UTC)
        if cols.end is not None:
            for column, i, target in (
                (cols.start, self.start, "start"),
                (cols.end, self.end, "end"),
            ):
                instant = self._instant(values[i])
                if isinstance(instant, ValueError):
                    problems.add(file, number, column, str(instant))
                    continue
                if target == "start":
                    start = instant
                else:
                    end = instant
            if end <= start and len(problems.items) + problems.dropped == before:
                problems.add(
                    file,
                    number,
                    cols.end,
                    f"ends ({end.isoformat()}) before it starts ({start.isoformat()})",
                    "ChargePeriodEnd is exclusive and must come after ChargePeriodStart",
                )
        else:
            day = self._day(values[self.start])
            if isinstance(day, ValueError):
                problems.add(
                    file, number, cols.start, str(day), "Azure writes the Date as MM/DD/YYYY"
                )
            else:
                start, end = day, day + _DAY
        tags: dict[str, str] = {}
        if self.tags >= 0:
            got = self._tags(values[self.tags])
            if isinstance(got, TagError):
                problems.add(
                    file,
                    number,
                    cols.tags or "Tags",
                    str(got),
                    'tags are written like "municipality": "andoy" (EA/MCA) or as a JSON object',
                )
            else:
                tags = got
        correction = self.charge_class >= 0 and values[self.charge_class].strip().lower() == (
            "correction"
        )
        billing_start = None
        if correction and self.billing_start >= 0:
            when = self._instant(values[self.billing_start])
            if isinstance(when, ValueError):
                problems.add(file, number, cols.billing_start or "", str(when))
            else:
                billing_start = when
        if len(problems.items) + problems.dropped != before:
            return None

        return CostRow(
            file=file,
            row=number,
            amount=amount,
            currency=currency or "",
            start=start,
            end=end,
            category=values[self.category].strip() if self.category >= 0 else "",
            resource_id=values[self.resource_id].strip() if self.resource_id >= 0 else "",
            resource_name=values[self.resource_name].strip() if self.resource_name >= 0 else "",
            resource_group=values[self.resource_group].strip() if self.resource_group >= 0 else "",
            description=values[self.description].strip() if self.description >= 0 else "",
            tags=tags,
            tags_column=cols.tags or "Tags",
            start_column=cols.start,
            end_column=cols.end or cols.start,
            currency_column=cols.currency,
            correction=correction,
            billing_start=billing_start,
        )


def read(paths: list[Path], basis: Basis = "billed") -> Export:
    """Every row of every file; InputError names file, row and column of each problem.

    The files are parts of one bill (Azure splits large exports into several files), so they
    must share one schema and one currency, and no file may be given twice: any of these
    would count a charge twice or add kroner to euros.
    """
    if not paths:
        raise InputError([Problem("(command line)", "EXPORT", "no export file given")])
    problems = _Problems()
    seen: dict[Path, Path] = {}
    for path in paths:
        real = path.resolve()
        if real in seen:
            problems.add(
                str(path), 0, "", f"given twice (also as {seen[real]}); it would count twice"
            )
        seen.setdefault(real, path)
    problems.raise_if_any()
    files: list[ExportFile] = []
    rows: list[CostRow] = []
    by_digest: dict[str, str] = {}
    by_identity: dict[str, tuple[str, int]] = {}
    for path in paths:
        got = read_file(path, basis, problems, identify=len(paths) > 1)
        files.append(got.info)
        rows.extend(got.rows)
        if not got.digest:
            continue  # not read; its problem is already listed
        if got.digest in by_digest:
            problems.add(
                str(path),
                0,
                "",
                f"has the same content as {by_digest[got.digest]} (a copy, or the same export "
                "compressed); it would count twice",
                "give each part of the export once",
            )
            continue
        by_digest.setdefault(got.digest, str(path))
        # Rows repeated inside one file are the export's own; the same row in two files is a
        # part given twice or two overlapping exports.
        here: dict[str, tuple[str, int]] = {}
        for identity, number in got.identities:
            seen_at = by_identity.get(identity)
            if seen_at is not None:
                problems.add(
                    str(path),
                    number,
                    "",
                    f"is the same charge as {seen_at[0]} row {seen_at[1]}; it would count twice",
                    "give the parts of one export only, each once",
                )
            here.setdefault(identity, (str(path), number))
        for identity, where in here.items():
            by_identity.setdefault(identity, where)
    known = [f for f in files if f.schema in (FOCUS, ACTUAL)]
    for f in known[1:]:
        if f.schema != known[0].schema:
            problems.add(
                f.path,
                1,
                "",
                f"is a {f.schema} export but {known[0].path} is {known[0].schema}; the same "
                "month in two schemas would be counted twice",
                "give the files of one export only",
            )
    if rows:
        first = rows[0]
        for r in rows:
            if r.currency != first.currency:
                problems.add(
                    r.file,
                    r.row,
                    r.currency_column,
                    f"currency {r.currency} differs from {first.currency} "
                    f"({first.file} row {first.row}); one bill has one currency",
                    "split each currency's rows into their own run; amounts are never converted",
                )
    problems.raise_if_any()
    return Export(files, rows)
