"""The month's cost per municipality for the page: from `ilag costs --format json`, or an export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ilag_infra.costs import exports, render, split
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


def _money(value: object, where: str, path: Path) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InputError(
            [Problem(str(path), where, f"{value!r} is not an amount", "write it with ilag costs")]
        ) from None


def from_json(path: Path) -> CostView:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            [Problem(str(path), "file", f"not readable JSON: {exc}", "write it with ilag costs")]
        ) from None
    if not isinstance(data, dict) or data.get("format") != render.JSON_FORMAT:
        raise InputError(
            [
                Problem(
                    str(path),
                    "format",
                    f"not a cost split ({render.JSON_FORMAT})",
                    "write it with: ilag costs EXPORT --format json > costs.json",
                )
            ]
        )
    lines = {}
    for i, line in enumerate(data.get("lines", [])):
        where = f"lines[{i}]"
        lines[str(line.get("municipality"))] = CostLine(
            _money(line.get("direct"), where, path),
            _money(line.get("shared"), where, path),
            _money(line.get("total"), where, path),
        )
    return CostView(
        period=str(data.get("period", "")),
        currency=str(data.get("currency", "")),
        key_description=str(data.get("key", {}).get("description", "")),
        total=_money(data.get("total"), "total", path),
        lines=lines,
        untagged_total=_money(data.get("untagged_total", "0"), "untagged_total", path),
        sources=[str(s.get("file")) for s in data.get("sources", []) if isinstance(s, dict)],
        source_time=datetime.fromtimestamp(path.stat().st_mtime, UTC),
    )


def from_exports(paths: list[Path], region: Region, period: str | None) -> CostView:
    month = split.Period.parse(period) if period else None
    result = split.split(exports.read(paths), region, month)
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


def load(paths: list[Path], region: Region, period: str | None = None) -> CostView:
    """A JSON split if the one file given is one, else the files are read as exports."""
    if len(paths) == 1 and paths[0].is_file():
        with paths[0].open("rb") as fh:
            head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"{"):  # no export starts so: CSV starts with a header, gzip with 1f8b
            return from_json(paths[0])
    return from_exports(paths, region, period)
