"""The Pulumi program of the ilag project: the stack name selects network, identity or backup.

`pulumi up -s network` runs `__main__.py` next to this file (Pulumi.yaml `main:`); the offline
plan runs `run()` under mocks. Both go through the same code.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from ilag_infra.azure import blueprint, settings
from ilag_infra.model import placeholders
from ilag_infra.model import region as region_mod
from ilag_infra.model.errors import IlagError
from ilag_infra.model.paths import repo_root


def project_root() -> Path:
    """The directory holding Pulumi.yaml: region.yaml and stacks/ are relative to it."""
    root = pulumi.runtime.get_root_directory()
    # Trust the engine's answer only if it really is the project (mocks return a stand-in).
    if isinstance(root, str) and (Path(root) / "Pulumi.yaml").is_file():
        return Path(root)
    # The engine starts the program in its `main` directory; the one lookup walks up from it.
    return repo_root()


def declare(
    stack: str,
    root: Path,
    region: region_mod.LoadedRegion | None = None,
    allow_placeholders: bool = False,
) -> dict[str, object]:
    """Validate config and region.yaml, declare the stack's resources, return its outputs.

    A caller that already read the stack's region file passes it, so it is read once.
    A stack whose environment is prod refuses the shipped placeholders in its file, unless
    the caller allows them: the offline plan of the lab and the tests does."""
    common = settings.read_common(stack, root)
    if common.environment == placeholders.PRODUCTION and not allow_placeholders:
        settings.refuse_placeholders(stack, root)
    same = region is not None and region.path.resolve() == common.region_file.resolve()
    loaded = region if region is not None and same else region_mod.load(common.region_file)
    ctx = blueprint.context(loaded, common.environment)
    r = loaded.model
    if common.kind == "network":
        from ilag_infra.azure import network

        net = settings.read_network(
            stack, root, blueprint.site_names(r), r.region.hub.subnets.dns_inbound
        )
        return network.declare(
            ctx,
            net,
            blueprint.hub_subnets(r),
            blueprint.sites(r),
            blueprint.spokes(r),
            blueprint.hub_prefixes(r),
        )
    if common.kind == "identity":
        from ilag_infra.azure.identity import declare as declare_identity

        return declare_identity(ctx, settings.read_identity(stack, root))
    from ilag_infra.azure.backup import declare as declare_backup

    return declare_backup(ctx, settings.read_backup(stack, root, r.slugs), blueprint.containers(r))


def run(
    stack: str | None = None,
    root: Path | None = None,
    region: region_mod.LoadedRegion | None = None,
    allow_placeholders: bool = False,
) -> None:
    """Declare the current stack and export its outputs; errors stay IlagError."""
    outputs = declare(
        stack or pulumi.get_stack(), root or project_root(), region, allow_placeholders
    )
    for name, value in outputs.items():
        pulumi.export(str(name), value)  # contract names are StrEnum members; export plain text


def main() -> None:
    """Entry point under the Pulumi engine: input errors become a clean RunError message."""
    try:
        run()
    except IlagError as exc:
        raise pulumi.RunError(str(exc)) from None
