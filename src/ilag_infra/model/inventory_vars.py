"""The variable files Ansible loads beside each inventory: group_vars/ and host_vars/.

Ansible reads them for every run (inventories/group_vars/ for every municipality through
region.yml), so they get the same limits as region.yaml, and what they may not do is
refused here: redirect a host away from the address validate checked, or name a host that
does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ilag_infra.model import formats, yamlsource
from ilag_infra.model.errors import Problem
from ilag_infra.model.yamlsource import format_path, line_of

# Variables that decide where and how a run connects. Set anywhere but beside a host's
# checked ansible_host, they send the run elsewhere (another address, a ProxyCommand, the
# control machine itself).
CONNECTION_VARS = frozenset(
    {
        "ansible_host",
        "ansible_ssh_host",
        "ansible_connection",
        "ansible_ssh_common_args",
        "ansible_ssh_extra_args",
        "ansible_ssh_args",
        "ansible_ssh_executable",
    }
)
# The names Ansible loads as variable files: group_vars/all, all.yml, all.yaml, all.json.
EXTENSIONS = ("", ".yml", ".yaml", ".json")
VAULT_HEADER = "$ANSIBLE_VAULT;"
VARS_DIRS = ("group_vars", "host_vars")


def var_files(base: Path) -> Iterator[tuple[str, str, Path]]:
    """(kind, owner, file) for every file Ansible loads from base/group_vars and host_vars:
    `owner.yml` and every file below a directory `owner/`."""
    for kind in VARS_DIRS:
        folder = base / kind
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.is_dir():
                for file in sorted(p for p in entry.rglob("*") if p.is_file()):
                    if file.suffix in EXTENSIONS and not file.name.startswith("."):
                        yield kind, entry.name, file
            elif entry.suffix in EXTENSIONS and not entry.name.startswith("."):
                yield kind, entry.name.removesuffix(entry.suffix), entry


def check_file(path: Path, kind: str, owner: str, known_hosts: set[str] | None) -> list[Problem]:
    """One group_vars or host_vars file: readable YAML within the limits, a mapping of
    variable names, nothing that redirects a connection, and a host_vars file for a host
    (when the hosts are known: an inventory that does not read leaves them unknown)."""
    problems: list[Problem] = []
    if (
        kind == "host_vars"
        and known_hosts is not None
        and owner.lower() not in {h.lower() for h in known_hosts}
    ):
        declared = path.parent.parent / "hosts.yml"
        where = declared if declared.is_file() else "no municipality's hosts.yml"
        problems.append(
            Problem(
                str(path),
                "(file)",
                f"host_vars for {owner!r}, which {where} does not declare",
                "rename the file after its host (as in hosts.yml), or remove it",
            )
        )
    try:
        head = path.read_text(encoding="utf-8")[: len(VAULT_HEADER)]
    except (OSError, UnicodeDecodeError, ValueError):
        head = ""
    if head == VAULT_HEADER:
        return problems  # a whole-file vault: its content is checked when it is opened
    try:
        data, lines = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        return [*problems, exc.problem]
    if data is None:
        return problems
    if not isinstance(data, dict):
        problems.append(
            Problem(
                str(path),
                "(top level)",
                f"a {kind} file holds variables, but this is not a mapping",
                "write one `name: value` per line, e.g. network__group_allow: []",
            )
        )
        return problems
    for name in data:
        key = (str(name),)

        def bad(message: str, fix: str, key: tuple[str, ...] = key) -> None:
            problems.append(Problem(str(path), format_path(key), message, fix, line_of(lines, key)))

        if not formats.matches(formats.VARIABLE, name):
            bad(
                f"{name!r} is not a variable name (letters, digits and _, not starting with a "
                "digit)",
                "rename it; roles read variables named <role>__<name>",
            )
        elif name in CONNECTION_VARS:
            bad(
                f"{name} in {kind}/{owner}: it would override the address validate checked "
                "for the host",
                "set ansible_host under the host in its hosts.yml, and nothing that redirects it",
            )
    return problems


def check_all(inventories: Path, hosts: dict[str, set[str] | None]) -> list[Problem]:
    """Every variable file under inventories/: the region-wide ones (every municipality's
    hosts known) and each municipality's own (its hosts known). None: that inventory does
    not read, so its hosts are unknown."""
    known = list(hosts.values())
    everyone = None if None in known else {h for names in known if names for h in names}
    problems: list[Problem] = []
    bases: list[tuple[Path, set[str] | None]] = [(inventories, everyone)]
    bases += [(inventories / slug, names) for slug, names in sorted(hosts.items())]
    for base, names in bases:
        for kind, owner, file in var_files(base):
            problems.extend(check_file(file, kind, owner, names))
    return problems
