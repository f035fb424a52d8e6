"""The plan of a municipality's joining, computed offline from the repository's files.

The new region.yaml is built as text and read back by the region model in memory, so every rule
of model/region.py (overlapping prefixes, a duplicate slug or kommunenummer, a bad endpoint)
refuses the input before any file is touched. `onboard_apply` then checks the whole result
with `ilag validate` in a staging copy and writes it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ilag_infra.model import cost, inventory, naming, offboard, onboard_text, yamlsource
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.offboard import AzureResource, ShareChange
from ilag_infra.model.onboard_spec import CLI, HostSpec, SiteSpec
from ilag_infra.model.region import LoadedRegion, Municipality, parse
from ilag_infra.model.yamlsource import YamlSourceError

# The technician group's object id until the real one is known: the zero-id placeholder of
# model/placeholders.py with the kommunenummer at the end, like every shipped municipality.
PLACEHOLDER_GROUP = "00000000-0000-0000-0000-00000000{}"
# Each municipality's node (role ilag_node): runs are handed to it.
NODE_GROUP = "ilag_nodes"
BACKUP_GROUP = "backup_clients"
# The restic password's two homes: the ansible-vault file that `ilag apply` opens with the
# vault password file named by the variable (onsite/operator.py), and the backup stack's escrow.
VAULT_FILE = "vault.yml"
VAULT_KEY = "vault_restic_password"
VAULT_PASSWORD_ENV = "ILAG_VAULT_PASSWORD_FILE"
RESTIC_PASSWORDS = "ilag:resticPasswords"
_INDEXED = re.compile(r"municipalities\[(\d+)\]\.?(.*)")
_SITE_KEY = re.compile(r"sites\[(\d+)\]")
_OPTIONS = {
    "slug": "KOMMUNE",
    "name": "--name",
    "kommunenummer": "--kommunenummer",
    "population": "--population",
    "spoke_prefix": "--spoke-prefix",
    "technician_group_object_id": "--technician-group",
    "sites": "--site",
}


@dataclass(frozen=True)
class Request:
    """What the command line asks for."""

    slug: str
    name: str
    kommunenummer: str
    population: int
    spoke_prefix: str | None
    sites: tuple[SiteSpec, ...]
    hosts: tuple[HostSpec, ...]
    technician_group: str | None = None


@dataclass(frozen=True)
class FileWrite:
    path: str  # relative to the repository
    action: str  # "create" a file, "edit" a file
    detail: str
    added: str  # the text it adds, shown in the plan


@dataclass(frozen=True)
class SecretStep:
    where: str
    key: str
    command: str
    note: str


@dataclass
class OnboardPlan:
    slug: str
    name: str
    kommunenummer: str
    resources: list[AzureResource]
    secrets: list[SecretStep]
    shares: list[ShareChange]
    files: list[FileWrite]
    steps: list[str]
    notes: list[str] = field(default_factory=list)
    # The whole new text of every file written, relative path → text (not shown as is).
    texts: dict[str, str] = field(default_factory=dict, repr=False)


def _cli_problem(p: Problem, index: int, sites: tuple[SiteSpec, ...], slugs: list[str]) -> Problem:
    """A region.yaml problem of the new entry, named by the option that gave the value, and
    the other municipality it names by its slug too."""
    found = _INDEXED.fullmatch(p.key)
    if not found or int(found.group(1)) != index:
        return p
    message = re.sub(
        r"municipalities\[(\d+)\](?![.\w])",
        lambda m: (
            f"{slugs[int(m.group(1))]} (municipalities[{m.group(1)}])"
            if int(m.group(1)) < len(slugs)
            else m.group(0)
        ),
        p.message,
    )
    rest = found.group(2)
    option = _OPTIONS.get(re.split(r"[.\[]", rest)[0], rest or "KOMMUNE")
    site = _SITE_KEY.match(rest.partition(".")[2] or "") or _SITE_KEY.match(rest)
    if site and int(site.group(1)) < len(sites):
        option = f"--site {sites[int(site.group(1))].name}"
    return Problem(CLI, option, message, p.fix)


def _slug_problems(loaded: LoadedRegion, root: Path, slug: str) -> list[Problem]:
    inv_dir = root / inventory.INVENTORY_DIR / slug
    if slug in inventory.SHARED_ENTRIES or inv_dir.exists():
        return [
            Problem(
                str(inv_dir.relative_to(root)),
                "(directory)",
                f"{inv_dir.relative_to(root)} exists already; onboard writes a new inventory",
                "pick another slug, or remove that directory if it is a leftover",
            )
        ]
    if slug in loaded.model.slugs:
        return [
            Problem(
                CLI,
                "KOMMUNE",
                f"{slug!r} is a municipality already",
                f"choose a new slug; taken: {', '.join(loaded.model.slugs)}",
            )
        ]
    return []


def known_groups(root: Path) -> set[str]:
    """Groups a host may join: those the existing inventories use, and those with group_vars."""
    groups: set[str] = set()
    for slug in inventory.inventory_slugs(root):
        inv, _, problems = inventory.load(root, slug)
        if not problems:
            groups |= set(inv.groups) - {"all", slug}
    base = root / inventory.INVENTORY_DIR / "group_vars"
    groups |= {p.stem for p in base.glob("*.y*ml")} - {"all"}
    return groups


def _group_problems(hosts: tuple[HostSpec, ...], known: set[str]) -> list[Problem]:
    problems = []
    for host in hosts:
        for group in host.groups:
            if group in known:
                continue
            close = difflib.get_close_matches(group, sorted(known), n=1)
            problems.append(
                Problem(
                    CLI,
                    f"--host {host.name}",
                    f"group {group!r} is used by no inventory and has no group_vars: no "
                    "play would run on it",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + f"use one of: {', '.join(sorted(known))}",
                )
            )
    if NODE_GROUP in known and hosts and not any(NODE_GROUP in h.groups for h in hosts):
        problems.append(
            Problem(
                CLI,
                "--host",
                f"no host is in group {NODE_GROUP}: every run of a municipality is handed to "
                "its node, as in every other inventory",
                f"add {NODE_GROUP} to one server's groups, e.g. --host "
                f"{hosts[-1].name}={hosts[-1].address}:{','.join((*hosts[-1].groups, NODE_GROUP))}",
            )
        )
    seen: set[str] = set()
    for host in hosts:
        if host.name in seen:
            problems.append(
                Problem(
                    CLI,
                    f"--host {host.name}",
                    "is given twice",
                    "give each host once, with all its groups after ':'",
                )
            )
        seen.add(host.name)
    return problems


def new_region(
    loaded: LoadedRegion, request: Request
) -> tuple[str, LoadedRegion | None, list[Problem]]:
    """The new region.yaml text and its model, read by the region model in memory; or the
    problems, named by the command-line option that gave the value."""
    text = loaded.path.read_text(encoding="utf-8")
    group = request.technician_group or PLACEHOLDER_GROUP.format(request.kommunenummer)
    entry = onboard_text.region_entry(
        request.slug,
        request.name,
        request.kommunenummer,
        request.population,
        request.spoke_prefix,
        group,
        request.technician_group is None,
        request.sites,
        onboard_text.item_indent(text),
    )
    new = onboard_text.append_entry(text, entry)
    if new is None:
        problem = Problem(
            str(loaded.path), "municipalities", "there is no municipalities list", "add one"
        )
        return text, None, [problem]
    index = len(loaded.model.municipalities)
    try:
        data, lines = yamlsource.loads(new, str(loaded.path))
        result = parse(data, lines, loaded.path)
    except YamlSourceError as exc:
        return new, None, [exc.problem]
    except InputError as exc:
        slugs = loaded.model.slugs
        return new, None, [_cli_problem(p, index, request.sites, slugs) for p in exc.problems]
    return new, result, []


def _resources(root: Path, loaded: LoadedRegion, m: Municipality) -> list[AzureResource]:
    """What each stack will declare for the municipality: the same derivation as offboard's,
    which tests hold against the stacks' real programs."""
    model = loaded.model
    out: list[AzureResource] = []
    for stack, path in offboard.stack_files(root).items():
        cfg = offboard.stack_config(path)
        env = str(cfg.get("ilag:environment") or stack.partition("-")[2] or "prod")
        names = naming.Names(model.region.name, env, model.region.location)
        kind = stack.partition("-")[0]
        if kind == "network":
            egress = str(cfg.get("ilag:egress", "nat-gateway"))
            out += offboard.network_resources(stack, m, names, model.region.dns_domain, egress)
        elif kind == "backup":
            out += offboard.backup_resources(stack, m.slug)
    return [dataclasses.replace(r, fate="added") for r in out]


