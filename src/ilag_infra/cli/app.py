"""The `ilag` command line: a thin shell over functions that tests call directly."""

from __future__ import annotations

import importlib
import sys
from importlib import metadata
from typing import Annotated

import typer

from ilag_infra.cli.console import make_console
from ilag_infra.cli.helptext import IlagGroup, adopt
from ilag_infra.model.errors import EXIT_FAILED, IlagError, InputError
from ilag_infra.model.secrets import redact_text


def version() -> str:
    try:
        return metadata.version("ilag-infra")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ilag {version()}")
        raise typer.Exit()


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
        cls=IlagGroup,
        pretty_exceptions_enable=False,
        add_completion=True,
    )

    @app.callback()
    def root(
        show_version: Annotated[
            bool,
            typer.Option(
                "--version", callback=_show_version, is_eager=True, help="Print the version."
            ),
        ] = False,
    ) -> None:
        """ILAG IKT infrastructure."""

    for name in command_modules():
        module = importlib.import_module(name)
        if hasattr(module, "register"):
            module.register(app)
    adopt(app)
    return app


err_console = make_console(stderr=True)

# Every module in this package with a register(app) adds its own commands, in this order first
# (the order of `ilag --help`), then any other in name order. register() imports heavy
# dependencies (the Azure SDK, ansible-runner) inside the command, so `ilag --help` stays fast.
COMMAND_ORDER: list[str] = [
    "region",
    "apply",
    "outputs",
    "ssh",
    "backup",
    "demo",
    "lab",
    "plan",
    "access",
    "diff",
]


def command_modules() -> list[str]:
    import pkgutil

    from ilag_infra import cli

    found = sorted(m.name for m in pkgutil.iter_modules(cli.__path__))
    ordered = [n for n in COMMAND_ORDER if n in found]
    ordered += [n for n in found if n not in ordered]
    return [f"ilag_infra.cli.{n}" for n in ordered]


def report_error(exc: IlagError) -> int:
    """Print an error for a person and return the exit code it stands for."""
    if isinstance(exc, InputError):
        err_console.print(f"[bold red]bad input[/] ({len(exc.problems)} problem(s)):")
        for problem in exc.problems:
            err_console.print(
                f"  {redact_text(str(problem))}", markup=False, highlight=False, soft_wrap=True
            )
        err_console.print("Nothing was changed.")
    else:
        # An exception may quote a SAS URL or a password: the secrets policy first.
        err_console.print("[bold red]failed:[/] ", end="", highlight=False)
        err_console.print(redact_text(str(exc)), markup=False, highlight=False, soft_wrap=True)
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    app = build_app()
    try:
        # Standalone mode lets the CLI library report usage errors itself (exit 2).
        # prog_name: usage lines say `ilag` also under `python -m` and in tests.
        app(args=argv, prog_name="ilag", standalone_mode=True)
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
