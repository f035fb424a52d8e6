"""What the controller hands a municipality's node (playbooks/node.yml, role ilag_node).

Servers get no internet, so the node installs offline from what the controller built:
- a wheelhouse of ilag's run-time dependencies for the node's Python (built once per
  constraints.txt and cached; the controller fetches it from the package index);
- the repository at the controller's commit, as a tar with a REVISION file (records name it);
- the node's own slice of the stack outputs: its municipality's entries only, so a node never
  holds a neighbour's backup or records credential.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ilag_infra.model.errors import IlagError
from ilag_infra.model.region import Region
from ilag_infra.onsite.outputs import RunVars, StackOutputs
from ilag_infra.onsite.outputs import run_vars as run_vars_of
from ilag_infra.onsite.runrecord import REVISION_FILE, git_commit
from ilag_infra.onsite.targets import Target, lab_dir, lab_prefix

# What `ilag` needs on a node to run checks and applies (no Pulumi: nodes plan nothing).
NODE_REQUIREMENTS: tuple[str, ...] = (
    "ansible-core",
    "ansible-runner",
    "mitogen",
    "paramiko",
    "cryptography",
    "jinja2",
    "pydantic",
    "ruamel.yaml",
    "typer",
    "rich",
    "azure-storage-blob",
    "requests",
)
NODE_KEY = "/etc/ilag/ssh/id_ed25519"
VAULT_FILE = "vault.yml"
CA_KEY_ENV = "ILAG_NODE_CA_KEY"


class BundleError(IlagError):
    """The node's bundle could not be built."""


@dataclass(frozen=True)
class Wheelhouse:
    tar: Path
    key: str  # changes with constraints.txt: the node unpacks each version once
    pip_wheel: str  # pip runs from its own wheel to install the rest into the virtualenv


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ilag-infra"


def _wheelhouse_key(constraints: bytes) -> str:
    h = hashlib.sha256(constraints)
    h.update("\n".join(NODE_REQUIREMENTS).encode())
    h.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return h.hexdigest()[:16]


def _found(tar: Path, key: str) -> Wheelhouse:
    with tarfile.open(tar) as t:
        pips = [n for n in t.getnames() if n.startswith("pip-") and n.endswith(".whl")]
    if not pips:
        raise BundleError(f"{tar} holds no pip wheel; remove it and apply again")
    return Wheelhouse(tar, key, pips[0])


def wheelhouse(repo_root: Path) -> Wheelhouse:
    """wheelhouse.tar for the node (pip itself included), built once per constraints.txt."""
    constraints = repo_root / "constraints.txt"
    key = _wheelhouse_key(constraints.read_bytes())
    out = cache_dir() / "node-wheelhouse" / key
    tar = out / "wheelhouse.tar"
    if tar.is_file():
        return _found(tar, key)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="wheels-", dir=out))
    try:
        argv = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            str(work),
            "-c",
            str(constraints),
            "pip",
            *NODE_REQUIREMENTS,
        ]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
            raise BundleError(
                "building the node's wheelhouse failed (pip download): "
                + " / ".join(tail)
                + "; the controller needs the package index (or a pip cache) once per "
                "constraints.txt"
            )
        (work / "requirements.txt").write_text("\n".join(NODE_REQUIREMENTS) + "\n")
        partial = tar.with_suffix(".partial")
        with tarfile.open(partial, "w") as t:
            for f in sorted(work.iterdir()):
                t.add(f, arcname=f.name)
        partial.replace(tar)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _found(tar, key)


