"""The month's cost per municipality for the page: from `ilag costs --format json`, or an export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ilag_infra.costs import exports, render, split
from ilag_infra.costs.split import Period
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.region import Region


@dataclass(frozen=True)
class CostLine:
    direct: Decimal
    shared: Decimal
    total: Decimal


@dataclass(frozen=True)
class CostView:
    period: str
    currency: str
    key_description: str
    total: Decimal
    lines: dict[str, CostLine]
    untagged_total: Decimal
    sources: list[str]
    source_time: datetime


_FIX = "write it again with: ilag costs EXPORT --format json > costs.json"


def _bad(path: Path, key: str, message: str, fix: str = _FIX) -> InputError:
    return InputError([Problem(str(path), key, message, fix)])


def _money(value: object, where: str, path: Path) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad(path, where, f"{value!r} is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _bad(path, where, f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise _bad(path, where, f"{value!r} is not an amount")
    return amount


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def from_json(path: Path, region: Region, period: Period | None = None) -> CostView:
    """A cost split as `ilag costs --format json` writes it; every field checked for its type,
    every municipality against region.yaml, so a hand-edited file cannot put a wrong or
    missing line on the council's page."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, "file", f"not readable JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != render.JSON_FORMAT:
        raise _bad(path, "format", f"not a cost split ({render.JSON_FORMAT})")
    raw_period = data.get("period")
    if not isinstance(raw_period, str):
        raise _bad(path, "period", f"is {_kind(raw_period)}, not a month like 2026-10")
    try:
        own = Period.parse(raw_period)
    except ValueError as exc:
        raise _bad(path, "period", str(exc)) from None
    if period is not None and period != own:
        raise InputError(
            [
                Problem(
                    str(path),
                    "period",
                    f"the file is the split of {own}, but --period says {period}",
                    f"drop --period, or give the split of {period} "
                    "(ilag costs EXPORT --period ... --format json)",
                )
            ]
        )
    for key, want in (("lines", list), ("key", dict), ("sources", list)):
        if not isinstance(data.get(key), want):
            raise _bad(
                path, key, f"is {_kind(data.get(key))}, not a {'list' if want is list else 'map'}"
            )
    known = {m.slug for m in region.municipalities}
    lines: dict[str, CostLine] = {}
    for i, line in enumerate(data["lines"]):
        where = f"lines[{i}]"
        if not isinstance(line, dict):
            raise _bad(path, where, f"is {_kind(line)}, not a map")
        slug = line.get("municipality")
        if not isinstance(slug, str) or slug not in known:
            raise _bad(
                path,
                f"{where}.municipality",
                f"{slug!r} is no municipality in region.yaml",
                f"use one of: {', '.join(sorted(known))}; or " + _FIX,
            )
        if slug in lines:
            raise _bad(path, f"{where}.municipality", f"{slug!r} has a second line")
        lines[slug] = CostLine(
            _money(line.get("direct"), f"{where}.direct", path),
            _money(line.get("shared"), f"{where}.shared", path),
            _money(line.get("total"), f"{where}.total", path),
        )
    description = data["key"].get("description", "")
    if not isinstance(description, str):
        raise _bad(path, "key.description", f"is {_kind(description)}, not text")
    currency = data.get("currency")
    if not isinstance(currency, str) or not currency:
        raise _bad(path, "currency", f"is {_kind(currency)}, not a currency code like NOK")
    sources = []
    for i, src in enumerate(data["sources"]):
        if not isinstance(src, dict) or not isinstance(src.get("file"), str):
            raise _bad(path, f"sources[{i}]", "is not a map with a file name")
        sources.append(src["file"])
    return CostView(
        period=str(own),
        currency=currency,
        key_description=description,
        total=_money(data.get("total"), "total", path),
        lines=lines,
        untagged_total=_money(data.get("untagged_total", "0"), "untagged_total", path),
        sources=sources,
        source_time=datetime.fromtimestamp(path.stat().st_mtime, UTC),
    )


def from_exports(paths: list[Path], region: Region, period: Period | None) -> CostView:
    result = split.split(exports.read(paths), region, period)
    return CostView(
        period=str(result.period),
        currency=result.currency,
        key_description=result.key_description,
        total=result.total,
        lines={x.slug: CostLine(x.direct, x.shared, x.total) for x in result.lines},
        untagged_total=result.untagged_total,
        sources=[f.path for f in result.sources],
        source_time=max(datetime.fromtimestamp(p.stat().st_mtime, UTC) for p in paths),
    )


def load(paths: list[Path], region: Region, period: Period | None = None) -> CostView:
    """A JSON split if the one file given is one, else the files are read as exports.

    With a JSON split, --period must name its month (the split is already made)."""
    if len(paths) == 1 and paths[0].is_file():
        with paths[0].open("rb") as fh:
            head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"{"):  # no export starts so: CSV starts with a header, gzip with 1f8b
            return from_json(paths[0], region, period)
    return from_exports(paths, region, period)
