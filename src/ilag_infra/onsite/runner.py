"""One playbook run for one municipality through ansible-runner, with secrets kept off disk."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ilag_infra.onsite import ssh_config
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.outputs import RunVars
from ilag_infra.onsite.targets import Target

# Process environment kept in a run's artifacts: ansible-runner stores the whole environment
# of the run unredacted, and an operator's shell may hold cloud credentials.
_KEPT_ENV_PREFIXES = ("ANSIBLE_", "LANG", "LC_", "PATH", "HOME", "USER")


@dataclass(frozen=True)
class ApplyRequest:
    """What to run: a playbook on one municipality, with the usual ansible-playbook knobs."""

    slug: str
    playbook: Path
    check: bool = False
    diff: bool = False
    tags: str | None = None
    limit: str | None = None
    forks: int | None = None
    # "mitogen" (mitogen_linear), "mitogen_free", or None for Ansible's own linear strategy.
    strategy: str | None = None
    # ansible-runner's per-event JSON files; nothing here reads them, so they cost disk writes
    # for nothing unless someone wants to look (the recap event is always kept).
    keep_event_files: bool = False
    # Hand the run to the municipality's node (onsite/streamed.py) instead of running here.
    via_node: bool = False


@dataclass
class HostResult:
    name: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "ok"


@dataclass
class MunicipalityResult:
    slug: str
    status: str
    rc: int
    hosts: dict[str, HostResult] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    artifact_dir: str = ""
    messages: dict[str, str] = field(default_factory=dict)  # host → first failure reason
    # host → what changed (files by path, else the task): in check mode, the drift.
    changes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(h for h, r in self.hosts.items() if r.failed and not r.unreachable)

    @property
    def unreachable_hosts(self) -> list[str]:
        return sorted(h for h, r in self.hosts.items() if r.unreachable)

    @property
    def succeeded(self) -> bool:
        return (
            self.rc == 0
            and not self.failed_hosts
            and not self.unreachable_hosts
            and bool(self.hosts)
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed_hosts"] = self.failed_hosts
        data["unreachable_hosts"] = self.unreachable_hosts
        return data


@dataclass(frozen=True)
class Progress:
    """One line of live progress: never carries task results, which may hold secrets."""

    slug: str
    kind: str  # task | ok | changed | failed | unreachable | skipped | diff
    host: str = ""
    task: str = ""
    detail: str = ""


ProgressFn = Callable[[Progress], None]

_EVENT_KIND = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_failed": "failed",
}


def _reason(res: dict[str, Any]) -> str:
    if res.get("censored"):
        return "output hidden (no_log)"
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    return " ".join(str(msg).split())[:300]


def _item_results(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The result itself, or each item's result of a loop task (hidden ones left out)."""
    if res.get("censored"):
        return []
    items = res.get("results")
    if not isinstance(items, list):
        return [res]
    return [i for i in items if isinstance(i, dict) and not i.get("censored")]


def _diff_text(res: dict[str, Any]) -> str:
    out: list[str] = []
    for item in _item_results(res):
        diffs = item.get("diff")
        for d in diffs if isinstance(diffs, list) else [diffs] if isinstance(diffs, dict) else []:
            before, after = d.get("before"), d.get("after")
            if isinstance(before, str) and isinstance(after, str):
                out.extend(
                    difflib.unified_diff(
                        before.splitlines(),
                        after.splitlines(),
                        str(d.get("before_header", "before")),
                        str(d.get("after_header", "after")),
                        lineterm="",
                    )
                )
            elif d.get("prepared"):
                out.append(str(d["prepared"]))
    return "\n".join(out)


def changed_items(task: str, res: dict[str, Any]) -> list[str]:
    """What a changed result changed, as a person would look for it: the file's path where
    the module names one (dest, path, the diff's header), else the task's name."""
    found: list[str] = []
    for item in _item_results(res):
        if not item.get("changed") and item is not res:
            continue
        diffs = item.get("diff")
        headers = [
            str(d.get("after_header") or d.get("before_header") or "")
            for d in (diffs if isinstance(diffs, list) else [diffs] if diffs else [])
            if isinstance(d, dict)
        ]
        args = (item.get("invocation") or {}).get("module_args") or {}
        paths = [
            str(src[k])
            for src in (item, args)
            for k in ("dest", "path", "name")
            if isinstance(src.get(k), str)
        ]
        label = item.get("_ansible_item_label")
        if isinstance(label, str):
            paths.append(label)
        for candidate in [*paths, *headers]:
            if candidate.startswith("/") and candidate not in found:
                found.append(candidate)
    return [f"{p} ({task})" for p in found] or [task]


