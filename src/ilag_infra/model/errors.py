"""Errors a person can act on: which file, which key, what is wrong, what to do."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where it is, what it is and how to fix it."""

    file: str
    key: str
    message: str
    fix: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text


class IlagError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = EXIT_FAILED


class InputError(IlagError):
    """Bad input: nothing was changed. Carries every problem found, not only the first."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class RegionError(InputError):
    """region.yaml does not describe a valid region."""


class InventoryError(InputError):
    """An inventory disagrees with itself or with region.yaml."""
