"""Options that several commands share, spelled the same everywhere.

--env has no -e short form: Ansible users read -e as extra vars. ILAG_ENV sets it everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ENV_HELP = (
    "lab: the local lab (default, safe). prod: the municipalities' real servers, "
    "with outputs from `pulumi stack output`. Env: ILAG_ENV."
)

EnvOption = Annotated[str, typer.Option("--env", envvar="ILAG_ENV", help=ENV_HELP)]
OutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--outputs",
        envvar="ILAG_OUTPUTS",
        help="Read stack outputs from this JSON file instead (shape: docs/interfaces.md).",
    ),
]
SuffixOption = Annotated[
    str | None,
    typer.Option("--stack-suffix", help="Stack name suffix in prod, e.g. 'prod' for network-prod."),
]
RegionOption = Annotated[
    Path | None,
    typer.Option(
        "--region",
        "-r",
        help="Path to region.yaml (default: the repository's); inventories/ is read beside it.",
        envvar="ILAG_REGION",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON with stable keys (docs/interfaces.md).")
]
Municipalities = Annotated[
    list[str] | None,
    typer.Argument(metavar="KOMMUNE", help="Municipality slugs, e.g. andoy sortland."),
]
AllOption = Annotated[bool, typer.Option("--all", help="Every municipality.")]
LimitOption = Annotated[
    str | None,
    typer.Option("--limit", "-l", help="Only these hosts or groups (Ansible pattern)."),
]
