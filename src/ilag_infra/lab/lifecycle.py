"""`ilag lab up | down | status`, and the helpers tests use to simulate outages."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ilag_infra.lab import (
    azurite,
    base,
    cgroups,
    hosts,
    inotify,
    inventory,
    keys,
    net,
    outputs,
    rebuild,
    state,
)
from ilag_infra.lab.errors import LabError
from ilag_infra.lab.names import (
    inventory_file,
    lab_host_names,
    read_inventory_group,
    read_inventory_hosts,
)
from ilag_infra.lab.overlay import mounts_under, remove_tree
from ilag_infra.lab.paths import OWNER_FILE, STATE_DIR_ENV, LabPaths, lab_paths
from ilag_infra.lab.proc import cmdline, overlay_upper_of_root
from ilag_infra.lab.state import BridgeState, HostState, LabState
from ilag_infra.model.errors import InventoryError, Problem
from ilag_infra.model.naming import container_name
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.stack_outputs import records_container
from ilag_infra.onsite import escrow

Progress = Callable[[str], None]
SSH_TIMEOUT = 120.0


def _quiet(_: str) -> None:
    pass


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (debootstrap, mount, ip link, systemd-nspawn); run it as root"
        )


@dataclass(frozen=True)
class _Wanted:
    """What `up` will build, computed (and validated) before anything is touched."""

    netplan: net.NetPlan
    names: dict[str, list[str]]
    inventory_names: dict[str, list[str]]
    # Each municipality's node hosts (inventory group ilag_nodes).
    nodes: dict[str, list[str]]


def _plan(
    region: LoadedRegion, repo_root: Path, hosts_per_municipality: int, lab_prefix: str
) -> _Wanted:
    slugs = region.model.slugs
    netplan = net.plan(lab_prefix, slugs, hosts_per_municipality)
    inv = {s: read_inventory_hosts(inventory_file(repo_root, s)) for s in slugs}
    names = {s: lab_host_names(s, inv[s], hosts_per_municipality) for s in slugs}
    seen: dict[str, str] = {}
    for slug, hostnames in names.items():
        for name in hostnames:
            if name in seen:
                raise InventoryError(
                    [
                        Problem(
                            str(inventory_file(repo_root, slug)),
                            name,
                            f"host {name} is also in the inventory of {seen[name]}",
                            "give every host its own name",
                        )
                    ]
                )
            seen[name] = slug
    nodes = {
        s: read_inventory_group(inventory_file(repo_root, s), inventory.NODE_GROUP) for s in slugs
    }
    return _Wanted(netplan, names, inv, nodes)


def _host_states(paths: LabPaths, wanted: _Wanted) -> list[HostState]:
    out = []
    for n in wanted.netplan.nets:
        for i, name in enumerate(wanted.names[n.slug]):
            d = paths.host_dir(name)
            out.append(
                HostState(
                    name=name,
                    slug=n.slug,
                    ip=str(n.host_ip(i)),
                    bridge=n.bridge,
                    root=str(d / "root"),
                    upper=str(d / "upper"),
                    work=str(d / "work"),
                    log=str(d / "console.log"),
                )
            )
    return out


# --- teardown and leftovers ------------------------------------------------------------------


def _other_owner(paths: LabPaths) -> Path | None:
    """The state dir of another lab that holds this machine's lab interfaces, if any."""
    try:
        owner = Path(OWNER_FILE.read_text().strip())
    except OSError:
        return None
    if owner == paths.state or not (owner / "state.json").exists():
        return None
    return owner


def _refuse_other_lab(paths: LabPaths) -> None:
    """Refuse to build next to another lab: bridge names and routes are machine-wide."""
    other = _other_owner(paths)
    if other is not None:
        raise LabError(
            f"a lab with state dir {other} is up on this machine; only one lab fits "
            f"(interfaces are machine-wide)\n    fix: {STATE_DIR_ENV}={other} ilag lab down"
        )


def _claim_machine(paths: LabPaths) -> None:
    OWNER_FILE.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    OWNER_FILE.write_text(f"{paths.state}\n")


def _release_machine(paths: LabPaths) -> None:
    with contextlib.suppress(OSError):
        if Path(OWNER_FILE.read_text().strip()) == paths.state:
            OWNER_FILE.unlink()


