"""Variables a change touches: role defaults, inventory vars and region-derived run vars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ilag_infra.model.region import Region
from ilag_infra.model.secrets import MASK, is_secret_name, mask_mapping
from ilag_infra.onsite import outputs

SECRET = MASK
_MAX_VALUE = 160


@dataclass
class VarChange:
    name: str
    kind: str  # add | delete | update
    old: str | None = None
    new: str | None = None


def _show(name: str, value: Any, with_values: bool) -> str | None:
    """A variable's value as shown in a report; None where it is never shown. Secret names
    (a role's *_psk, *_password …) hide the whole value; inside any other value, secret
    keys (a nested RESTIC_PASSWORD) and secret-looking text are masked."""
    if not with_values or is_secret_name(name) or value == SECRET:
        return None
    value = mask_mapping(value)
    text = value if isinstance(value, str) else repr(value) if value is not None else "null"
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def var_changes(old: Any, new: Any, with_values: bool) -> list[VarChange]:
    """Top-level variables added, removed or changed between two YAML documents."""
    a = old if isinstance(old, dict) else {}
    b = new if isinstance(new, dict) else {}
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in a:
            out.append(VarChange(name, "add", None, _show(name, b[name], with_values)))
        elif name not in b:
            out.append(VarChange(name, "delete", _show(name, a[name], with_values), None))
        elif a[name] != b[name]:
            out.append(
                VarChange(
                    name,
                    "update",
                    _show(name, a[name], with_values),
                    _show(name, b[name], with_values),
                )
            )
    return out


def region_run_vars(region: Region | None, slug: str) -> dict[str, Any] | None:
    """The region-derived run vars of a municipality (stack outputs left out on purpose)."""
    if region is None or slug not in region.slugs:
        return None
    stand_in = outputs.StackOutputs(
        {
            "network": {"resolver_inbound_ip": ""},
            "identity": {"ssh_user_ca_public_key": ""},
            "backup": {
                "blob_endpoint": "",
                "container_names": dict.fromkeys(region.slugs, ""),
                "container_sas_urls": dict.fromkeys(region.slugs, ""),
            },
        },
        "diff",
    )
    public = outputs.run_vars(region, slug, stand_in).public
    return {k: v for k, v in public.items() if k != "ilag_outputs"}
