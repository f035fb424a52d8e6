"""`ilag apply --via-node`: the controller hands a run to the municipality's node with
ansible-runner's streaming protocol, `transmit | worker | process`, over SSH.

The controller transmits the job (playbook, inventory, public variables, Ansible settings;
all as paths on the node), the node's `ansible-runner worker` runs it against its own
municipality with the node's own certificate, and the events stream back to be processed
here, as a local run's are. This is the protocol AWX and Receptor speak, so a region that
outgrows one controller moves the same jobs to AWX (docs/operators.md).

Secrets never travel in the stream: the node reads its own (`/etc/ilag/run-secrets.json`,
written by the node role from its own slice of the stack outputs).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ilag_infra.model.errors import InputError, Problem
from ilag_infra.onsite import hostlist, ssh_config
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.runner import (
    ApplyRequest,
    EventSink,
    MunicipalityResult,
    ProgressFn,
    hosts_from_stats,
    scrub_artifacts,
)
from ilag_infra.onsite.targets import Target

# Where the node role puts things (roles/ilag_node/defaults/main.yml).
NODE_ROOT = "/opt/ilag/current"
NODE_BIN = "/opt/ilag/venv/bin"
NODE_STATE = "/var/lib/ilag-node"
NODE_KEY = "/etc/ilag/ssh/id_ed25519"
NODE_SECRETS = "/etc/ilag/run-secrets.json"
NODE_GROUP = "ilag_nodes"
WORKER_TIMEOUT_S = 3600


def node_host(target: Target, slug: str) -> SshHost:
    """The municipality's node, as the controller reaches it (pinned key, inventory user)."""
    nodes = [h for h in hostlist.resolve(target, slug) if h.name in _node_names(target, slug)]
    if not nodes:
        raise InputError(
            [
                Problem(
                    str(target.inventory_sources(slug)[1]),
                    NODE_GROUP,
                    f"{slug} has no node to hand the run to",
                    f"add its node to group {NODE_GROUP} and run "
                    f"`ilag apply {slug} --playbook node`",
                )
            ]
        )
    return nodes[0]


def _node_names(target: Target, slug: str) -> set[str]:
    from ilag_infra.model import inventory

    inv = inventory.manager(target.inventory_sources(slug))
    group = inv.groups.get(NODE_GROUP)
    return {h.name for h in group.get_hosts()} if group else set()


def node_inventory(target: Target, slug: str) -> list[str]:
    base = [f"{NODE_ROOT}/inventories/region.yml", f"{NODE_ROOT}/inventories/{slug}/hosts.yml"]
    return base + ([f"{NODE_STATE}/lab/inventory/{slug}.yml"] if target.env == "lab" else [])


def node_env(target: Target, slug: str) -> dict[str, str]:
    """Ansible's settings as the node runs it: its paths, its key, host keys pinned."""
    known_hosts = (
        f"{NODE_STATE}/lab/known_hosts/{slug}"
        if target.env == "lab"
        else f"{NODE_ROOT}/inventories/{slug}/known_hosts"
    )
    return {
        "ANSIBLE_CONFIG": f"{NODE_ROOT}/ansible.cfg",
        "ANSIBLE_ROLES_PATH": f"{NODE_ROOT}/roles",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": (
            "-F /dev/null -o ControlMaster=auto -o ControlPersist=60s "
            f"-o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null "
            "-o StrictHostKeyChecking=yes -o ConnectTimeout=8"
        ),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_REMOTE_USER": "root",
        "ANSIBLE_PRIVATE_KEY_FILE": NODE_KEY,
        "PATH": f"{NODE_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
    }


def ssh_argv(node: SshHost, known_hosts: Path, config: Path | None = None) -> list[str]:
    """The OpenSSH client to the node: pinned key only, nothing from ~/.ssh/config.

    config: an ssh_config from onsite/ssh_config.py (without the operator's), which carries
    the pins and key to the node's jump host, if the inventory names one.
    """
    argv = ["ssh", "-F", str(config or "/dev/null"), "-o", "BatchMode=yes"]
    argv += ["-o", "StrictHostKeyChecking=yes"]
    argv += ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
    if node.key_file:
        argv += ["-i", str(node.key_file), "-o", "IdentitiesOnly=yes"]
    if node.jump:
        argv += ["-o", f"ProxyJump={node.jump}"]
    return [*argv, "-p", str(node.port), f"{node.user}@{node.address}"]