def _changed_task(task: str, res: dict[str, Any]) -> str:
    """A loop task names the items that changed: one task writes many files."""
    if not isinstance(res.get("results"), list):
        return task
    labels = [
        str(i.get("_ansible_item_label", ""))
        for i in _item_results(res)
        if i.get("changed") and not i.get("_ansible_no_log")
    ]
    labels = [label for label in labels if label]
    return f"{task} ({', '.join(labels)})" if labels else task


class EventSink:
    """Turns ansible-runner events into progress lines and per-host failure reasons."""

    def __init__(
        self, slug: str, progress: ProgressFn, show_diff: bool, keep_event_files: bool = True
    ) -> None:
        self.slug = slug
        self.progress = progress
        self.show_diff = show_diff
        self.keep_event_files = keep_event_files
        self.messages: dict[str, str] = {}
        self.changes: dict[str, list[str]] = {}
        self.stats: dict[str, dict[str, int]] = {}

    def __call__(self, event: dict[str, Any]) -> bool:
        name = event.get("event", "")
        data = event.get("event_data", {}) or {}
        if name == "playbook_on_task_start":
            self.progress(Progress(self.slug, "task", task=str(data.get("task", ""))))
        elif name in _EVENT_KIND:
            host = str(data.get("host", ""))
            res = data.get("res", {}) or {}
            kind = _EVENT_KIND[name]
            task = str(data.get("task", ""))
            if kind == "ok" and res.get("changed"):
                kind = "changed"
                seen = self.changes.setdefault(host, [])
                seen.extend(i for i in changed_items(task, res) if i not in seen)
                task = _changed_task(task, res)
            if kind == "failed" and data.get("ignore_errors"):
                kind = "ok"
            detail = _reason(res) if kind in ("failed", "unreachable") else ""
            if detail and host not in self.messages:
                self.messages[host] = detail
            self.progress(Progress(self.slug, kind, host, task, detail))
            if kind == "changed" and self.show_diff:
                text = _diff_text(res)
                if text:
                    self.progress(Progress(self.slug, "diff", host, task, text))
        elif name == "playbook_on_stats":
            self.stats = {k: dict(v or {}) for k, v in data.items() if isinstance(v, dict)}
            return True
        # The return value decides whether ansible-runner writes the event to job_events/.
        # The recap is always written (runner.stats reads it back); the rest only on request.
        return self.keep_event_files


def hosts_from_stats(stats: dict[str, dict[str, int]]) -> dict[str, HostResult]:
    hosts: dict[str, HostResult] = {}
    mapping = {
        "ok": "ok",
        "changed": "changed",
        "failures": "failed",
        "dark": "unreachable",
        "skipped": "skipped",
        "rescued": "rescued",
        "ignored": "ignored",
    }
    for key, attr in mapping.items():
        for host, count in (stats.get(key) or {}).items():
            result = hosts.setdefault(host, HostResult(host))
            setattr(result, attr, int(count))
    for host in stats.get("processed", {}) or {}:
        hosts.setdefault(host, HostResult(host))
    return hosts


def sweep_secret_dirs(base: Path) -> list[Path]:
    """Remove secret dirs of runs whose process is gone (killed before its cleanup ran)."""
    removed = []
    for d in base.glob("ilag-secrets-*-*"):
        pid = d.name.split("-")[2]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


@contextmanager
def secret_vars_file(rv: RunVars) -> Iterator[Path]:
    """Secrets as a 0600 vars file outside the run's artifacts, removed afterwards.

    They never travel in environment variables or ansible-runner's env/ files, both of
    which end up on disk with the run.
    """
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    sweep_secret_dirs(Path(base or tempfile.gettempdir()))
    # The pid in the name lets a later run remove what a killed run left behind.
    tmp = Path(tempfile.mkdtemp(prefix=f"ilag-secrets-{os.getpid()}-", dir=base))
    path = tmp / "vars.json"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(rv.secrets, fh)
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def control_dir() -> Iterator[Path]:
    """A fresh SSH ControlPersist directory per run.

    A master connection reused from an earlier run would skip host key verification, so a
    host whose key changed in between would not be noticed. Masters are closed at the end.
    """
    tmp = Path(tempfile.mkdtemp(prefix="ilag-cp-"))
    try:
        yield tmp
    finally:
        for sock in (p for p in tmp.iterdir() if p.is_socket()):
            subprocess.run(
                ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "ilag-control"],
                capture_output=True,
                check=False,
                timeout=10,
            )
        shutil.rmtree(tmp, ignore_errors=True)