def leftovers(paths: LabPaths) -> list[str]:
    """Everything of a lab still present on this machine, described for a person.

    Interfaces and routes count only if no other lab (another state dir) owns them.
    """
    found = []
    for pid in hosts.nspawn_pids_under(paths.state):
        found.append(f"systemd-nspawn process {pid}")
    for pid in hosts.rooted_pids(paths.hosts):
        found.append(f"container process {pid} (root overlay {overlay_upper_of_root(pid)})")
    for pid in azurite.pids_for(paths.azurite):
        found.append(f"Azurite process {pid}")
    for mount in mounts_under(paths.state):
        found.append(f"mount {mount}")
    for group in cgroups.leftover_groups():
        found.append(f"cgroup {group}")
    if _other_owner(paths) is None:
        for ifname in net.lab_interfaces():
            found.append(f"interface {ifname}")
        for dst in net.lab_routes():
            found.append(f"route {dst}")
    return found


def _stop_all_hosts(paths: LabPaths, recorded: LabState | None, progress: Progress) -> None:
    targets: dict[str, HostState] = {}
    if recorded:
        targets = {h.root: h for h in recorded.hosts}
    # nspawn processes the record missed (killed between boot and save).
    for pid in hosts.nspawn_pids_under(paths.state):
        argv = cmdline(pid)
        root = next(a.split("=", 1)[1] for a in argv if a.startswith("--directory="))
        if root in targets and targets[root].nspawn_pid != pid:
            targets[root] = targets[root].model_copy(update={"nspawn_pid": pid})
        elif root not in targets:
            name = Path(root).parent.name
            targets[root] = HostState(
                name=name,
                slug="",
                ip="",
                bridge="",
                root=root,
                upper="",
                work="",
                log="",
                nspawn_pid=pid,
            )
    running = [
        h for h in targets.values() if h.nspawn_pid and hosts.is_nspawn_of(h.nspawn_pid, h.root)
    ]
    if running:
        progress(f"stopping {len(running)} lab host(s)")
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(targets)))) as pool:
        clean = list(pool.map(hosts.stop_host, targets.values()))
    forced = [h.name for h, ok in zip(targets.values(), clean, strict=True) if not ok]
    if forced:
        progress(f"  not a clean poweroff (orphaned or killed): {', '.join(forced)}")


def _teardown(paths: LabPaths, progress: Progress) -> None:
    """Remove every trace of a lab (recorded or discovered), keeping only paths.keys."""
    recorded = state.load(paths)
    _stop_all_hosts(paths, recorded, progress)
    # Orphans whose nspawn was killed outright: anything still rooted in a host dir.
    stray = hosts.kill_rooted(paths.hosts)
    if stray:
        progress(f"stopped {len(stray)} orphaned container process(es)")
    if recorded and recorded.inotify_original:
        # Only once the hosts are gone: a lowered limit must not hit running containers.
        for line in inotify.restore(recorded.inotify_original, recorded.inotify_raised):
            progress(line)
    if azurite.pids_for(paths.azurite):
        progress("stopping Azurite")
        azurite.stop(paths.azurite)
    for mount in mounts_under(paths.state):
        progress(f"unmounting {mount}")
    remove_tree(paths.hosts)
    for group in cgroups.remove_all():
        progress(f"cgroup {group} is still in use")
    if _other_owner(paths) is None:
        net.destroy()
        _release_machine(paths)
    for generated in (paths.azurite, paths.inventory, paths.known_hosts, paths.escrow):
        remove_tree(generated)
    for f in (paths.outputs_file, paths.azurite_log, paths.state_file):
        f.unlink(missing_ok=True)


def down(purge: bool = False, progress: Progress = _quiet) -> None:
    """Stop and remove the lab, then verify that nothing of it remains (LabError if something does).

    The lab's identity (operator key, user CA, restic passwords) is kept for the next `up`
    unless purge is set.
    """
    _require_root()
    paths = lab_paths()
    if not paths.state.exists() and not leftovers(paths):
        progress("no lab on this machine")
        return
    start = time.monotonic()
    with state.locked(paths):
        _teardown(paths, progress)
        left = leftovers(paths)
        if left:
            raise LabError(
                "the lab was not removed completely; still present:\n    "
                + "\n    ".join(left)
                + "\n    fix: run `ilag lab down` again; if it persists, remove these by hand"
            )
        if purge:
            remove_tree(paths.keys)
    if purge:
        paths.lock_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            paths.state.rmdir()
    progress(f"lab removed in {time.monotonic() - start:.1f} s; nothing left")


