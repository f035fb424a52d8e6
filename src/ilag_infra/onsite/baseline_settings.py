"""The baseline role's settings for one host, as the role itself would see them.

The audit judges a host against what the role was told to apply there: the role's defaults,
overlaid by the inventory's group and host variables (Ansible's own precedence), templated by
Ansible. An override in group_vars is therefore audited against the override.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ilag_infra.model.errors import InputError, Problem

PREFIX = "baseline__"
DEFAULTS = Path("roles") / "baseline" / "defaults" / "main.yml"
ROLE_VARS = Path("roles") / "baseline" / "vars" / "main.yml"
# Role variables (vars/main.yml) the audit reads as well: what the sshd drop-in makes sshd do.
AUDITED_ROLE_VARS = ("baseline__sshd_effective_wanted",)


@cache
def role_defaults(repo_root: Path) -> Mapping[str, Any]:
    """The role's defaults file, loaded as Ansible loads it (its templates trusted)."""
    return _load(repo_root / DEFAULTS)


@cache
def role_vars(repo_root: Path) -> Mapping[str, Any]:
    """The audited keys of the role's vars file (which outrank the inventory in Ansible)."""
    data = _load(repo_root / ROLE_VARS)
    return {k: v for k, v in data.items() if k in AUDITED_ROLE_VARS}


def _load(path: Path) -> dict[str, Any]:
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader

    try:
        data = _trusted(DataLoader().load_from_file(str(path)))
    except (OSError, AnsibleError) as exc:
        raise InputError(
            [Problem(str(path), "(file)", f"cannot be read: {exc}", "restore it from git")]
        ) from None
    return dict(data or {})


def _trusted(value: Any) -> Any:
    """Ansible 2.19 templates only strings marked trusted; a role's defaults are."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def for_host(repo_root: Path, host: str, inventory_vars: Mapping[str, Any]) -> dict[str, Any]:
    """The role's defaults with the host's inventory variables on top, templated."""
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    merged: dict[str, Any] = dict(role_defaults(repo_root))
    merged.update({k: v for k, v in inventory_vars.items() if k.startswith(PREFIX)})
    merged.update(role_vars(repo_root))
    templar = Templar(loader=DataLoader(), variables={**inventory_vars, **merged})
    out: dict[str, Any] = {}
    for key, value in merged.items():
        try:
            out[key] = templar.template(value)
        except AnsibleError as exc:
            raise InputError(
                [
                    Problem(
                        f"inventory of {host}",
                        key,
                        f"cannot be templated: {exc.message}",
                        "fix the variable in group_vars or host_vars",
                    )
                ]
            ) from None
    return out
