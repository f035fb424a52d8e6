"""Warnings before a credential runs out or gets old: one set of rules for `ilag validate`,
`ilag preflight` and the report.

- the site SAS of each backup stack ends at `ilag:sasExpiry`;
- each trusted SSH user CA key (identity stack) gets old `ilag:sshUserCaMaxAgeDays` after the
  day `ilag:sshUserCaCreated` gives it; a key without a day is named as such;
- a node's SSH certificate ends at its `Valid: ... to` time (preflight reads it on the node).

A warning starts `ilag:expiryWarningDays` (default 60) days ahead: the setting of the stack
that holds the credential (backup: the SAS; identity: the CA keys and the node certificates
they sign). Each warning names the file, the key, what runs out when, and the fix, long
before backups fail with 403 or a node can no longer reach its servers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ilag_infra.model import ca_age, yamlsource
from ilag_infra.model.errors import Problem
from ilag_infra.model.yamlsource import line_of

DEFAULT_WARNING_DAYS = 60
WARNING_RANGE = (1, 365)
SAS_KEY = "ilag:sasExpiry"
DAYS_KEY = "ilag:expiryWarningDays"
SAS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# What runs out or gets old; the report words each kind in its own language.
SAS = "sas"
CA_KEY = "ca-key"
CA_UNDATED = "ca-key-undated"
NODE_CERT = "node-cert"


@dataclass(frozen=True)
class Due:
    """One credential inside its warning window (or past it, or without a date)."""

    kind: str
    subject: str  # which one, in plain words: the stack, the CA key, the host
    file: str
    key: str
    at: datetime | None  # when it runs out or reaches its max age; None: no date known
    left_days: int | None
    expired: bool
    window: int
    fix: str
    line: int | None = None
    max_age_days: int | None = None  # CA keys: the age they are rotated at

    @property
    def day(self) -> str:
        return f"{self.at:%Y-%m-%d}" if self.at else "?"

    def message(self) -> str:
        """The English text of `ilag validate` and `ilag preflight`."""
        soon = f"in {self.left_days} day(s) (warning from {self.window} days)"
        if self.kind == SAS:
            return (
                f"the site SAS ran out on {self.day}: every backup fails with 403"
                if self.expired
                else f"the site SAS run out on {self.day}, {soon}"
            )
        if self.kind == CA_UNDATED:
            return (
                f"SSH user CA key {self.subject} has no date in {ca_age.CREATED_KEY}: its age "
                "is unknown, so nothing warns before it gets old"
            )
        if self.kind == CA_KEY:
            return (
                f"SSH user CA key {self.subject} reached its maximum age of "
                f"{self.max_age_days} days on {self.day}: rotate it"
                if self.expired
                else f"SSH user CA key {self.subject} reaches its maximum age of "
                f"{self.max_age_days} days on {self.day}, {soon}"
            )
        return (
            f"the node certificate of {self.subject} ran out on {self.day}: the node's checks "
            "can no longer log in to its servers"
            if self.expired
            else f"the node certificate of {self.subject} runs out on {self.day}, {soon}"
        )

    def problem(self) -> Problem:
        return Problem(self.file, self.key, self.message(), self.fix, self.line)


def window(value: object) -> int:
    """The warning window in days (the default when unset; `settings_problems` refuses a bad
    value)."""
    return ca_age.whole(value, *WARNING_RANGE) or DEFAULT_WARNING_DAYS


def judge(
    kind: str,
    subject: str,
    file: str,
    key: str,
    at: datetime,
    days: int,
    now: datetime,
    fix: str,
    line: int | None = None,
    max_age_days: int | None = None,
) -> Due | None:
    """The rule itself: warn when `at` is nearer than `days` days; past it, say so."""
    left = (at - now).days
    if left >= days:
        return None
    return Due(kind, subject, file, key, at, left, at <= now, days, fix, line, max_age_days)


def _stacks(root: Path, kind: str) -> list[tuple[Path, str, dict[str, Any], Any]]:
    """(path, stack name, config, key lines) of every readable stack file of one kind."""
    out = []
    for path in sorted(root.glob(f"stacks/Pulumi.{kind}*.yaml")):
        try:
            data, lines = yamlsource.load(path)
        except yamlsource.YamlSourceError:
            continue  # unreadable: validate and plan name it
        config = data.get("config") if isinstance(data, dict) else None
        if isinstance(config, dict):
            stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
            out.append((path, stack, config, lines))
    return out


def sas(root: Path, now: datetime) -> list[Due]:
    """The site SAS of each backup stack, inside its window."""
    out = []
    for path, stack, config, lines in _stacks(root, "backup"):
        try:
            end = datetime.strptime(str(config.get(SAS_KEY)), SAS_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            continue  # unset or bad: settings_problems and the settings reader refuse it
        found = judge(
            SAS,
            stack,
            str(path.relative_to(root)),
            SAS_KEY,
            end,
            window(config.get(DAYS_KEY)),
            now,
            f"pulumi config set {SAS_KEY} <a later date> -s {stack}; pulumi up -s {stack}; "
            "then ilag apply --all hands the servers the new SAS",
            line_of(lines, ("config", SAS_KEY)),
        )
        if found:
            out.append(found)
    return out


def rotate_fix(stack: str) -> str:
    return (
        f"rotate the CA (docs/operators.md, 'Rotating the CA'): make a new key pair offline, add "
        f"its public key as a line of {ca_age.PUBLIC_KEY} and its day to {ca_age.CREATED_KEY}, "
        f"then pulumi up -s {stack}; ilag apply --all"
    )


def ca_keys(root: Path, now: datetime) -> list[Due]:
    """Each trusted SSH user CA key of each identity stack near or past its max age, or
    without a date."""
    out = []
    for path, stack, config, lines in _stacks(root, "identity"):
        rel = str(path.relative_to(root))
        days = window(config.get(DAYS_KEY))
        oldest = ca_age.max_age(config.get(ca_age.MAX_AGE_KEY))
        made = ca_age.created(config.get(ca_age.CREATED_KEY))
        for key in ca_age.trusted(config.get(ca_age.PUBLIC_KEY)):
            day = made.get(key.fingerprint)
            if day is None:
                out.append(
                    Due(
                        CA_UNDATED,
                        key.name,
                        rel,
                        ca_age.CREATED_KEY,
                        None,
                        None,
                        False,
                        days,
                        f"pulumi config set --path '{ca_age.CREATED_KEY}[\"{key.fingerprint}\"]' "
                        f"YYYY-MM-DD -s {stack} (the day the key pair was made)",
                        line_of(lines, ("config", ca_age.PUBLIC_KEY)),
                    )
                )
                continue
            found = ca_key(key.name, rel, day, oldest, days, now, rotate_fix(stack))
            if found:
                out.append(replace(found, line=line_of(lines, ("config", ca_age.CREATED_KEY))))
    return out


def ca_key(
    name: str, file: str, made: dt.date, max_age_days: int, days: int, now: datetime, fix: str
) -> Due | None:
    """One CA key made on `made`: due when its max age is nearer than `days` days."""
    old_at = datetime.combine(made, dt.time(), UTC) + dt.timedelta(days=max_age_days)
    return judge(
        CA_KEY,
        name,
        file,
        ca_age.CREATED_KEY,
        old_at,
        days,
        now,
        fix,
        max_age_days=max_age_days,
    )


def node_certificate(
    host: str, file: str, principal: str, valid_to: datetime, days: int, now: datetime, fix: str
) -> Due | None:
    """A node's SSH certificate (principal `<slug>-node`), due when it ends within `days`."""
    return judge(NODE_CERT, host, file, principal, valid_to, days, now, fix)


