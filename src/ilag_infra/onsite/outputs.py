"""Stack outputs (Pulumi → Ansible): fetch them and turn them into one municipality's run variables."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ilag_infra.model import secrets
from ilag_infra.model import stack_outputs as contract
from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.model.region import Region
from ilag_infra.model.stack_outputs import BackupOutput, IdentityOutput, NetworkOutput, Stack

if TYPE_CHECKING:
    from pulumi import automation as auto

STACKS: tuple[str, ...] = tuple(str(s) for s in contract.STACKS)
SECRET_OUTPUTS = contract.SECRET_OUTPUTS
SECRET_MASK = secrets.MASK


class OutputsError(IlagError):
    """Stack outputs could not be fetched."""


@dataclass(frozen=True)
class StackOutputs:
    """Outputs of the three stacks, plus lab-only secrets such as restic passwords."""

    stacks: Mapping[str, Mapping[str, Any]]
    source: str
    restic_passwords: Mapping[str, str] = field(default_factory=dict)
    # (stack, output) pairs that are secret: the contract's, plus whatever Pulumi marks.
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


def _checked(stacks: Mapping[str, Mapping[str, Any]], source: str) -> dict[str, dict[str, Any]]:
    """Each stack's outputs, checked against the contract; every problem is reported at once."""
    problems: list[Problem] = []
    for stack in STACKS:
        try:
            contract.parse(stack, stacks.get(stack, {}), source)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return {stack: dict(stacks.get(stack, {})) for stack in STACKS}


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
    return StackOutputs(_checked(data, str(path)), str(path), passwords)


def stack_name(stack: str, suffix: str | None) -> str:
    return f"{stack}-{suffix}" if suffix else stack


def from_output_values(
    values: Mapping[str, Mapping[str, auto.OutputValue]], source: str
) -> StackOutputs:
    """Outputs as the Automation API returns them: each value with Pulumi's own secret flag."""
    secret = {
        (stack, name) for stack, outs in values.items() for name, o in outs.items() if o.secret
    }
    plain = {stack: {name: o.value for name, o in outs.items()} for stack, outs in values.items()}
    return StackOutputs(
        _checked(plain, source), source, secret_names=frozenset(SECRET_OUTPUTS | secret)
    )


def from_pulumi(suffix: str | None = None, cwd: Path | None = None) -> StackOutputs:
    """Outputs of the three stacks through the Automation API (the project in `cwd`)."""
    if shutil.which("pulumi") is None:
        raise OutputsError(
            "the pulumi CLI is not installed; install it (see docs/operators.md) "
            "or use the lab's outputs (--env lab)"
        )
    # Imported here: the Automation API costs a sixth of a second, and only this path needs it.
    from pulumi import automation as auto

    names = [stack_name(s, suffix) for s in STACKS]
    try:
        workspace = auto.LocalWorkspace(work_dir=str(cwd or Path.cwd()))
    except (OSError, subprocess.SubprocessError, auto.InvalidVersionError) as exc:
        raise OutputsError(f"cannot use the pulumi CLI: {exc}") from None
    values: dict[str, Mapping[str, auto.OutputValue]] = {}
    for stack, name in zip(STACKS, names, strict=True):
        try:
            # What Stack.outputs() calls, minus Stack.select(): that would change the
            # operator's currently selected stack as a side effect.
            values[stack] = workspace.stack_outputs(name)
        except auto.CommandError as exc:
            # Only the CLI's stderr (the reason): the message also carries stdout, which may
            # hold decrypted values.
            reason = str(exc).rpartition(" stderr:")[2].strip()
            raise OutputsError(f"`pulumi stack output -s {name}` failed: {reason}") from None
        except (json.JSONDecodeError, KeyError) as exc:
            raise OutputsError(
                f"`pulumi stack output -s {name}` printed no usable JSON ({type(exc).__name__})"
            ) from None
    return from_output_values(values, f"pulumi stacks ({', '.join(names)})")


@dataclass(frozen=True)
class RunVars:
    """What a run hands to Ansible: public values may be stored, secrets must not."""

    public: dict[str, Any]
    secrets: dict[str, Any]

    def merged(self, extra: RunVars) -> RunVars:
        """These variables plus `extra`'s (a playbook that needs more, such as the node's)."""
        return RunVars({**self.public, **extra.public}, {**self.secrets, **extra.secrets})


def run_vars(region: Region, slug: str, outputs: StackOutputs) -> RunVars:
    """The run-time variables for one municipality (names fixed in docs/interfaces.md)."""
    if slug not in region.slugs:
        raise InputError(
            [
                Problem(
                    "command line",
                    "KOMMUNE",
                    f"unknown municipality {slug!r}",
                    f"use one of {', '.join(region.slugs)}",
                )
            ]
        )
    muni = region.municipality(slug)
    r = region.region
    sas_urls = outputs.get(Stack.BACKUP, BackupOutput.CONTAINER_SAS_URLS)
    containers = outputs.get(Stack.BACKUP, BackupOutput.CONTAINER_NAMES)
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
            "resolver_inbound_ip": outputs.get(Stack.NETWORK, NetworkOutput.RESOLVER_INBOUND_IP),
            "ssh_user_ca_public_key": outputs.get(
                Stack.IDENTITY, IdentityOutput.SSH_USER_CA_PUBLIC_KEY
            ),
            "blob_endpoint": outputs.get(Stack.BACKUP, BackupOutput.BLOB_ENDPOINT),
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
