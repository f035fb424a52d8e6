"""The split for people (table, Markdown) and for accounting systems (CSV, JSON).

CSV and JSON carry amounts as plain decimal text with a point and two decimals ("1234.50"):
JSON numbers are binary floats in most readers, and money must not pass through a float.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rich.table import Table

from ilag_infra.costs.split import CostSplit, Listed
from ilag_infra.model.shown import controls_escaped, shown

JSON_FORMAT = "ilag-costs/1"
FORMATS = ("table", "csv", "json", "markdown")


def human(amount: Decimal) -> str:
    """12 345.67: thin groups of three, so a column of kroner reads at a glance."""
    return f"{amount:,.2f}".replace(",", " ")


def percent(share: Fraction) -> str:
    return f"{float(share) * 100:.2f} %"


def _share_text(share: Fraction) -> str:
    """A share as a decimal with 10 places; the exact fraction is in the JSON too."""
    return f"{Decimal(share.numerator) / Decimal(share.denominator):.10f}"


def csv_text(s: CostSplit) -> str:
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "period",
            "currency",
            "municipality",
            "kommunenummer",
            "name",
            "share",
            "direct",
            "shared",
            "total",
            *s.services,
        ]
    )
    for line in s.lines:
        w.writerow(
            [
                str(s.period),
                s.currency,
                line.slug,
                line.kommunenummer,
                line.name,
                _share_text(line.share),
                str(line.direct),
                str(line.shared),
                str(line.total),
                *(str(line.by_service[svc]) for svc in s.services),
            ]
        )
    return out.getvalue()


def _listed(items: list[Listed]) -> list[dict[str, Any]]:
    return [
        {
            "resource": i.resource,
            "resource_group": i.resource_group,
            "amount": str(i.amount),
            "category": i.category,
            "charged_to": i.charged_to,
            "rows": i.rows,
        }
        for i in items
    ]


def json_data(s: CostSplit) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "period": str(s.period),
        "currency": s.currency,
        "basis": s.basis,
        "key": {
            "method": s.key_method,
            "equal_share": str(s.key_equal_share) if s.key_equal_share is not None else None,
            "description": s.key_description,
        },
        "total": str(s.total),
        "exact_total": str(s.exact_total),
        "direct_total": str(s.direct_total),
        "shared_total": str(s.shared_total),
        "untagged_total": str(s.untagged_total),
        "services": s.services,
        "lines": [
            {
                "municipality": line.slug,
                "kommunenummer": line.kommunenummer,
                "name": line.name,
                "share": _share_text(line.share),
                "share_exact": f"{line.share.numerator}/{line.share.denominator}",
                "direct": str(line.direct),
                "shared": str(line.shared),
                "total": str(line.total),
                "by_service": {k: str(v) for k, v in line.by_service.items()},
            }
            for line in s.lines
        ],
        "untagged": _listed(s.untagged),
        "credits": _listed(s.credits),
        "sources": [
            {
                "file": f.path,
                "schema": f.schema,
                "rows": f.rows,
                "cost_column": f.cost_column,
                "compressed": f.compressed,
            }
            for f in s.sources
        ],
    }


def json_text(s: CostSplit) -> str:
    return json.dumps(json_data(s), indent=2, ensure_ascii=False) + "\n"


def _sum(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def table(s: CostSplit) -> Table:
    """The split as a rich table. Every word from an export (currency, service tag) or from
    region.yaml is escaped: a tag value like `[/x]` is text, not rich markup."""
    t = Table(
        title=shown(
            f"Costs {s.period} ({s.currency}, {s.basis} cost), shared split: {s.key_description}"
        )
    )
    for col in ("Municipality", "Share", "Direct", "Shared", "Total", *s.services):
        t.add_column(shown(col), justify="left" if col == "Municipality" else "right")
    for line in s.lines:
        t.add_row(
            shown(line.name),
            percent(line.share),
            human(line.direct),
            human(line.shared),
            human(line.total),
            *(human(line.by_service[svc]) for svc in s.services),
        )
    t.add_section()
    t.add_row(
        "Sum",
        "100.00 %",
        human(_sum([x.direct for x in s.lines])),
        human(_sum([x.shared for x in s.lines])),
        human(_sum([x.total for x in s.lines])),
        *(human(_sum([x.by_service[svc] for x in s.lines])) for svc in s.services),
        style="bold",
    )
    return t


def notes(s: CostSplit) -> list[str]:
    """What a reader must know beside the lines: sources, untagged resources, credits."""
    out = [
        f"Export total {s.exact_total} {s.currency} (exact) = {human(s.total)} "
        f"{s.currency} to the øre; the lines above add up to it.",
        "Sources: "
        + "; ".join(f"{f.path} ({f.schema}, {f.rows} rows, {f.cost_column})" for f in s.sources),
    ]
    if s.untagged:
        out.append(
            f"Untagged: {human(s.untagged_total)} {s.currency} from {len(s.untagged)} "
            "resource(s) without a municipality tag, charged as shared. Tag them:"
        )
        out += [
            f"  {human(u.amount)}  {u.resource}  ({len(u.rows)} row(s), first {u.rows[0]})"
            for u in s.untagged
        ]
    if s.credits:
        out.append(
            f"Credits and refunds kept in the split ({len(s.credits)} row(s), "
            f"{human(_sum([c.amount for c in s.credits]))} {s.currency}):"
        )
        out += [
            f"  {human(c.amount)}  {c.category or 'charge'}  {c.resource}  "
            f"→ {c.charged_to}  ({c.rows[0]})"
            for c in s.credits
        ]
    return out


def markdown(s: CostSplit) -> str:
    head = ["Municipality", "Share", "Direct", "Shared", "Total", *s.services]
    rows = [
        [
            f"{x.name} ({x.kommunenummer})",
            percent(x.share),
            human(x.direct),
            human(x.shared),
            human(x.total),
            *(human(x.by_service[svc]) for svc in s.services),
        ]
        for x in s.lines
    ]
    rows.append(
        [
            "**Sum**",
            "100.00 %",
            human(_sum([x.direct for x in s.lines])),
            human(_sum([x.shared for x in s.lines])),
            f"**{human(s.total)}**",
            *(human(_sum([x.by_service[svc] for x in s.lines])) for svc in s.services),
        ]
    )
    lines = [
        f"## Costs {s.period} ({s.currency})",
        "",
        f"Shared costs: {s.key_description}; {s.basis} cost.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]
    lines += [f"- {n}" if not n.startswith("  ") else f"  - {n.strip()}" for n in notes(s)]
    # Names and tags from the export are text: no control character reaches a terminal.
    return controls_escaped("\n".join(lines) + "\n", keep="\n")