def vault_file(slug: str) -> str:
    """The municipality's ansible-vault file, where `ilag apply` (onsite/operator.py) reads
    vault_restic_password: under the group_vars of its own group."""
    return f"{inventory.INVENTORY_DIR}/{slug}/group_vars/{slug}/{VAULT_FILE}"


def _vpn_secrets(root: Path, slug: str) -> tuple[list[SecretStep], list[str]]:
    """The VPN pre-shared key per network stack."""
    steps, notes = [], []
    for stack, path in offboard.stack_files(root).items():
        if stack.partition("-")[0] != "network":
            continue
        rel = str(path.relative_to(root))
        key = f"{offboard.VPN_KEYS}.{slug}"
        steps.append(
            SecretStep(
                rel,
                key,
                f"pulumi config set --secret --path '{key}' \"$(openssl rand -base64 32)\" "
                f"-s {stack}",
                "one IPsec key for all its sites, generated; hand it to the municipality's "
                "firewall on a secure channel (docs/operators.md, Secrets)",
            )
        )
        if offboard.VPN_KEYS in offboard.stack_config(path):
            notes.append(
                f"{rel} sets {offboard.VPN_KEYS} for the other municipalities: until {key} "
                f"is set, `ilag plan -s {stack}` and `pulumi up` stop and print that command."
            )
    return steps, notes


