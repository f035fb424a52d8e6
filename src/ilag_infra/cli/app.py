"""The `ilag` command line: a thin shell over functions that tests call directly."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from ilag_infra.model.errors import EXIT_FAILED, IlagError, InputError


def build_app() -> typer.Typer:
    """A fresh command tree with every module's commands registered."""
    app = typer.Typer(
        name="ilag",
        help=(
            "ILAG IKT infrastructure: validate the region, plan the Azure stacks, apply on-site "
            "roles per municipality, and run the local lab.\n\n"
            "Exit codes: 0 ok, 1 something failed, 2 bad input (nothing was changed)."
        ),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


err_console = Console(stderr=True)

# Modules that add their own commands, each through register(app). register() imports heavy
# dependencies (the Azure SDK, ansible-runner) inside the command, so `ilag --help` stays fast.
COMMAND_MODULES: list[str] = [
    "ilag_infra.cli.region",
    "ilag_infra.cli.apply",
    "ilag_infra.cli.ssh",
    "ilag_infra.cli.backup",
    "ilag_infra.cli.demo",
    "ilag_infra.cli.lab",
    "ilag_infra.cli.plan",
    "ilag_infra.cli.diff",
]


def report_error(exc: IlagError) -> int:
    """Print an error for a person and return the exit code it stands for."""
    if isinstance(exc, InputError):
        err_console.print(f"[bold red]bad input[/] ({len(exc.problems)} problem(s)):")
        for problem in exc.problems:
            err_console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
        err_console.print("Nothing was changed.")
    else:
        err_console.print(f"[bold red]failed:[/] {exc}", highlight=False, soft_wrap=True)
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    app = build_app()
    try:
        # Standalone mode lets the CLI library report usage errors itself (exit 2).
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_FAILED)
    except IlagError as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
