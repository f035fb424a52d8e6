"""Ansible YAML files of a revision as plain data, through the bounded loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ilag_infra.model import yamlsource
from ilag_infra.model.errors import Problem
from ilag_infra.model.secrets import MASK


def _plain(node: Any) -> Any:
    """Loaded data as plain values; encrypted (!vault) values stay hidden."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(tag, str) and "vault" in tag:
        return MASK
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def read_yaml(path: Path) -> tuple[Any, Problem | None]:
    """A YAML file as plain data, or why the bounded loader refused it; (None, None) if the
    file is missing."""
    if not path.is_file():
        return None, None
    try:
        data, _ = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        return None, exc.problem
    return _plain(data), None


def load_yaml(path: Path) -> Any:
    """A YAML file as plain data; None if it is missing, unreadable or refused by the bounded
    loader (the diff goes on; `ilag validate` says what is wrong)."""
    return read_yaml(path)[0]
