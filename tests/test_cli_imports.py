"""A command imports what it needs: the everyday ones do not wait on the SDKs of others.

Measured in a fresh interpreter, since this test process has imported everything already.
The time itself is bench/cli.py's to measure; this checks the cause.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Libraries that only some commands use, and that take long to import.
HEAVY = [
    "pulumi",
    "pulumi_azure_native",
    "ansible",
    "ansible_runner",
    "paramiko",
    "azure.storage.blob",
    "jinja2",
    "ilag_infra.lab.lifecycle",
    "ilag_infra.onsite.apply",
    "ilag_infra.demo",
]

PROBE = """
import contextlib, io, json, sys
from ilag_infra.cli.app import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
heavy = json.loads({heavy!r})
print(json.dumps([code, sorted(m for m in heavy if m in sys.modules)]))
"""


def imported_by(*argv: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=json.dumps(HEAVY)), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    code, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    return code, heavy


@pytest.mark.parametrize(
    ("argv", "needs"),
    [
        (["--version"], []),
        (["region", "--json"], []),
        # validate reads the inventories as Ansible does, with Ansible's own loader.
        (["validate"], ["ansible", "jinja2"]),
    ],
)
def test_everyday_commands_import_no_heavy_library(argv: list[str], needs: list[str]) -> None:
    code, heavy = imported_by(*argv)
    assert code == 0
    assert [m for m in heavy if m not in needs] == []
