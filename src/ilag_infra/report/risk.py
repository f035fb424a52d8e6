"""A risk register in the shape of a municipal ROS analysis (risiko- og sårbarhetsanalyse):
per system and municipality, the threats that matter, each with likelihood, consequence,
the measures this platform provides and the risk left.

Likelihood starts from a stated baseline per threat and consequence from the system's
criticality; a measure lowers one of them only when a record or the code proves it, and
says its date. Where the platform has no evidence, the measure says so and lowers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ilag_infra.report.systems import YES, SystemStatus

# Baseline likelihood (1 rare … 5 expected) before any measure: the example's assumption, to
# be set by the municipality's own ROS work.
THREATS: dict[str, tuple[str, int]] = {
    "site": ("Tap av driftssted (brann, vann, strøm)", 2),
    "ransomware": ("Løsepengevirus", 3),
    "link": ("Brudd i forbindelsen til regionen", 3),
    "person": ("Tap av nøkkelperson", 3),
    "vendor": ("Leverandørsvikt", 2),
}
CONSEQUENCE = {"critical": 5, "high": 4, "medium": 3, "low": 2}
LEVELS = ((10, "høy"), (5, "middels"), (0, "lav"))


@dataclass(frozen=True)
class Evidence:
    text: str
    when: datetime | None  # None: the platform has no evidence for this measure
    source: str = ""

    @property
    def present(self) -> bool:
        return self.when is not None


@dataclass(frozen=True)
class Threat:
    key: str
    name: str
    likelihood: int
    consequence: int
    measures: tuple[Evidence, ...]
    residual_likelihood: int
    residual_consequence: int

    @property
    def inherent(self) -> str:
        return level(self.likelihood * self.consequence)

    @property
    def residual(self) -> str:
        return level(self.residual_likelihood * self.residual_consequence)


@dataclass(frozen=True)
class Platform:
    """What the platform knows about itself, from code, each with the date it was read."""

    immutability_days: int
    code_date: datetime | None  # the commit the code and region.yaml are at
    # slug → the SSH principals that may log in and restore (from the identity role)
    restore_principals: dict[str, list[str]]

    def who_restores(self, slug: str) -> str:
        found = self.restore_principals.get(slug)
        return ", ".join(found) if found else ""


def level(score: int) -> str:
    return next(name for floor, name in LEVELS if score >= floor)


def _less(value: int, steps: int) -> int:
    return max(1, value - steps)


def _source(row: SystemStatus, which: str) -> str:
    rec = {
        "backup": row.backup_record,
        "restore": row.restore_record,
        "drill": row.drill_record,
    }[which]
    return rec.path.name if rec else ""


def _backups(row: SystemStatus) -> Evidence:
    if row.placement.runs != "onsite":
        return Evidence(f"Kjører som {row.placement.runs}: plattformen tar ikke kopi", None)
    if row.backed_up == YES and row.backup_record:
        return Evidence(
            "Alle datastier er med i siste sikkerhetskopi",
            row.backup_record.time,
            _source(row, "backup"),
        )
    word = {"partly": "delvis", "no": "nei"}.get(row.backed_up, row.backed_up)
    return Evidence(f"Sikkerhetskopi: {word}; ingen bekreftet kopi av alle data", None)


def _drill(row: SystemStatus) -> Evidence:
    if row.drill_record is None or row.rto.measured is None:
        return Evidence("Ingen beredskapsøvelse med målt gjenopprettingstid", None)
    met = "innenfor" if row.rto.met else "utenfor"
    return Evidence(
        f"Øvelse: gjenopprettet på {row.rto.measured / 60:.0f} min, {met} målet "
        f"{row.system.rto_hours:g} t",
        row.drill_record.time,
        _source(row, "drill"),
    )


def _restore(row: SystemStatus) -> Evidence:
    if row.restore_verified is None:
        return Evidence("Ingen verifisert gjenoppretting", None)
    return Evidence("Gjenoppretting verifisert", row.restore_verified, _source(row, "restore"))


def threats(row: SystemStatus, platform: Platform) -> list[Threat]:
    consequence = CONSEQUENCE[row.system.criticality]
    onsite = row.placement.runs == "onsite"
    backups, drill, restore = _backups(row), _drill(row), _restore(row)
    drill_met = drill.present and row.rto.met is True
    worm = (
        Evidence(
            f"Uforanderlige kopier (WORM) i {platform.immutability_days} dager",
            platform.code_date,
            "stacks/Pulumi.backup.yaml",
        )
        if platform.immutability_days > 0
        else Evidence("WORM er ikke slått på (ilag:backupImmutabilityDays er 0)", None)
    )
    who = platform.who_restores(row.slug)
    access = (
        Evidence(
            f"Gjenoppretting med ilag restore, tillatt for sertifikatene {who}",
            platform.code_date,
            "roles/identity/defaults/main.yml",
        )
        if onsite and who
        else Evidence(
            "Plattformen har ingen evidens: leverandøren drifter systemet"
            if not onsite
            else "Ingen kjent tilgang til gjenoppretting",
            None,
        )
    )
    out: list[Threat] = []

    def add(key: str, measures: list[Evidence], less_l: int, less_c: int) -> None:
        name, base = THREATS[key]
        out.append(
            Threat(
                key, name, base, consequence, tuple(measures),
                _less(base, less_l), _less(consequence, less_c),
            )
        )  # fmt: skip

    add(
        "site",
        [backups, drill],
        0,
        (backups.present and onsite) + drill_met,
    )
    add("ransomware", [backups, worm, restore], 0, backups.present + worm.present)
    if onsite:
        link = Evidence("Systemet kjører lokalt og virker uten forbindelsen", None)
        add("link", [link, backups], 1, 0)
    else:
        add("link", [Evidence("Plattformen har ingen reserveforbindelse", None)], 0, 0)
    add("person", [access, restore], access.present + restore.present, 0)
    add(
        "vendor",
        [Evidence("Plattformen har ingen tiltak mot leverandørsvikt", None), backups],
        0,
        backups.present,
    )
    return out
