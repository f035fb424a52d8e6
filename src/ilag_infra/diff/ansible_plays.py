"""Which plays run which roles on which host patterns, read from a revision's playbooks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ilag_infra.diff.ansible_yaml import load_yaml

_ROLE_TASK_KEYS = ("tasks", "pre_tasks", "post_tasks", "handlers")
_NESTED_TASK_KEYS = ("block", "rescue", "always")
_ROLE_MODULES = {
    "include_role",
    "import_role",
    "ansible.builtin.include_role",
    "ansible.builtin.import_role",
}
_IMPORT_PLAYBOOK = {"import_playbook", "ansible.builtin.import_playbook"}


@dataclass
class Play:
    playbook: str
    pattern: str
    roles: set[str]


def _role_names(tasks: Any) -> set[str]:
    found: set[str] = set()
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        for key in _ROLE_MODULES & set(task):
            spec = task[key]
            name = spec.get("name") if isinstance(spec, dict) else spec
            if isinstance(name, str):
                found.add(name)
        for key in _NESTED_TASK_KEYS:
            found |= _role_names(task.get(key))
    return found


def _role_deps(root: Path) -> dict[str, set[str]]:
    deps: dict[str, set[str]] = {}
    roles_dir = root / "roles"
    for meta in sorted(roles_dir.glob("*/meta/main.yml")) if roles_dir.is_dir() else []:
        data = load_yaml(meta) or {}
        out: set[str] = set()
        for dep in data.get("dependencies") or [] if isinstance(data, dict) else []:
            name = dep.get("role") or dep.get("name") if isinstance(dep, dict) else dep
            if isinstance(name, str):
                out.add(name)
        deps[meta.parent.parent.name] = out
    return deps


def _with_deps(roles: set[str], deps: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(roles)
    while todo:
        role = todo.pop()
        if role not in seen:
            seen.add(role)
            todo.extend(deps.get(role, ()))
    return seen


def read_plays(root: Path) -> tuple[list[Play], dict[str, list[str]]]:
    plays: list[Play] = []
    imports: dict[str, list[str]] = {}
    deps = _role_deps(root)
    pb_dir = root / "playbooks"
    files = sorted([*pb_dir.glob("*.yml"), *pb_dir.glob("*.yaml")]) if pb_dir.is_dir() else []
    for book in files:
        data = load_yaml(book)
        for item in data if isinstance(data, list) else []:
            if not isinstance(item, dict):
                continue
            for key in _IMPORT_PLAYBOOK & set(item):
                imports.setdefault(book.name, []).append(Path(str(item[key])).name)
            if "hosts" not in item:
                continue
            roles: set[str] = set()
            for entry in item.get("roles") or []:
                name = entry.get("role") or entry.get("name") if isinstance(entry, dict) else entry
                if isinstance(name, str):
                    roles.add(name)
            for key in _ROLE_TASK_KEYS:
                roles |= _role_names(item.get(key))
            pattern = item["hosts"]
            if isinstance(pattern, list):
                pattern = ",".join(str(p) for p in pattern)
            plays.append(Play(book.name, str(pattern), _with_deps(roles, deps)))
    return plays, imports


def playbook_closure(imports: dict[str, list[str]], book: str) -> set[str]:
    """A playbook and every playbook it imports, directly or not."""
    seen: set[str] = set()
    todo = [book]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports.get(name, []))
    return seen