def source(repo_root: Path) -> tuple[Path, str]:
    """The repository at HEAD as a tar with REVISION, and the commit. Only committed files
    travel: a node runs what the region reviewed, never a work tree's edits."""
    revision = git_commit(repo_root)
    if revision == "unknown":
        raise BundleError(f"{repo_root} is not a git checkout: a node gets a committed revision")
    commit = revision.removesuffix("+dirty")
    out = cache_dir() / "node-source" / f"{commit}-novault.tar"
    if out.is_file():
        return out, commit
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    # No ansible-vault file travels, not even the node's own: a node holds its own restic
    # password in clear (root only), never ciphertext of the whole region's.
    run = subprocess.run(
        [
            "git",
            "-C",
            str(repo_root),
            "archive",
            "--format=tar",
            "-o",
            str(partial),
            commit,
            "--",
            ".",
            f":(exclude,glob)inventories/*/group_vars/**/{VAULT_FILE}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if run.returncode != 0:
        raise BundleError(f"git archive {commit} failed: {run.stderr.strip()}")
    with tarfile.open(partial, "a") as t:
        body = (commit + "\n").encode()
        info = tarfile.TarInfo(REVISION_FILE)
        info.size = len(body)
        info.mode = 0o644
        t.addfile(info, io.BytesIO(body))
    partial.replace(out)
    return out, commit


def own_slice(data: Any, slug: str, slugs: frozenset[str]) -> Any:
    """The outputs with every per-municipality map cut down to the node's own entry."""
    if isinstance(data, dict):
        keys = set(data)
        if keys and keys <= slugs:
            return {slug: data[slug]} if slug in data else {}
        return {k: own_slice(v, slug, slugs) for k, v in data.items()}
    return data


def node_outputs(
    stack_outputs: StackOutputs, slug: str, slugs: frozenset[str], lab_range: str = ""
) -> dict[str, Any]:
    """The node's outputs file: its own municipality's slice, without the operator's keys.

    Built from the outputs the apply itself read (Pulumi's in production, the lab's file in
    the lab), secrets included: the node needs its own SAS and restic password in clear."""
    plain = {stack: dict(values) for stack, values in stack_outputs.stacks.items()}
    out: dict[str, Any] = own_slice(plain, slug, slugs)
    passwords = own_slice(dict(stack_outputs.restic_passwords), slug, slugs)
    if passwords or lab_range:
        out["lab"] = {"restic_passwords": passwords, "lab_prefix": lab_range}
    return out


def lab_inventory(slug: str) -> str:
    """The lab's overlay inventory for the municipality, reaching hosts with the node's key."""
    src = lab_dir() / "inventory" / f"{slug}.yml"
    yaml = YAML()
    data = yaml.load(src.read_text(encoding="utf-8"))
    for group in data["all"]["children"].values():
        for hv in (group or {}).get("hosts", {}).values() or []:
            if isinstance(hv, dict) and "ansible_ssh_private_key_file" in hv:
                hv["ansible_ssh_private_key_file"] = NODE_KEY
    buf = io.StringIO()
    yaml.dump(data, buf)
    return "---\n" + buf.getvalue()


def run_vars(region: Region, target: Target, slug: str, stack_outputs: StackOutputs) -> RunVars:
    """The node playbook's extra variables: public paths and texts, the outputs as a secret."""
    wheels = wheelhouse(target.repo_root)
    src, commit = source(target.repo_root)
    slugs = frozenset(region.slugs)
    prefix = lab_prefix() if target.env == "lab" else None
    if slug not in stack_outputs.restic_passwords:
        # Production: the password is in the municipality's vault, which the node never gets.
        from ilag_infra.onsite import operator

        password = operator.restic_password(target, slug)
        stack_outputs = replace(stack_outputs, restic_passwords={slug: password})
    outputs = node_outputs(stack_outputs, slug, slugs, str(prefix) if prefix else "")
    records = (outputs.get("backup", {}).get("records_sas_urls") or {}).get(slug, "")
    public: dict[str, Any] = {
        "ilag_node__wheelhouse_tar": str(wheels.tar),
        "ilag_node__wheelhouse_id": wheels.key,
        "ilag_node__pip_wheel": wheels.pip_wheel,
        "ilag_node__source_tar": str(src),
        "ilag_node__revision": commit,
        # The wheels are for the controller's Python and machine: the node must match them.
        "ilag_node__python": f"{sys.version_info.major}.{sys.version_info.minor} "
        f"{platform.machine()}",
    }
    ca_key = os.environ.get(CA_KEY_ENV, "")
    if target.env == "lab":
        public.update(
            {
                "ilag_node__lab_inventory": lab_inventory(slug),
                "ilag_node__known_hosts": target.known_hosts(slug).read_text(encoding="utf-8"),
                "ilag_node__lab_prefix": str(prefix) if prefix else "",
            }
        )
        # The lab's user CA (lab/paths.py keeps it under the state dir's keys/).
        ca_key = ca_key or str(lab_dir() / "keys" / "ssh_user_ca")
    public["ilag_node__ca_key"] = ca_key
    # What a run handed to the node (`ilag apply --via-node`) reads with -e @: the node's own
    # run secrets, so none travels in the job's stream.
    run_secrets = run_vars_of(region, slug, stack_outputs).secrets
    secrets = {
        "ilag_node_secrets": {
            "outputs": outputs,
            "records_url": records,
            "run_secrets": run_secrets,
        }
    }
    return RunVars(public, secrets)