def stack_config(root: Path, kind: str, suffix: str | None = None) -> dict[str, Any]:
    """The config of `stacks/Pulumi.<kind>[-suffix].yaml`; empty (defaults) without it."""
    name = f"{kind}-{suffix}" if suffix else kind
    for _, stack, config, _ in _stacks(root, kind):
        if stack == name:
            return config
    return {}


def ca_file(
    path: Path, root: Path, now: datetime, fix: str, suffix: str | None = None
) -> Due | None:
    """A CA key kept as a file (the lab's): made when the file was written, old and warned
    about as the identity stack's settings say."""
    config = stack_config(root, "identity", suffix)
    made = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
    found = ca_key(
        str(path),
        str(path),
        made,
        ca_age.max_age(config.get(ca_age.MAX_AGE_KEY)),
        window(config.get(DAYS_KEY)),
        now,
        fix,
    )
    return replace(found, key="(the file's date)") if found else None


def due(root: Path, now: datetime | None = None) -> list[Due]:
    """Everything the stack files say runs out or gets old soon."""
    when = now or datetime.now(UTC)
    return sas(root, when) + ca_keys(root, when)


def warnings(root: Path, now: datetime | None = None) -> list[Problem]:
    """`ilag validate`'s warnings: one per credential inside its window."""
    return [d.problem() for d in due(root, now)]


def settings_problems(root: Path) -> list[Problem]:
    """The expiry settings of every stack file that the warnings could not read: the same
    checks as the settings reader, so `ilag validate` refuses them too (exit 2)."""
    out = []
    for kind in ("backup", "identity"):
        for path, _, config, lines in _stacks(root, kind):
            rel = str(path.relative_to(root))
            bad: list[ca_age.Bad] = []
            days = config.get(DAYS_KEY)
            if days not in (None, "") and ca_age.whole(days, *WARNING_RANGE) is None:
                bad.append(
                    ca_age.Bad(
                        DAYS_KEY,
                        f"{days!r} is not a whole number of days in "
                        f"{WARNING_RANGE[0]}-{WARNING_RANGE[1]}",
                        f"write how many days ahead to warn, e.g. {DEFAULT_WARNING_DAYS}",
                    )
                )
            if kind == "backup" and SAS_KEY in config:
                try:
                    datetime.strptime(str(config[SAS_KEY]), SAS_FORMAT)
                except ValueError:
                    bad.append(
                        ca_age.Bad(
                            SAS_KEY,
                            f"{config[SAS_KEY]!r} is not a UTC time like 2027-01-31T00:00:00Z",
                            "write it as YYYY-MM-DDTHH:MM:SSZ",
                        )
                    )
            if kind == "identity":
                bad += ca_age.problems(
                    config.get(ca_age.CREATED_KEY),
                    config.get(ca_age.MAX_AGE_KEY),
                )
            out += [
                Problem(rel, b.key, b.message, b.fix, line_of(lines, ("config", b.key)))
                for b in bad
            ]
    return out
