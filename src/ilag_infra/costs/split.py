"""The split: direct costs to their municipality, shared and untagged costs by the cost key.

All arithmetic is exact (Decimal amounts, Fraction shares). Only the final lines are rounded
to whole øre, by largest remainder, so the municipalities' totals add up to the export total
rounded to the øre, and each line's parts add up to that line's total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from ilag_infra.costs.exports import MAX_PROBLEMS, CostRow, Export, ExportFile
from ilag_infra.costs.money import apportion, round_ore, to_decimal
from ilag_infra.model import cost, naming
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.region import Region

# The services the stacks tag (naming.tags); always shown, in this order, even when zero.
SERVICES = ("network", "identity", "backup")
NO_SERVICE = "other"
MUNICIPALITY_TAG = "municipality"
SERVICE_TAG = "service"


@dataclass(frozen=True)
class Period:
    """A calendar month, start inclusive and end exclusive, in UTC as Azure bills."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        parts = text.strip().split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
            raise ValueError(f"{text!r} is not a month like 2026-10")
        year, month = int(parts[0]), int(parts[1])
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r}: month {month} is not 1-12")
        return cls(year, month)

    @classmethod
    def of(cls, when: datetime) -> Period:
        return cls(when.year, when.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        if self.month == 12:
            return datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return datetime(self.year, self.month + 1, 1, tzinfo=UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Line:
    """One municipality's invoice line; direct + shared = total = the sum of by_service."""

    slug: str
    name: str
    kommunenummer: str
    share: Fraction
    direct: Decimal
    shared: Decimal
    total: Decimal
    by_service: dict[str, Decimal]


@dataclass(frozen=True)
class Listed:
    """A resource listed apart (untagged, or a credit), with the rows it came from."""

    resource: str
    resource_group: str
    amount: Decimal  # exact, not rounded
    rows: list[str]
    category: str = ""
    charged_to: str = ""


@dataclass
class CostSplit:
    period: Period
    currency: str
    basis: str
    key_method: str
    key_equal_share: Fraction | None
    key_description: str
    exact_total: Decimal
    total: Decimal
    direct_total: Decimal  # exact sums, for the summary
    shared_total: Decimal
    untagged_total: Decimal
    lines: list[Line]
    services: list[str]
    untagged: list[Listed] = field(default_factory=list)
    credits: list[Listed] = field(default_factory=list)
    sources: list[ExportFile] = field(default_factory=list)


def _resolver(region: Region) -> dict[str, str]:
    """Tag value → slug: the slug, the display name or the kommunenummer, any case."""
    names: dict[str, str] = {}
    for m in region.municipalities:
        for alias in (m.slug, m.name, m.kommunenummer):
            names[alias.strip().lower()] = m.slug
    return names


def owner_of(row: CostRow, names: dict[str, str]) -> str | None:
    """The slug, "shared", "" when untagged, or None for a value naming no municipality."""
    value = row.tags.get(MUNICIPALITY_TAG, "").strip()
    if not value:
        return ""
    if value.lower() == naming.SHARED:
        return naming.SHARED
    return names.get(value.lower())


def service_of(row: CostRow) -> str:
    value = row.tags.get(SERVICE_TAG, "").strip().lower()
    return value or NO_SERVICE


def _ref(row: CostRow) -> str:
    return f"{row.file} row {row.row}"


def check_period(rows: list[CostRow], period: Period | None) -> Period:
    """The month every row falls in (start inclusive, end exclusive); InputError otherwise."""
    if period is None:
        # Corrections run in an earlier month; the bill's month is that of the other rows.
        usual = [r.start for r in rows if not r.correction]
        period = Period.of(min(usual or [r.billing_start or r.start for r in rows]))
        given = False
    else:
        given = True
    problems: list[Problem] = []
    outside = 0
    months = ""  # the months the rows fall in, said when the month was not given
    first, end = period.start, period.end
    for r in rows:
        if r.start >= first and r.end <= end:
            continue
        if r.correction and r.billing_start and first <= r.billing_start < end:
            continue  # billed this month, for an earlier one
        outside += 1
        if not given and not months:
            months = ", ".join(sorted({f"{r.start.year:04d}-{r.start.month:02d}" for r in rows}))
        if len(problems) < MAX_PROBLEMS:
            column = r.start_column if r.start < first else r.end_column
            problems.append(
                Problem(
                    r.file,
                    f"row {r.row}, column {column}",
                    f"charge from {r.start:%Y-%m-%d %H:%M} to {r.end:%Y-%m-%d %H:%M} (end "
                    f"exclusive) lies outside {period}"
                    + ("" if given else f" (the month of the earliest row; the file has {months})"),
                    "export exactly one month, and pass it as --period YYYY-MM",
                )
            )
    if outside > len(problems):
        problems.append(
            Problem(problems[-1].file, "more", f"{outside - len(problems)} further row(s) outside")
        )
    if problems:
        raise InputError(problems)
    return period


def split(
    export: Export, region: Region, period: Period | None = None, basis: str = "billed"
) -> CostSplit:
    """One line per municipality for the month; InputError for rows that cannot be placed."""
    rows = export.rows
    period = check_period(rows, period)
    names = _resolver(region)
    slugs = region.slugs
    shares = cost.exact_shares(region)

    direct: dict[str, dict[str, Decimal]] = {s: defaultdict(Decimal) for s in slugs}
    pooled: dict[str, Decimal] = defaultdict(Decimal)  # shared + untagged, by service
    shared_total = untagged_total = Decimal(0)
    untagged: dict[tuple[str, str], list[CostRow]] = defaultdict(list)
    credits: list[tuple[CostRow, str]] = []
    problems: list[Problem] = []
    known = ", ".join(slugs)
    for r in rows:
        owner = owner_of(r, names)
        if owner is None:
            if len(problems) < MAX_PROBLEMS:
                problems.append(
                    Problem(
                        r.file,
                        f"row {r.row}, column {r.tags_column}",
                        f"municipality tag {r.tags[MUNICIPALITY_TAG]!r} names no municipality "
                        f"in region.yaml (known: {known}, or {naming.SHARED})",
                        f"fix the tag on {r.resource}",
                    )
                )
            continue
        service = service_of(r)
        if owner in direct:
            direct[owner][service] += r.amount
        else:
            pooled[service] += r.amount
            if owner == naming.SHARED:
                shared_total += r.amount
            else:
                untagged_total += r.amount
                untagged[(r.resource, r.resource_group)].append(r)
        if r.amount < 0:
            credits.append((r, owner or "untagged"))
    if problems:
        raise InputError(problems)

    services = list(SERVICES)
    seen = {s for d in direct.values() for s in d} | set(pooled)
    services += sorted(s for s in seen if s not in SERVICES and s != NO_SERVICE)
    if NO_SERVICE in seen:
        services.append(NO_SERVICE)

    # Exact amounts per municipality and service, then one rounding step per level.
    exact: dict[str, dict[str, Fraction]] = {
        s: {
            svc: Fraction(direct[s].get(svc, Decimal(0))) + shares[s] * Fraction(pooled[svc])
            for svc in services
        }
        for s in slugs
    }
    exact_total = sum((r.amount for r in rows), Decimal(0))
    total_ore = round_ore(exact_total)
    line_ore = apportion([sum(exact[s].values(), Fraction(0)) for s in slugs], total_ore)

    lines: list[Line] = []
    for s, ore in zip(slugs, line_ore, strict=True):
        m = region.municipality(s)
        d_exact = Fraction(sum(direct[s].values(), Decimal(0)))
        sh_exact = shares[s] * Fraction(sum(pooled.values(), Decimal(0)))
        d_ore, sh_ore = apportion([d_exact, sh_exact], ore)
        svc_ore = apportion([exact[s][svc] for svc in services], ore)
        lines.append(
            Line(
                slug=s,
                name=m.name,
                kommunenummer=m.kommunenummer,
                share=shares[s],
                direct=to_decimal(d_ore),
                shared=to_decimal(sh_ore),
                total=to_decimal(ore),
                by_service={svc: to_decimal(v) for svc, v in zip(services, svc_ore, strict=True)},
            )
        )

    key = region.cost_key
    equal = None
    if key.method == "weighted":
        equal = Fraction(Decimal(repr(key.equal_share or 0.0)))
    return CostSplit(
        period=period,
        currency=export.currency,
        basis=basis,
        key_method=key.method,
        key_equal_share=equal,
        key_description=cost.describe(region),
        exact_total=exact_total,
        total=to_decimal(total_ore),
        direct_total=sum((sum(d.values(), Decimal(0)) for d in direct.values()), Decimal(0)),
        shared_total=shared_total,
        untagged_total=untagged_total,
        lines=lines,
        services=services,
        untagged=[
            Listed(res, group, sum((r.amount for r in rs), Decimal(0)), [_ref(r) for r in rs])
            for (res, group), rs in sorted(untagged.items())
        ],
        credits=[
            Listed(r.resource, r.resource_group, r.amount, [_ref(r)], r.category, owner)
            for r, owner in credits
        ],
        sources=export.files,
    )