def _failed(slug: str, started: str, artifacts: str, why: str) -> MunicipalityResult:
    return MunicipalityResult(
        slug=slug,
        status="failed",
        rc=1,
        started=started,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        artifact_dir=artifacts,
        messages={"": why},
    )


def run_via_node(
    target: Target,
    req: ApplyRequest,
    public_vars: dict[str, Any],
    run_dir: Path,
    progress: ProgressFn,
) -> MunicipalityResult:
    """Run req.playbook on the node of req.slug through transmit | worker | process."""
    import ansible_runner

    node = node_host(target, req.slug)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    private = run_dir / req.slug
    private.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ilag-stream-", dir=run_dir))
    job, answer = work / "job.stream", work / "events.stream"
    (work / "job").mkdir()
    # Inventories go on the command line: ansible-runner 2.4's streaming takes one
    # inventory path only, and a municipality has two or three.
    cmdline = [f"-i {path}" for path in node_inventory(target, req.slug)]
    cmdline += [f"-e @{NODE_SECRETS}"] + (["--check"] if req.check else [])
    cmdline += ["--diff"] if req.diff else []
    try:
        with job.open("wb") as out:
            ansible_runner.run(
                private_data_dir=str(work / "job"),
                streamer="transmit",
                _output=out,
                ident="run",
                playbook=f"{NODE_ROOT}/playbooks/{req.playbook.name}",
                extravars=public_vars,
                cmdline=" ".join(cmdline),
                envvars=node_env(target, req.slug),
                limit=target.host_pattern(req.limit),
                tags=req.tags,
                project_dir=NODE_ROOT,
                suppress_env_files=True,
                quiet=True,
            )
        worker = f"{NODE_BIN}/ansible-runner worker --delete"
        known_hosts = target.known_hosts(req.slug)
        config = ssh_config.write(work / "ssh_config", known_hosts, [node], operator_config=False)
        try:
            with job.open("rb") as stdin, answer.open("wb") as stdout:
                ssh = subprocess.run(
                    [*ssh_argv(node, known_hosts, config), worker],
                    stdin=stdin,
                    stdout=stdout,
                    stderr=subprocess.PIPE,
                    timeout=WORKER_TIMEOUT_S,
                    check=False,
                )
        except (OSError, subprocess.TimeoutExpired) as exc:
            # Nothing came back whole: a failed run, named, so the records still say so.
            why = f"the job did not come back from the node {node.name}: {exc}"
            return _failed(req.slug, started, str(private / "artifacts"), why)
        sink = EventSink(req.slug, progress, req.diff, req.keep_event_files)
        with answer.open("rb") as events:
            processed = ansible_runner.run(
                private_data_dir=str(private),
                streamer="process",
                _input=events,
                ident="run",
                event_handler=sink,
                quiet=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    messages = dict(sink.messages)
    if ssh.returncode != 0 and not sink.stats:
        said = ssh.stderr.decode("utf-8", "replace").strip().splitlines()
        messages[""] = (
            f"the node {node.name} did not run the job (ssh exited {ssh.returncode}): "
            + (said[-1] if said else "no message")
        )
    scrub_artifacts(private / "artifacts")
    # The processing side of ansible-runner 2.4 sets a status, not a return code.
    rc = processed.rc if processed.rc is not None else 0 if processed.status == "successful" else 1
    return MunicipalityResult(
        slug=req.slug,
        status=str(processed.status),
        rc=int(rc) if ssh.returncode == 0 else max(int(rc), 1),
        hosts=hosts_from_stats(sink.stats),
        started=started,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        artifact_dir=str(private / "artifacts"),
        messages=messages,
        changes=sink.changes,
    )
