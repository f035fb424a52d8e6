"""Alerts after a check: each record the check wrote goes through `onsite/alerts.notify`.

The settings are read before the check runs, so a bad ILAG_ALERT_* value refuses at once
(exit 2) instead of after a long run. Without settings, nothing is sent and nothing said:
an operator's laptop has no channels, a node has them in its environment file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from ilag_infra.model.shown import shown

if TYPE_CHECKING:
    from ilag_infra.onsite.alert_settings import AlertSettings


def settings() -> AlertSettings:
    """The alert settings of this process; InputError (exit 2) when one is bad."""
    from ilag_infra.onsite import alert_settings

    return alert_settings.from_env()


def after_check(
    repo_root: Path, records: Iterable[Path], chosen: AlertSettings, out: Console
) -> bool:
    """Alert on every record; False when a configured channel did not take a message."""
    from ilag_infra.onsite import alerts

    if not chosen.channels:
        return True
    ok = True
    for path in records:
        outcome = alerts.notify_file(repo_root, path, chosen)
        for line in outcome.lines():
            out.print(f"[yellow]{shown(line)}[/]", highlight=False)
        ok = ok and outcome.ok
    return ok