def _restic_secrets(root: Path, slug: str) -> tuple[list[SecretStep], list[str]]:
    """The restic password: created once in the vault file (`ilag apply` hands it to the
    servers), then copied as it is into each backup stack's escrow (docs/backup.md)."""
    vault = vault_file(slug)
    steps = [
        SecretStep(
            vault,
            VAULT_KEY,
            f'ansible-vault create --vault-password-file "${VAULT_PASSWORD_ENV}" {vault}',
            f"its restic password: write `{VAULT_KEY}: <long random>` (e.g. from "
            "`openssl rand -base64 32`) in the editor; stored only encrypted, with the vault "
            f"password that {VAULT_PASSWORD_ENV} names for `ilag apply`",
        )
    ]
    notes = []
    for stack, path in offboard.stack_files(root).items():
        if stack.partition("-")[0] != "backup":
            continue
        rel = str(path.relative_to(root))
        key = f"{RESTIC_PASSWORDS}.{slug}"
        steps.append(
            SecretStep(
                rel,
                key,
                f"pulumi config set --secret --path '{key}' -s {stack}",
                f"the escrow: the SAME password as {VAULT_KEY} (`ansible-vault view {vault}`), "
                "never a new one; paste it at the prompt. The stack writes it to Key Vault as "
                f"restic-password-{slug}",
            )
        )
        if RESTIC_PASSWORDS in offboard.stack_config(path):
            notes.append(
                f"{rel} sets {RESTIC_PASSWORDS} for the other municipalities: until {key} "
                f"is set, `ilag plan -s {stack}` and `pulumi up` stop and print that command."
            )
    return steps, notes


def _secrets(root: Path, slug: str, placeholder: bool) -> tuple[list[SecretStep], list[str]]:
    """The secrets the operator sets with ansible-vault and the Pulumi CLI (encrypted by the
    vault or the stack's secrets provider), never written here in plain text."""
    vpn, vpn_notes = _vpn_secrets(root, slug)
    restic, restic_notes = _restic_secrets(root, slug)
    steps = [*vpn, *restic]
    if placeholder:
        steps.append(
            SecretStep(
                "region.yaml",
                "technician_group_object_id",
                "(edit region.yaml, or give --technician-group)",
                "a placeholder until the Object ID of its technician group in Entra ID is written",
            )
        )
    return steps, [*vpn_notes, *restic_notes]