# --- up --------------------------------------------------------------------------------------


def _same_lab(recorded: LabState, wanted_hosts: list[HostState], netplan: net.NetPlan) -> bool:
    have = [(h.name, h.slug, h.ip, h.bridge) for h in recorded.hosts]
    want = [(h.name, h.slug, h.ip, h.bridge) for h in wanted_hosts]
    return (
        recorded.phase == "up"
        and have == want
        and recorded.lab_prefix == str(netplan.prefix)
        and recorded.service_ip == str(netplan.service_ip)
    )


def up(
    region: LoadedRegion,
    repo_root: Path,
    hosts_per_municipality: int = 2,
    lab_prefix: str = net.DEFAULT_LAB_PREFIX,
    progress: Progress = _quiet,
) -> LabState:
    """Build the lab (or keep a healthy one that matches) and return its state.

    If only some hosts of a matching lab are sick (not running, no SSH answer), only those are
    rebuilt and re-pinned; the others keep their converge state. Anything else wrong rebuilds
    the whole lab.

    Bad input (prefix, host count, inventories, an address overlap) raises InputError before
    anything is created. A lab left by a killed run is removed first.
    """
    _require_root()
    repo_root = repo_root.absolute()
    wanted = _plan(region, repo_root, hosts_per_municipality, lab_prefix)
    azurite.azurite_binary(repo_root)
    paths = lab_paths()
    netplan = wanted.netplan
    started = time.monotonic()
    with state.locked(paths):
        host_states = _host_states(paths, wanted)
        recorded = state.load(paths)
        if recorded and _same_lab(recorded, host_states, netplan):
            report = _status(paths, recorded)
            if report.healthy:
                # The escrow is rewritten from the kept passwords, as `pulumi up` would set a
                # changed or deleted Key Vault secret back to its config value.
                _write_escrow(paths, [n.slug for n in netplan.nets], progress)
                progress("the lab is already up and healthy; nothing to do")
                return recorded
            sick = hosts_to_repair(report)
            if sick and base.base_is_current(paths):
                _write_escrow(paths, [n.slug for n in netplan.nets], progress)
                _repair(paths, recorded, sick, progress)
                progress(f"lab repaired in {time.monotonic() - started:.1f} s")
                return recorded
            progress("rebuilding the whole lab: " + "; ".join(report.problems))
        # Checked before the previous lab is removed: bad input changes nothing.
        _refuse_other_lab(paths)
        net.check_free(netplan.prefix)
        if recorded or leftovers(paths):
            progress("removing the previous lab first")
            _teardown(paths, progress)
        _claim_machine(paths)

        base_root, _ = base.ensure_base(paths, progress)
        operator_public = keys.ensure_operator_key(paths)
        ca_public = keys.ensure_user_ca(paths)
        passwords = keys.ensure_restic_passwords(paths, [n.slug for n in netplan.nets])

        lab = LabState(
            state_dir=str(paths.state),
            repo_root=str(repo_root),
            region_file=str(region.path.absolute()),
            lab_prefix=str(netplan.prefix),
            hosts_per_municipality=hosts_per_municipality,
            service_ip=str(netplan.service_ip),
            bridges=[
                BridgeState(
                    slug=n.slug, name=n.bridge, subnet=str(n.subnet), gateway=str(n.gateway)
                )
                for n in netplan.nets
            ],
            hosts=host_states,
        )
        # Recorded before creation: a run killed from here on leaves a map for the next one.
        state.save(paths, lab)
        progress(
            f"networks: {len(netplan.nets)} bridges in {netplan.prefix}, services on {netplan.service_ip}"
        )
        net.create(netplan)

        progress("starting Azurite")
        lab.azurite_pid = azurite.start(
            repo_root, str(netplan.service_ip), paths.azurite, paths.azurite_log
        )
        lab.blob_endpoint = azurite.blob_endpoint(str(netplan.service_ip))
        state.save(paths, lab)
        containers = {n.slug: container_name(n.slug) for n in netplan.nets}
        for name in containers.values():
            azurite.create_container(lab.blob_endpoint, name)
        # Each site's SAS is bound to a stored access policy of its own container, so one
        # site can be revoked (`ilag backup revoke`) without touching the others.
        policies = {slug: azurite.new_policy_id() for slug in containers}
        for slug, name in containers.items():
            azurite.set_site_policy(lab.blob_endpoint, name, policies[slug])
        # Each municipality's repositories go into its container: its password goes into escrow.
        _write_escrow(paths, list(containers), progress)
        sas_urls = {
            slug: azurite.policy_sas_url(lab.blob_endpoint, name, policies[slug])
            for slug, name in containers.items()
        }
        records_urls = {}
        for n in netplan.nets:
            name = records_container(n.slug)
            azurite.create_container(lab.blob_endpoint, name)
            records_urls[n.slug] = azurite.records_sas_url(lab.blob_endpoint, name)

        _raise_inotify(paths, lab, progress)
        progress(f"booting {len(lab.hosts)} hosts")
        boot_start = time.monotonic()
        for host in lab.hosts:
            n = netplan.net(host.slug)
            host.host_public_key = hosts.prepare_root(
                host,
                base_root,
                prefixlen=n.subnet.prefixlen,
                gateway=str(n.gateway),
                service_ip=str(netplan.service_ip),
                operator_public_key=operator_public,
            )
            host.nspawn_pid = hosts.boot(host)
            state.save(paths, lab)
        late = hosts.wait_for_ssh(lab.hosts, SSH_TIMEOUT, progress)
        if late:
            raise LabError(
                f"no SSH answer within {SSH_TIMEOUT:.0f} s from: {', '.join(late)}\n"
                f"    fix: read {paths.hosts}/<host>/console.log; `ilag lab status` shows the "
                "state, `ilag lab down` removes it"
            )
        progress(f"all hosts answer SSH ({time.monotonic() - boot_start:.1f} s after boot)")

        _write_access_files(paths, lab, wanted)
        outputs.write(
            paths.outputs_file,
            outputs.render(
                region.model,
                netplan,
                ca_public_key=ca_public,
                blob_endpoint=lab.blob_endpoint,
                container_names=containers,
                sas_urls=sas_urls,
                records_urls=records_urls,
                restic_passwords=passwords,
                state_dir=paths.state,
                site_policies=policies,
            ),
        )
        lab.phase = "up"
        state.save(paths, lab)
    progress(f"lab up in {time.monotonic() - started:.1f} s")
    return lab


