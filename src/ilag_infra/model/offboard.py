"""The plan of a municipality's exit, computed offline from the repository's files.

What happens to its backups (kept until its retention ends, or exported and handed over), which
Azure resources each stack stops declaring, which secrets and config keys go, how the cost key
changes for the others, and which files change. `offboard_apply` makes the file changes.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ilag_infra.model import cost, inventory, naming, systems, yamlsource
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.region import LoadedRegion, Municipality, Region
from ilag_infra.model.retention import Retention, resolve
from ilag_infra.model.stack_outputs import records_container

PROJECT = "ilag"
# The lifecycle rule of the backup account deletes previous versions this many days after they
# became versions (azure/backup.py VERSION_DELETE_AFTER_DAYS; docs/operators.md).
VERSION_DELETE_AFTER_DAYS = 365
DEFAULT_DELETE_RETENTION_DAYS = 30
KEY_VAULT_SOFT_DELETE_DAYS = 90
SITE_SECRET_PREFIX = naming.SITE_SECRET_PREFIX
VPN_KEYS = "ilag:vpnSharedKeys"
STACK_KEY_NOTES = {
    VPN_KEYS: "IPsec pre-shared key(s) of its VPN sites: removed",
    "ilag:resticPasswords": "its restic password, the escrow's source: removed",
}
# Zones every spoke VNet is linked to besides the region's own DNS domain.
PRIVATELINK_ZONES = (naming.PRIVATELINK_BLOB_ZONE, naming.PRIVATELINK_VAULT_ZONE)
# Stack config keys that never name a municipality: their values are not searched.
_NEUTRAL_KEYS = {"ilag:regionFile", "ilag:networkStack", "ilag:identityStack"}


@dataclass(frozen=True)
class AzureResource:
    stack: str
    type: str
    name: str
    urn: str
    fate: str  # "removed" by `pulumi up`, or "kept" (taken out of the stack's state first)


@dataclass(frozen=True)
class SecretItem:
    where: str
    key: str
    what: str


@dataclass(frozen=True)
class ShareChange:
    slug: str
    name: str
    before: Fraction
    after: Fraction


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the repository
    action: str  # "remove" a file or directory, "edit" a file
    detail: str


@dataclass(frozen=True)
class BackupPlan:
    container: str
    records_container: str
    repositories: list[str]  # <container>/<host>, one per backup client
    retention: str
    last_backup: dt.date
    kept_until: dt.date  # the retention of the last backup ends
    versions_gone_by: dt.date  # lifecycle rule and soft delete after the container is emptied
    delete_retention_days: int
    immutability_days: int
    before_steps: list[str]  # either way, before the apply
    keep_steps: list[str]
    export_steps: list[str]


@dataclass
class OffboardPlan:
    slug: str
    name: str
    kommunenummer: str
    backups: BackupPlan
    resources: list[AzureResource]
    secrets: list[SecretItem]
    shares: list[ShareChange]
    files: list[FileChange]
    steps: list[str]
    notes: list[str] = field(default_factory=list)
    # For the apply: the stack config entries to drop, (stack file, key) with the slug below.
    stack_keys: list[tuple[str, str]] = field(default_factory=list)
    systems_entries: list[tuple[str, bool]] = field(default_factory=list)  # (system id, whole)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the month's last day where it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def retention_end(last_backup: dt.date, rules: Retention | None) -> dt.date:
    """When the oldest kept snapshot of the last backup's history leaves the keep rules: the
    longest period a rule covers, counted from the last backup (restic keeps one snapshot per
    day, week, month or year, so yearly 3 reaches three years back)."""
    if rules is None:
        return last_backup
    ends = [last_backup]
    if rules.yearly:
        ends.append(add_months(last_backup, 12 * rules.yearly))
    if rules.monthly:
        ends.append(add_months(last_backup, rules.monthly))
    if rules.weekly:
        ends.append(last_backup + dt.timedelta(weeks=rules.weekly))
    if rules.daily:
        ends.append(last_backup + dt.timedelta(days=rules.daily))
    if rules.hourly:
        ends.append(last_backup + dt.timedelta(hours=rules.hourly))
    return max(ends)


def stack_files(root: Path) -> dict[str, Path]:
    """Stack name → stacks/Pulumi.<stack>.yaml."""
    return {
        p.name[len("Pulumi.") : -len(".yaml")]: p for p in sorted(root.glob("stacks/Pulumi.*.yaml"))
    }


def stack_config(path: Path) -> dict[str, Any]:
    try:
        data, _ = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        raise InputError([exc.problem]) from None
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def _kind(stack: str) -> str:
    return stack.partition("-")[0]


def _int(config: dict[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _urn(stack: str, parent: str | None, type_: str, name: str) -> str:
    qualified = f"{parent}${type_}" if parent else type_
    return f"urn:pulumi:{stack}::{PROJECT}::{qualified}::{name}"


def network_resources(
    stack: str, m: Municipality, names: naming.Names, dns_domain: str, egress: str
) -> list[AzureResource]:
    """What the network stack declares for the municipality (azure/network.py)."""
    out: list[AzureResource] = []

    def add(parent: str | None, type_: str, name: str) -> None:
        out.append(AzureResource(stack, type_, name, _urn(stack, parent, type_, name), "removed"))

    link = "ilag:network:SiteLink"
    for site in m.sites:
        add(None, link, f"{m.slug}-{site.name}")
        add(
            link, "azure-native:network:LocalNetworkGateway", names.local_gateway(m.slug, site.name)
        )
        add(
            link,
            "azure-native:network:VirtualNetworkGatewayConnection",
            names.connection(m.slug, site.name),
        )
    if m.spoke_prefix is not None:
        spoke = "ilag:network:Spoke"
        vnet = names.vnet(m.slug)
        add(None, spoke, f"spoke-{m.slug}")
        add(spoke, "azure-native:network:VirtualNetwork", vnet)
        add(spoke, "azure-native:network:Subnet", f"{vnet}-snet-workloads")
        add(spoke, "azure-native:network:NetworkSecurityGroup", names.nsg(f"{m.slug}-workloads"))
        add(spoke, "azure-native:network:VirtualNetworkPeering", names.peering("hub", m.slug))
        add(spoke, "azure-native:network:VirtualNetworkPeering", names.peering(m.slug, "hub"))
        if egress == "nat-gateway":
            add(spoke, "azure-native:network:NatGateway", names.nat_gateway(m.slug))
            add(spoke, "azure-native:network:PublicIPAddress", names.nat_gateway_public_ip(m.slug))
        for zone in (dns_domain, *PRIVATELINK_ZONES):
            add(
                "ilag:network:PrivateDns",
                "azure-native:privatedns:VirtualNetworkLink",
                f"{zone}-link-{m.slug}-{names.environment}",
            )
    return out


def backup_resources(stack: str, slug: str) -> list[AzureResource]:
    """What the backup stack declares for the municipality (azure/backup.py, records.py,
    site_secrets.py). The backup container is kept: it leaves the state, not Azure."""
    box, rec, sec, esc, access = (
        "ilag:backup:MunicipalityContainer",
        "ilag:backup:RecordsContainer",
        "ilag:backup:SiteSecret",
        "ilag:backup:ResticEscrow",
        "ilag:backup:Access",
    )
    blob, role = "azure-native:storage:BlobContainer", "azure-native:authorization:RoleAssignment"
    rows = [
        (None, box, f"container-{slug}", "removed"),
        (box, blob, naming.container_name(slug), "kept"),
        (None, rec, f"records-container-{slug}", "removed"),
        (rec, blob, records_container(slug), "removed"),
        (None, sec, f"site-secret-{slug}", "removed"),
        (sec, "azure-native:keyvault:Secret", f"site-secret-{slug}", "removed"),
        (None, esc, f"restic-escrow-{slug}", "removed"),
        (esc, "azure-native:keyvault:Secret", f"restic-escrow-{slug}", "removed"),
        (access, role, f"technicians-{slug}-storage-blob-data-reader-container-{slug}", "removed"),
        (access, role, f"technicians-{slug}-key-vault-secrets-user-secret-{slug}", "removed"),
        (access, role, f"technicians-{slug}-key-vault-secrets-user-escrow-{slug}", "removed"),
    ]
    return [AzureResource(stack, t, n, _urn(stack, p, t, n), fate) for p, t, n, fate in rows]


def _references(value: Any, slug: str, hosts: set[str], path: tuple[str, ...]) -> list[str]:
    """Key paths below value that name the municipality or one of its hosts."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            here = (*path, str(k))
            if str(k) == slug or str(k) in hosts:
                found.append(".".join(here))
            else:
                found += _references(v, slug, hosts, here)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _references(v, slug, hosts, (*path, f"[{i}]"))
    elif isinstance(value, str) and (value == slug or any(h in value for h in hosts)):
        found.append(".".join(path) or "(top level)")
    return found


