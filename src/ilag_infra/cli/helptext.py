"""How every command's help reads: reflowed paragraphs, natural usage lines, flags without a type.

The CLI library keeps a docstring's single line breaks and prints flags as `--json <bool>`;
these command classes fix that once for the whole tree, so commands only write their text.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


def reflow(text: str | None) -> str | None:
    """Join each paragraph's lines so the terminal wraps it; indented blocks keep their lines.

    A paragraph with an indented line (an example, a command to copy) is kept as written.
    """
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    out = []
    for para in paragraphs:
        lines = para.split("\n")
        if any(line[:1].isspace() for line in lines):
            out.append(para)
        else:
            out.append(" ".join(line.strip() for line in lines))
    if len(out) > 1 and out[1][:1] != "\n" and "\n " in out[1]:
        # The help renderer dedents everything after the first paragraph as one docstring,
        # whose first line never counts: a leading blank line keeps an example's indent.
        out[1] = "\n" + out[1]
    return "\n\n".join(out)


def _argument_name(param: TyperArgument) -> str:
    """HOST, PATH, KOMMUNE: the metavar, or the parameter's name, upper case, without dots."""
    raw = param.metavar or param.name or "ARG"
    return raw.strip("[].").upper()


def _polish(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""  # a flag takes no value, so it shows none
        elif isinstance(param, TyperArgument):
            name = _argument_name(param)
            param.metavar = name + ("..." if param.nargs != 1 else "")
    return params


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = _argument_name(param)
            piece = name if param.required else f"[{name}]"
            pieces.append(piece + ("..." if param.nargs != 1 else ""))
        else:
            pieces.extend(param.get_usage_pieces(ctx))
    return pieces


class IlagCommand(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _polish(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)


class IlagGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _polish(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage_pieces(self, ctx), self.subcommand_metavar]


def adopt(app: typer.Typer) -> None:
    """Give every command and group registered on app (and below) these classes."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):  # never replace a class a command chose itself
            info.cls = IlagCommand
    for group in app.registered_groups:
        group.cls = IlagGroup
        if group.typer_instance is not None:
            adopt(group.typer_instance)
