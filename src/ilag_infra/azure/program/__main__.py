"""Pulumi entry point (Pulumi.yaml `main: src/ilag_infra/azure/program`)."""

import sys
from pathlib import Path

try:
    from ilag_infra.azure.program import main
except ModuleNotFoundError:
    # Without the editable install (`make setup`), fall back to the source tree.
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from ilag_infra.azure.program import main

main()