def _inventory_references(root: Path, slug: str, hosts: set[str]) -> list[Problem]:
    """Other inventories and shared group_vars that still name the municipality: the apply
    cannot know what they mean, so it refuses and names them."""
    problems: list[Problem] = []
    base = root / "inventories"
    for path in sorted([*base.rglob("*.yml"), *base.rglob("*.yaml")]):
        if (base / slug) in path.parents:
            continue
        try:
            data, _ = yamlsource.load(path)
        except yamlsource.YamlSourceError as exc:
            problems.append(exc.problem)
            continue
        for key in _references(data, slug, hosts, ()):
            problems.append(
                Problem(
                    str(path.relative_to(root)),
                    key,
                    f"still names {slug} or one of its hosts ({', '.join(sorted(hosts))})",
                    "remove or change that entry by hand, then run `ilag offboard` again",
                )
            )
    return problems


def _stack_entries(
    root: Path, slug: str, hosts: set[str]
) -> tuple[list[tuple[str, str]], list[Problem]]:
    """(stack file, key) of each slug-keyed map entry the apply removes; problems for any
    other mention of the municipality in a stack file."""
    entries: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for path in stack_files(root).values():
        rel = str(path.relative_to(root))
        for key, value in stack_config(path).items():
            if key in _NEUTRAL_KEYS:
                continue
            if isinstance(value, dict) and slug in value:
                entries.append((rel, str(key)))
                rest = {k: v for k, v in value.items() if k != slug}
            else:
                rest = value
            for where in _references(rest, slug, hosts, (str(key),)):
                problems.append(
                    Problem(
                        rel,
                        where,
                        f"still names {slug} or one of its hosts",
                        f"change it with `pulumi config set` (see docs/operators.md), then run "
                        f"`ilag offboard {slug}` again",
                    )
                )
    return entries, problems


