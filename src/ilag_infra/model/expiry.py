"""Warnings before a credential runs out: the site SAS of each backup stack.

Every site's backup SAS ends at `ilag:sasExpiry` (stacks/Pulumi.backup*.yaml). When that
date is nearer than `ilag:expiryWarningDays` (default 60), `ilag validate` says so, naming
the file, the key and the fix, long before the servers' backups start to fail with 403.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ilag_infra.model import yamlsource
from ilag_infra.model.errors import Problem
from ilag_infra.model.yamlsource import line_of

DEFAULT_WARNING_DAYS = 60
SAS_KEY = "ilag:sasExpiry"
DAYS_KEY = "ilag:expiryWarningDays"


def _days(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 365:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and 1 <= int(value) <= 365:
        return int(value)
    return DEFAULT_WARNING_DAYS  # a bad value is the settings reader's to refuse


def warnings(root: Path, now: datetime | None = None) -> list[Problem]:
    """One warning per backup stack whose site SAS end within its warning window."""
    when = now or datetime.now(UTC)
    out = []
    for path in sorted(root.glob("stacks/Pulumi.backup*.yaml")):
        try:
            data, lines = yamlsource.load(path)
        except yamlsource.YamlSourceError:
            continue  # unreadable: validate and plan name it
        config = data.get("config") if isinstance(data, dict) else None
        if not isinstance(config, dict) or not isinstance(config.get(SAS_KEY), str):
            continue
        try:
            end = datetime.strptime(config[SAS_KEY], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            continue  # the settings reader refuses it with its fix
        left = (end - when).days
        warn = _days(config.get(DAYS_KEY))
        if left >= warn:
            continue
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        what = (
            f"the site SAS ran out on {end:%Y-%m-%d}: every backup fails with 403"
            if end <= when
            else f"the site SAS run out on {end:%Y-%m-%d}, in {left} day(s) "
            f"(warning from {warn} days)"
        )
        out.append(
            Problem(
                str(path.relative_to(root)),
                SAS_KEY,
                what,
                f"pulumi config set {SAS_KEY} <a later date> -s {stack}; pulumi up -s {stack}; "
                "then ilag apply --all hands the servers the new SAS",
                line_of(lines, ("config", SAS_KEY)),
            )
        )
    return out