def _write_escrow(paths: LabPaths, slugs: list[str], progress: Progress) -> None:
    """Each municipality's restic password in escrow: a 0600 file per municipality."""
    written = escrow.lab_write(paths.state, keys.ensure_restic_passwords(paths, slugs))
    progress(f"escrowed {len(written)} restic passwords in {paths.escrow}")


def _repair(paths: LabPaths, lab: LabState, sick: dict[str, str], progress: Progress) -> None:
    """Rebuild only the sick hosts (as the drill does); the others keep their converge state."""
    for name, why in sick.items():
        progress(f"repairing {name}: it {why}; rebuilding only this host from the base")
    names = list(sick)
    rebuild.destroy(lab, names)
    state.save(paths, lab)
    rebuild.rebuild(paths, lab, names, progress, SSH_TIMEOUT)
    for name in names:
        fingerprint = rebuild.repin_from_console(paths, lab.host(name))
        progress(f"  {name}: new host key {fingerprint} pinned from its own key file")
    state.save(paths, lab)
    progress(f"repaired {', '.join(names)}; it needs a converge (`ilag apply`) to get its roles")


def _raise_inotify(paths: LabPaths, lab: LabState, progress: Progress) -> None:
    """Raise the machine's inotify limits if this many hosts need it; recorded for `down`."""
    raises = inotify.decide(len(lab.hosts), inotify.read_limits(), inotify.root_usage())
    if not raises:
        return
    # Recorded before the change: a run killed in between still lets `down` set it back.
    lab.inotify_original = {r.name: r.current for r in raises}
    lab.inotify_raised = {r.name: r.new for r in raises}
    state.save(paths, lab)
    for r in raises:
        inotify.write_limit(r.name, r.new)
        progress(
            f"raised fs.inotify.{r.name} from {r.current} to {r.new} for {len(lab.hosts)} hosts "
            "(each host's systemd needs its own); `ilag lab down` sets it back"
        )