def _systems_entries(root: Path, slug: str) -> list[tuple[str, bool]]:
    """(system id, whether the system goes entirely) for systems.yaml beside region.yaml."""
    path = root / systems.SYSTEMS_FILE
    if not path.is_file():
        return []
    try:
        data, _ = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        raise InputError([exc.problem]) from None
    out: list[tuple[str, bool]] = []
    for entry in (data or {}).get("systems") or []:
        used = entry.get("municipalities") or {} if isinstance(entry, dict) else {}
        if isinstance(used, dict) and slug in used:
            out.append((str(entry.get("id")), len(used) == 1))
    return out


def _without(region: Region, slug: str) -> Region:
    return region.model_copy(
        update={"municipalities": [m for m in region.municipalities if m.slug != slug]}
    )


def check_slug(loaded: LoadedRegion, slug: str) -> Municipality:
    """The municipality to offboard; InputError for an unknown slug or the last one."""
    model = loaded.model
    if slug not in model.slugs:
        raise InputError(
            [
                Problem(
                    str(loaded.path),
                    "municipalities",
                    f"no municipality {slug!r} (already offboarded, or misspelt)",
                    f"use one of: {', '.join(model.slugs)}",
                )
            ]
        )
    if len(model.municipalities) == 1:
        raise InputError(
            [
                Problem(
                    str(loaded.path),
                    "municipalities",
                    f"{slug} is the last municipality; the platform needs at least one",
                    "retire the platform instead (pulumi destroy of each stack)",
                )
            ]
        )
    return model.municipality(slug)


