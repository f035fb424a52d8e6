"""Stack outputs (Pulumi → Ansible): fetch them and turn them into one municipality's run variables."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.model.region import Region

STACKS = ("network", "identity", "backup")
SECRET_MASK = "[secret]"
# Output names whose values are secret (docs/interfaces.md).
SECRET_OUTPUTS = {("backup", "container_sas_urls")}


class OutputsError(IlagError):
    """Stack outputs could not be fetched."""


@dataclass(frozen=True)
class StackOutputs:
    """Outputs of the three stacks, plus lab-only secrets such as restic passwords."""

    stacks: Mapping[str, Mapping[str, Any]]
    source: str
    restic_passwords: Mapping[str, str] = field(default_factory=dict)
    # (stack, output) pairs that are secret: the documented ones, plus whatever Pulumi marks.
    secret_names: frozenset[tuple[str, str]] = frozenset(SECRET_OUTPUTS)

    def get(self, stack: str, name: str) -> Any:
        try:
            return self.stacks[stack][name]
        except KeyError:
            raise InputError(
                [
                    Problem(
                        self.source,
                        f"{stack}.{name}",
                        "output is missing",
                        f"run `pulumi up -s {stack}` (or `ilag lab up` in the lab) so it exports {name}",
                    )
                ]
            ) from None

    def masked(self) -> dict[str, dict[str, Any]]:
        """The outputs with every secret value replaced, safe to print or store."""
        out: dict[str, dict[str, Any]] = {}
        for stack, values in self.stacks.items():
            out[stack] = {}
            for name, value in values.items():
                if (stack, name) in self.secret_names:
                    value = (
                        {k: SECRET_MASK for k in value} if isinstance(value, dict) else SECRET_MASK
                    )
                out[stack][name] = value
        return out


def from_file(path: Path) -> StackOutputs:
    """Outputs from a JSON file shaped {"network": {...}, "identity": {...}, "backup": {...}}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            [
                Problem(
                    str(path),
                    "(file)",
                    "outputs file not found",
                    "run `ilag lab up` first, or pass --outputs FILE",
                )
            ]
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            [
                Problem(
                    str(path),
                    "(file)",
                    f"cannot read outputs: {exc}",
                    "regenerate it with `ilag lab up`",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            [
                Problem(
                    str(path),
                    "(top level)",
                    "expected a JSON object",
                    "regenerate it with `ilag lab up`",
                )
            ]
        )
    for stack in STACKS:
        if not isinstance(data.get(stack, {}), dict):
            raise InputError(
                [
                    Problem(
                        str(path),
                        stack,
                        "expected an object of outputs",
                        "regenerate the file (`ilag lab up`) or fix its shape",
                    )
                ]
            )
    lab = data.get("lab", {}) if isinstance(data.get("lab"), dict) else {}
    passwords = lab.get("restic_passwords", {})
    return StackOutputs({s: data.get(s, {}) for s in STACKS}, str(path), passwords)


def stack_name(stack: str, suffix: str | None) -> str:
    return f"{stack}-{suffix}" if suffix else stack


def from_pulumi(suffix: str | None = None, cwd: Path | None = None) -> StackOutputs:
    """Outputs from `pulumi stack output --json --show-secrets`, one call per stack."""
    exe = shutil.which("pulumi")
    if exe is None:
        raise OutputsError(
            "the pulumi CLI is not installed; install it (see docs/operators.md) "
            "or use the lab's outputs (--env lab)"
        )
    stacks: dict[str, Any] = {}
    secret_names = set(SECRET_OUTPUTS)
    for stack in STACKS:
        name = stack_name(stack, suffix)
        # Without --show-secrets Pulumi prints "[secret]" for every secret output: learn which.
        masked = subprocess.run(
            [exe, "stack", "output", "--json", "-s", name],
            capture_output=True,
            text=True,
            check=False,
            cwd=cwd,
        )
        with contextlib.suppress(json.JSONDecodeError):
            shown = json.loads(masked.stdout or "{}")
            if isinstance(shown, dict):
                secret_names |= {(stack, k) for k, v in shown.items() if v == "[secret]"}
        proc = subprocess.run(
            [exe, "stack", "output", "--json", "--show-secrets", "-s", name],
            capture_output=True,
            text=True,
            check=False,
            cwd=cwd,
        )
        if proc.returncode != 0:
            # stderr of pulumi never contains output values, only the reason.
            raise OutputsError(f"`pulumi stack output -s {name}` failed: {proc.stderr.strip()}")
        try:
            values = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError as exc:
            raise OutputsError(
                f"`pulumi stack output -s {name}` did not print JSON: {exc}"
            ) from None
        if not isinstance(values, dict):
            raise OutputsError(
                f"`pulumi stack output -s {name}` printed {type(values).__name__}, not an object"
            )
        stacks[stack] = values
    return StackOutputs(
        stacks, f"pulumi stacks ({', '.join(stack_name(s, suffix) for s in STACKS)})"
    )


@dataclass(frozen=True)
class RunVars:
    """What a run hands to Ansible: public values may be stored, secrets must not."""

    public: dict[str, Any]
    secrets: dict[str, Any]


def run_vars(region: Region, slug: str, outputs: StackOutputs) -> RunVars:
    """The run-time variables for one municipality (names fixed in docs/interfaces.md)."""
    if slug not in region.slugs:
        raise InputError(
            [
                Problem(
                    "command line",
                    "MUNICIPALITY",
                    f"unknown municipality {slug!r}",
                    f"use one of {', '.join(region.slugs)}",
                )
            ]
        )
    muni = region.municipality(slug)
    r = region.region
    sas_urls = outputs.get("backup", "container_sas_urls")
    containers = outputs.get("backup", "container_names")
    if slug not in sas_urls or slug not in containers:
        raise InputError(
            [
                Problem(
                    outputs.source,
                    f"backup.container_sas_urls.{slug}",
                    f"no backup container for {slug}",
                    "run `pulumi up -s backup` after adding the municipality to region.yaml",
                )
            ]
        )
    mgmt = [str(n) for n in r.management_networks]
    public = {
        "ilag_municipality": slug,
        "ilag_region": {
            "dns_domain": r.dns_domain,
            "ntp_servers": list(r.ntp_servers),
            # region-wide operator networks; the municipality's own are listed separately
            "management_networks": mgmt,
            "municipality_networks": [str(n) for n in muni.networks],
            "municipality_management_networks": [str(n) for n in muni.management_networks],
        },
        "ilag_outputs": {
            "resolver_inbound_ip": outputs.get("network", "resolver_inbound_ip"),
            "ssh_user_ca_public_key": outputs.get("identity", "ssh_user_ca_public_key"),
            "blob_endpoint": outputs.get("backup", "blob_endpoint"),
            "container_name": containers[slug],
        },
    }
    secrets: dict[str, Any] = {"backup_sas_url": sas_urls[slug]}
    if slug in outputs.restic_passwords:
        secrets["restic_password"] = outputs.restic_passwords[slug]
    return RunVars(public, {"ilag_secrets": secrets})


def secret_values(rv: RunVars) -> list[str]:
    """Every secret string in the run vars, so callers can prove none leaked."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and node:
            found.append(node)

    walk(rv.secrets)
    return found
