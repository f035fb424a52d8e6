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
    policies = lab.get("site_policies")
    if not isinstance(policies, dict):
        policies = {}
    old = policies.get(slug)
    endpoint = backup.get("blob_endpoint")
    urls = backup.get("container_sas_urls")
    if not old or not endpoint or not isinstance(urls, dict):
        # A site SAS that names no stored access policy cannot be revoked alone: a new policy
        # would leave the old SAS valid, and reporting success would be a lie.
        raise InputError(
            [
                Problem(
                    str(outputs_file),
                    f"lab.site_policies.{slug}",
                    f"{slug}'s site SAS is not bound to a stored access policy in this lab",
                    "bring the lab up again with this version (`ilag lab down && ilag lab up`)",
                )
            ]
        )
    new = azurite.new_policy_id()
    azurite.set_site_policy(str(endpoint), container, new)
    urls[slug] = azurite.policy_sas_url(str(endpoint), container, new)
    policies[slug] = new
    outputs.write(outputs_file, data)
    return Revoked(slug, container, old, new)