def ansible_env(
    target: Target,
    slug: str,
    cp_dir: Path,
    strategy: str | None,
    ssh_config_file: Path | None = None,
) -> dict[str, str]:
    """Environment for ansible-playbook: host keys pinned and checked, tuned SSH.

    ssh_config_file (onsite/ssh_config.py): the run's -F file, which carries the pins to a
    ProxyJump hop as well; without it the pins apply to direct connections only.
    """
    kh = target.known_hosts(slug)
    env = {
        "ANSIBLE_CONFIG": str(target.repo_root / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(target.repo_root / "roles"),
        # ansible-runner turns host key checking off unless told otherwise.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": (
            "-o ControlMaster=auto -o ControlPersist=60s "
            f"-o UserKnownHostsFile={kh} -o GlobalKnownHostsFile=/dev/null "
            "-o StrictHostKeyChecking=yes -o ConnectTimeout=8"
        ),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp_dir),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        # ansible-playbook comes from this interpreter's environment even when it is not on PATH.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    if ssh_config_file is not None:
        env["ANSIBLE_SSH_ARGS"] = f"-F {ssh_config_file} " + env["ANSIBLE_SSH_ARGS"]
    elif target.env == "lab":
        # The operator's ~/.ssh/config (ProxyJump, ProxyCommand) must not route lab traffic.
        env["ANSIBLE_SSH_ARGS"] = "-F /dev/null " + env["ANSIBLE_SSH_ARGS"]
    # Lab hosts reuse production host names: their facts must never stand in for each other.
    env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(
        Path.home() / ".cache" / "ilag-infra" / f"facts-{target.env}"
    )
    if strategy in _MITOGEN_STRATEGIES:
        import ansible_mitogen

        plugin_dir = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
        env["ANSIBLE_STRATEGY_PLUGINS"] = str(plugin_dir)
        env["ANSIBLE_STRATEGY"] = _MITOGEN_STRATEGIES[strategy]
    return env


_MITOGEN_STRATEGIES = {"mitogen": "mitogen_linear", "mitogen_free": "mitogen_free"}


def scrub_artifacts(artifact_dir: Path) -> None:
    """Drop the stored process environment down to Ansible's own settings."""
    for command_file in artifact_dir.rglob("command"):
        try:
            data = json.loads(command_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        env = data.get("env")
        if isinstance(env, dict):
            data["env"] = {k: v for k, v in env.items() if k.startswith(_KEPT_ENV_PREFIXES)}
            command_file.write_text(json.dumps(data), encoding="utf-8")


def _stdout_tail(runner: Any) -> list[str]:
    try:
        return str(runner.stdout.read()).splitlines()[-5:]
    except (OSError, AttributeError, ValueError):
        return []


def run_playbook(
    target: Target,
    req: ApplyRequest,
    run_vars: RunVars,
    run_dir: Path,
    progress: ProgressFn,
    hosts: Sequence[SshHost] = (),
) -> MunicipalityResult:
    """Run req.playbook on one municipality and return what happened to each host.

    hosts: the municipality's hosts as resolved from the inventory; their jump hosts get
    the run's pins and key (onsite/ssh_config.py).
    """
    import ansible_runner

    started = datetime.now(UTC).isoformat(timespec="seconds")
    private = run_dir / req.slug
    private.mkdir(parents=True, exist_ok=True)
    sink = EventSink(req.slug, progress, req.diff, req.keep_event_files)
    with secret_vars_file(run_vars) as secrets, control_dir() as cp_dir:
        config = ssh_config.write(
            cp_dir / "ssh_config",
            target.known_hosts(req.slug),
            hosts,
            operator_config=target.env != "lab",
        )
        cmdline = [f"-e @{secrets}"]
        vault_file = os.environ.get("ILAG_VAULT_PASSWORD_FILE")
        if vault_file:
            # Production restic passwords live in ansible-vault files; only the path travels.
            cmdline.append(f"--vault-password-file {vault_file}")
        if req.check:
            cmdline.append("--check")
        if req.diff:
            cmdline.append("--diff")
        runner = ansible_runner.run(
            private_data_dir=str(private),
            ident="run",
            playbook=str(req.playbook.resolve()),
            inventory=[str(p) for p in target.inventory_sources(req.slug)],
            extravars=run_vars.public,
            cmdline=" ".join(cmdline),
            envvars=ansible_env(target, req.slug, cp_dir, req.strategy, config),
            limit=target.host_pattern(req.limit),
            tags=req.tags,
            forks=req.forks,
            event_handler=sink,
            quiet=True,
            suppress_env_files=True,
            project_dir=str(target.repo_root),
        )
    artifact_dir = private / "artifacts"
    scrub_artifacts(artifact_dir)
    stats = sink.stats or (runner.stats or {})
    if not stats and not sink.messages:
        # No play ran at all (bad playbook, missing binary): keep ansible's own last words.
        tail = [ln for ln in _stdout_tail(runner) if ln.strip()]
        sink.messages[""] = tail[-1] if tail else f"ansible-playbook exited {runner.rc}"
    return MunicipalityResult(
        slug=req.slug,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else 1),
        hosts=hosts_from_stats(stats),
        started=started,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        artifact_dir=str(artifact_dir),
        messages=sink.messages,
        changes=sink.changes,
    )