def plan(loaded: LoadedRegion, slug: str, root: Path, last_backup: dt.date) -> OffboardPlan:
    """The whole exit of one municipality; InputError names what stops it."""
    m = check_slug(loaded, slug)
    model = loaded.model
    inv, _, inv_problems = inventory.load(root, slug)
    hosts = set(inv.hosts) if not inv_problems else set()
    clients = sorted(inv.in_group("backup_clients")) if not inv_problems else []
    problems = _inventory_references(root, slug, hosts)
    stack_keys, stack_problems = _stack_entries(root, slug, hosts)
    problems += stack_problems
    if problems:
        raise InputError(problems)

    stacks = stack_files(root)
    configs = {s: stack_config(p) for s, p in stacks.items()}
    backup_cfg = next((c for s, c in configs.items() if _kind(s) == "backup"), {})
    resources: list[AzureResource] = []
    for stack, cfg in configs.items():
        env = str(cfg.get("ilag:environment") or stack.partition("-")[2] or "prod")
        names = naming.Names(model.region.name, env, model.region.location)
        if _kind(stack) == "network":
            egress = str(cfg.get("ilag:egress", "nat-gateway"))
            resources += network_resources(stack, m, names, model.region.dns_domain, egress)
        elif _kind(stack) == "backup":
            resources += backup_resources(stack, slug)

    backups = _backup_plan(m, model, backup_cfg, clients, last_backup, stacks, resources)
    secrets = [
        SecretItem(rel, f"{key}.{slug}", STACK_KEY_NOTES.get(key, "its entry: removed"))
        for rel, key in stack_keys
    ]
    for stack, path in stacks.items():
        rel = str(path.relative_to(root))
        if _kind(stack) == "network" and (rel, VPN_KEYS) not in stack_keys:
            secrets.append(
                SecretItem(
                    rel,
                    f"{VPN_KEYS}.{slug}",
                    "not in this file; where it is set, remove it: pulumi config rm --path "
                    f"'{VPN_KEYS}.{slug}' -s {stack}",
                )
            )
    secrets += [
        SecretItem(
            "Key Vault (identity stack)",
            f"{SITE_SECRET_PREFIX}{slug}",
            "its sites' backup SAS; soft-deleted, recoverable "
            f"{KEY_VAULT_SOFT_DELETE_DAYS} days (purge protection)",
        ),
        SecretItem(
            "Key Vault (identity stack)",
            naming.restic_escrow_secret(slug),
            "its restic password in escrow, which the kept repositories and the export need: "
            "soft-deleted, recoverable "
            f"{KEY_VAULT_SOFT_DELETE_DAYS} days (purge protection)",
        ),
        SecretItem(
            "backup storage account",
            backups.records_container,
            "its run records and apply lease: exported, then removed",
        ),
        SecretItem(
            f"inventories/{slug}/",
            "vault files and host_vars",
            "its restic password and host secrets; the repository password goes to the "
            "municipality with the export",
        ),
    ]
    before, after = cost.exact_shares(model), cost.exact_shares(_without(model, slug))
    shares = [
        ShareChange(x.slug, x.name, before[x.slug], after.get(x.slug, Fraction(0)))
        for x in model.municipalities
    ]
    sys_entries = _systems_entries(root, slug)
    files = [
        FileChange(
            str(loaded.path.name), "edit", f"remove the municipalities entry {slug} ({m.name})"
        ),
        FileChange(
            f"inventories/{slug}/",
            "remove",
            f"{len(inv.hosts)} host(s): {', '.join(sorted(inv.hosts))}",
        ),
    ]
    files += [
        FileChange(rel, "edit", f"remove {key}.{slug}; the `for slug in` comment drops {slug}")
        for rel, key in stack_keys
    ]
    for rel in sorted(
        {str(p.relative_to(root)) for p in stacks.values()} - {r for r, _ in stack_keys}
    ):
        if _comment_names(root / rel, slug):
            files.append(FileChange(rel, "edit", f"the `for slug in` comment drops {slug}"))
    for sid, whole in sys_entries:
        detail = (
            f"remove system {sid} (only {slug} used it)"
            if whole
            else f"remove {slug} from system {sid}"
        )
        files.append(FileChange(systems.SYSTEMS_FILE, "edit", detail))
    return OffboardPlan(
        slug=slug,
        name=m.name,
        kommunenummer=m.kommunenummer,
        backups=backups,
        resources=resources,
        secrets=secrets,
        shares=shares,
        files=files,
        steps=_steps(slug, resources, stacks),
        notes=_notes(slug, backup_cfg),
        stack_keys=stack_keys,
        systems_entries=sys_entries,
    )


def _comment_names(path: Path, slug: str) -> bool:
    return any(
        line.lstrip().startswith("#") and slug in comment_loop_words(line)
        for line in path.read_text(encoding="utf-8").splitlines()
    )


def comment_loop_words(line: str) -> list[str]:
    """The words of a `for slug in a b c; do` loop in a comment line, else []."""
    text = line.lstrip().lstrip("#").strip()
    if not text.startswith("for slug in ") or "; do" not in text:
        return []
    return text[len("for slug in ") : text.index("; do")].split()