def _write_access_files(paths: LabPaths, lab: LabState, wanted: _Wanted) -> None:
    """Pinned known_hosts and the inventory overlay, one file each per municipality."""
    for n in wanted.netplan.nets:
        members = [inventory.LabHost(h.name, h.ip, h.host_public_key) for h in lab.hosts_of(n.slug)]
        kh = paths.known_hosts / n.slug
        kh.parent.mkdir(parents=True, exist_ok=True)
        kh.write_text(inventory.known_hosts_lines(members))
        overlay = inventory.render_overlay(
            n.slug,
            n,
            wanted.netplan,
            members,
            wanted.inventory_names[n.slug],
            paths.operator_key,
            wanted.nodes[n.slug],
        )
        inventory.write_yaml(
            paths.inventory / f"{n.slug}.yml",
            overlay,
            "# Written by `ilag lab up`: lab addresses, access and lab-only overrides for "
            f"{n.slug}.\n# Layered after inventories/{n.slug}/hosts.yml. Regenerated on every up.\n",
        )


# --- status and outage simulation ------------------------------------------------------------


@dataclass(frozen=True)
class HostStatus:
    name: str
    slug: str
    ip: str
    running: bool
    ssh: bool


@dataclass(frozen=True)
class LabStatus:
    """What is true right now, for `ilag lab status` and for tests."""

    recorded: bool
    hosts: list[HostStatus]
    azurite: bool
    bridges_down: list[str]
    problems: list[str]

    @property
    def healthy(self) -> bool:
        return self.recorded and not self.problems


def _host_problem(h: HostStatus) -> str | None:
    """What is wrong with one host, in the words `lab status` prints after its name."""
    if not h.running:
        return "is not running"
    if not h.ssh:
        return "does not answer SSH"
    return None


def hosts_to_repair(report: LabStatus) -> dict[str, str]:
    """The hosts `lab up` rebuilds on their own, with why; empty if none, or if anything but
    those hosts is wrong (a missing or cut bridge, Azurite, an unfinished up), since then the
    whole lab is rebuilt: a host behind a cut bridge is not sick, and a repair needs the rest."""
    sick = {h.name: why for h in report.hosts if (why := _host_problem(h))}
    host_lines = {f"{name} {why}" for name, why in sick.items()}
    if not report.recorded or any(p not in host_lines for p in report.problems):
        return {}
    return sick


def _status(paths: LabPaths, recorded: LabState | None) -> LabStatus:
    if recorded is None:
        left = leftovers(paths)
        return LabStatus(False, [], False, [], [f"leftover {x}" for x in left])
    problems = []
    if recorded.phase != "up":
        problems.append("the last `lab up` did not finish")
    rows = []
    for h in recorded.hosts:
        running = bool(h.nspawn_pid) and hosts.is_nspawn_of(h.nspawn_pid or 0, h.root)
        ssh = running and hosts.ssh_banner(h.ip) is not None
        row = HostStatus(h.name, h.slug, h.ip, running, ssh)
        rows.append(row)
        why = _host_problem(row)
        if why:
            problems.append(f"{h.name} {why}")
    present = set(net.lab_interfaces())
    down_links = []
    for b in recorded.bridges:
        if b.name not in present:
            problems.append(f"bridge {b.name} is missing")
        elif not net.link_is_up(b.name):
            down_links.append(b.name)
            problems.append(f"bridge {b.name} is down (cut)")
    az = bool(recorded.azurite_pid) and azurite.pids_for(paths.azurite) == [recorded.azurite_pid]
    if not az:
        problems.append("Azurite is not running")
    return LabStatus(True, rows, az, down_links, problems)


def status() -> LabStatus:
    """The lab's current state: hosts up and answering SSH, Azurite, bridges."""
    paths = lab_paths()
    return _status(paths, state.load(paths))


def lab_state() -> LabState:
    """The recorded lab; LabError if none is up."""
    recorded = state.load(lab_paths())
    if recorded is None:
        raise LabError("no lab is up on this machine; start one with `ilag lab up`")
    return recorded


def cut(slug: str) -> None:
    """Cut one municipality off: its bridge goes down, connections to its hosts fail at once."""
    _require_root()
    net.set_link(lab_state().bridge(slug).name, up=False)


def reconnect(slug: str) -> None:
    """Undo cut(slug)."""
    _require_root()
    net.set_link(lab_state().bridge(slug).name, up=True)


def regenerate_host_key(host: str) -> str:
    """Give a running lab host a new SSH host key; the pinned known_hosts keeps the old one."""
    _require_root()
    return hosts.regenerate_host_key(lab_state().host(host))