def plan(loaded: LoadedRegion, root: Path, request: Request) -> OnboardPlan:
    """The whole joining of one municipality; InputError names what stops it."""
    problems = _slug_problems(loaded, root, request.slug)
    problems += _group_problems(request.hosts, known_groups(root))
    region_text, new, region_problems = new_region(loaded, request)
    problems += region_problems
    if problems or new is None:
        raise InputError(problems)
    m = new.model.municipality(request.slug)
    region_rel = loaded.path.name  # the repository is the directory holding region.yaml
    inv_rel = str(inventory.inventory_path(root, m.slug).relative_to(root))
    sites = ", ".join(s.name for s in m.sites)
    hosts_text = onboard_text.hosts_file(
        m.slug, m.name, m.kommunenummer, sites, list(request.hosts)
    )
    old_text = loaded.path.read_text(encoding="utf-8")
    texts = {region_rel: region_text, inv_rel: hosts_text}
    files = [
        FileWrite(
            region_rel,
            "edit",
            f"add the municipalities entry {m.slug} ({m.name})",
            _added(old_text, region_text),
        ),
        FileWrite(
            inv_rel,
            "create",
            f"{len(request.hosts)} host(s): {', '.join(h.name for h in request.hosts)}",
            hosts_text,
        ),
    ]
    for path in offboard.stack_files(root).values():
        rel = str(path.relative_to(root))
        before = path.read_text(encoding="utf-8")
        after = onboard_text.add_to_comment_loops(before, m.slug)
        if after != before:
            texts[rel] = after
            files.append(
                FileWrite(
                    rel, "edit", f"the `for slug in` comment names {m.slug}", _added(before, after)
                )
            )
    before_shares, after_shares = cost.exact_shares(loaded.model), cost.exact_shares(new.model)
    shares = [
        ShareChange(x.slug, x.name, before_shares.get(x.slug, Fraction(0)), after_shares[x.slug])
        for x in new.model.municipalities
    ]
    secrets, notes = _secrets(root, m.slug, request.technician_group is None)
    return OnboardPlan(
        slug=m.slug,
        name=m.name,
        kommunenummer=m.kommunenummer,
        resources=_resources(root, new, m),
        secrets=secrets,
        shares=shares,
        files=files,
        steps=_steps(root, m.slug),
        notes=[*notes, *_notes(m, request.hosts)],
        texts=texts,
    )


def _added(before: str, after: str) -> str:
    """The lines after has and before has not, as the plan shows them."""
    old = before.splitlines()
    lines = [
        line[1:]
        for line in difflib.unified_diff(old, after.splitlines(), lineterm="", n=0)
        if line.startswith("+") and not line.startswith("+++")
    ]
    return "\n".join(lines) + "\n"


def _steps(root: Path, slug: str) -> list[str]:
    stacks = offboard.stack_files(root)
    network = next((s for s in stacks if s.partition("-")[0] == "network"), "network")
    backup = next((s for s in stacks if s.partition("-")[0] == "backup"), "backup")
    return [
        f"ilag onboard {slug} … --apply   # the same options; runs ilag validate",
        "ilag diff   # review its Azure resources and hosts, then commit",
        f'ansible-vault create --vault-password-file "${VAULT_PASSWORD_ENV}" '
        f"{vault_file(slug)}   # {VAULT_KEY}: <long random>",
        f"pulumi config set --secret --path '{RESTIC_PASSWORDS}.{slug}' -s {backup}"
        f"   # the same password as {VAULT_KEY}, at the prompt",
        f"pulumi config set --secret --path '{offboard.VPN_KEYS}.{slug}' "
        f'"$(openssl rand -base64 32)" -s {network}',
        f"pulumi up -s {network}   # its VPN connections, local gateways (and spoke)",
        f"pulumi up -s {backup}   # its backup and records containers, SAS and reader roles",
        f"ilag apply {slug}   # first converge of its servers",
        f"ilag backup run {slug}   # its first backup, then `ilag drill {slug}`",
    ]


def _notes(m: Municipality, hosts: tuple[HostSpec, ...]) -> list[str]:
    notes = [
        f"Lab: `ilag lab up` boots the first hosts of inventories/{m.slug}/hosts.yml "
        "(--hosts-per-municipality, default 2); a lab that is up is rebuilt, because the "
        "list of municipalities changed.",
    ]
    if not any(BACKUP_GROUP in h.groups for h in hosts):
        notes.append(
            f"No host is in group {BACKUP_GROUP}: nothing of {m.slug} is backed up until one is."
        )
    if m.spoke_prefix is None:
        notes.append(
            "No --spoke-prefix: no spoke VNet in Azure, only its VPN sites. Add spoke_prefix "
            "to its entry later to give it one."
        )
    return notes
