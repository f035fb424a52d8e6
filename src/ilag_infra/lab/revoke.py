"""Revoke one municipality's site credential in the lab, and issue the next one.

The site SAS is bound to a stored access policy on the municipality's own container. Replacing
that policy with a new id makes every SAS bound to the old one fail with 403 at once; the
other municipalities' containers, policies and SAS are not touched. The new SAS goes into the
lab's outputs file, where the next `ilag apply <kommune>` picks it up for the hosts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ilag_infra.lab import azurite, outputs
from ilag_infra.lab.errors import LabError
from ilag_infra.model.errors import InputError, Problem


@dataclass(frozen=True)
class Revoked:
    slug: str
    container: str
    old_policy: str | None
    new_policy: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "municipality": self.slug,
            "container": self.container,
            "revoked_policy": self.old_policy,
            "new_policy": self.new_policy,
        }


def revoke(outputs_file: Path, slug: str) -> Revoked:
    try:
        data = json.loads(outputs_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise LabError(
            f"{outputs_file}: cannot be read ({exc})\n    fix: `ilag lab up` writes it"
        ) from None
    backup, lab = data.get("backup") or {}, data.get("lab") or {}
    container = (backup.get("container_names") or {}).get(slug)
    if container is None:
        raise InputError(
            [
                Problem(
                    str(outputs_file),
                    f"backup.container_names.{slug}",
                    f"the lab has no container for {slug!r}",
                    "name a municipality of region.yaml that the lab was brought up with",
                )
            ]
        )
    endpoint = str(backup["blob_endpoint"])
    policies = lab.setdefault("site_policies", {})
    old = policies.get(slug)
    new = azurite.new_policy_id()
    azurite.set_site_policy(endpoint, container, new)
    backup["container_sas_urls"][slug] = azurite.policy_sas_url(endpoint, container, new)
    policies[slug] = new
    outputs.write(outputs_file, data)
    return Revoked(slug, container, old, new)
