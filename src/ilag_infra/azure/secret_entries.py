"""Every entry of a secret config map must be stored encrypted, checked in the stack file.

Pulumi marks a whole config key secret as soon as one entry under it is `secure:`, so the
program alone cannot tell a plain-text entry beside encrypted ones: the file can.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ilag_infra.model import yamlsource
from ilag_infra.model.errors import Problem
from ilag_infra.model.yamlsource import KeyPath, line_of


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _plain_leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if _is_secure(value):
        return
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _plain_leaves(sub, (*path, str(key)))
    elif value is not None:
        yield path


def check_map(stack_file: Path, full_key: str, stack: str, label: str) -> list[Problem]:
    """Problems of a secret map (slug → key, or slug → site → key) in stack_file: a single
    value where the map belongs, and each entry that is not `secure:`. [] if the file or the
    key is absent (other checks say so)."""
    if not stack_file.is_file():
        return []
    try:
        data, lines = yamlsource.load(stack_file)
    except yamlsource.YamlSourceError as exc:
        return [exc.problem]
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict) or full_key not in config:
        return []
    value = config[full_key]
    where: KeyPath = ("config", full_key)
    set_one = (
        f"pulumi config set --secret --path '{full_key}.<{label}>' "
        f'"$(openssl rand -base64 32)" -s {stack}'
    )
    if not isinstance(value, dict) or _is_secure(value):
        return [
            Problem(
                str(stack_file),
                full_key,
                f"is one {'encrypted value' if _is_secure(value) else type(value).__name__}; "
                f"it must be a mapping {label} → key (or {label} → site → key)",
                f"pulumi config rm {full_key} -s {stack}, then once per {label}: {set_one}",
                line_of(lines, where),
            )
        ]
    problems = []
    for path in _plain_leaves(value, ()):
        dotted = ".".join((full_key, *path))
        problems.append(
            Problem(
                str(stack_file),
                dotted,
                "is stored in plain text; every entry of this map must be set with --secret",
                f"pulumi config set --secret --path '{dotted}' "
                f'"$(openssl rand -base64 32)" -s {stack} (and rotate it: the old value is in '
                "git history)",
                line_of(lines, (*where, *path)),
            )
        )
    return problems