def _backup_plan(
    m: Municipality,
    model: Region,
    cfg: dict[str, Any],
    clients: list[str],
    last_backup: dt.date,
    stacks: dict[str, Path],
    resources: list[AzureResource],
) -> BackupPlan:
    container = naming.container_name(m.slug)
    records = records_container(m.slug)
    rules = resolve(model.region.backup_retention, m.backup_retention)
    kept_until = retention_end(last_backup, rules)
    delete_days = _int(cfg, "ilag:deleteRetentionDays", DEFAULT_DELETE_RETENTION_DAYS)
    worm = _int(cfg, "ilag:backupImmutabilityDays", 0)
    gone_by = kept_until + dt.timedelta(days=VERSION_DELETE_AFTER_DAYS + delete_days)
    if worm:
        gone_by = max(gone_by, kept_until + dt.timedelta(days=worm))
    backup_stack = next((s for s in stacks if _kind(s) == "backup"), "backup")
    kept = next(
        (r for r in resources if r.fate == "kept"),
        AzureResource(backup_stack, "", container, f"<urn of {container}>", "kept"),
    )
    reader = next(
        (r.urn for r in resources if "storage-blob-data-reader" in r.name),
        "<urn of the technicians' reader role>",
    )
    remote = "$ILAG_OPERATOR_RCLONE_REMOTE"
    repos = [f"{container}/{h}" for h in clients]
    before_steps = [
        f"ilag backup prune {m.slug} --yes   # the last prune with its keep rules",
        f"pulumi destroy --target '{reader}' -s {kept.stack}   # its technicians' read access",
        f"pulumi state delete '{kept.urn}' -s {kept.stack}   # the container leaves the state, "
        "not Azure",
    ]
    keep_steps = [
        f"rclone lsd {remote}:{container}   # the operator still reads every repository",
        f"# after {kept_until.isoformat()}: az storage container delete --name {container} "
        "--account-name <backup account> --auth-mode login",
    ]
    export_steps = [
        f"rclone copy {remote}:{records} <operators' archive>/{records} --checksum",
    ]
    for h in clients:
        export_steps.append(
            f"restic -r <their repository>/{h} init --from-repo rclone:{remote}:{container}/{h} "
            "--from-password-file <file with its restic password> --copy-chunker-params"
        )
        export_steps.append(
            f"restic -r <their repository>/{h} copy --from-repo rclone:{remote}:{container}/{h} "
            "--from-password-file <file with its restic password>"
        )
        export_steps.append(f"restic -r <their repository>/{h} check")
    export_steps.append(
        f"# or the repositories as they are: rclone copy {remote}:{container} "
        "<their remote>:<their container> --checksum (hand over its restic password apart)"
    )
    return BackupPlan(
        container=container,
        records_container=records,
        repositories=repos,
        retention=rules.describe() if rules else "(no keep rules)",
        last_backup=last_backup,
        kept_until=kept_until,
        versions_gone_by=gone_by,
        delete_retention_days=delete_days,
        immutability_days=worm,
        before_steps=before_steps,
        keep_steps=keep_steps,
        export_steps=export_steps,
    )


def _steps(slug: str, resources: list[AzureResource], stacks: dict[str, Path]) -> list[str]:
    network = next((s for s in stacks if _kind(s) == "network"), "network")
    backup = next((s for s in stacks if _kind(s) == "backup"), "backup")
    return [
        "the Backups steps before the apply; the export and handover, if agreed",
        f"ilag offboard {slug} --apply",
        "ilag validate",
        "ilag diff   # review, then commit; it lists the backup container as a delete: "
        "the declaration goes, and after `pulumi state delete` Pulumi no longer manages it",
        f"pulumi up -s {network}   # its VPN connections and local gateways go",
        f"pulumi up -s {backup}   # its SAS, site secret, records container and reader roles go",
        "ilag costs <next month's export>   # the new cost key applies",
    ]


def _notes(slug: str, backup_cfg: dict[str, Any]) -> list[str]:
    expiry = backup_cfg.get("ilag:sasExpiry", "ilag:sasExpiry")
    return [
        f"The sites' container SAS stays valid until {expiry}: it is signed with the account "
        "key. To cut it off sooner, rotate that key, `pulumi up` the backup stack and "
        "`ilag apply --all` so the other sites get new SAS.",
        f"Shared resources whose rules list {slug}'s networks (the hub's NSGs) change in "
        "place; `ilag diff` shows them.",
        f"{slug}'s on-site servers keep their configuration: wipe their credentials locally "
        "(restic password, SAS, node certificate) with the municipality.",
    ]


def percent(share: Fraction) -> str:
    return f"{float(share * 100):.2f} %"
