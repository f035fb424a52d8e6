"""Where one converge spends its time: the controller's processes, the lab hosts, and idle cores.

Measured, not estimated:
- the CPU of every process this one starts (ansible-playbook, its forked workers and Mitogen
  processes, ssh clients), sampled from /proc and completed from getrusage(RUSAGE_CHILDREN);
- this process's own CPU (ansible-runner's event handling and artifact writes run here);
- each lab host's CPU from its cgroup's cpu.stat (modules, sshd, the target's Python);
- optionally py-spy samples of each ansible-playbook main process, split by what the innermost
  recognised frame belongs to (templating, variables, strategy, callbacks, ...).
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def _stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, comm, own CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / CLK


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                out += [int(c) for c in Path(task.path, "children").read_text().split()]
    return out


def _pss_kib(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


MAIN = "ansible-playbook main processes"
FORKS = "forked workers and Mitogen processes"
SSH = "ssh clients"
PROFILER = "py-spy"
# A lab brought up by this process runs below it; its hosts are measured by their cgroups.
LAB_COMMS = {"systemd-nspawn", "node", "ilag-lab-cgrou"}


@dataclass
class TreeSample:
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid → (category, cpu s)
    peak_pss_kib: int = 0
    mains: list[int] = field(default_factory=list)


class TreeSampler(threading.Thread):
    """Samples this process's descendants: CPU per category, peak memory (PSS) of the tree."""

    def __init__(self, interval: float = 0.1, spy_dir: Path | None = None) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.spy_dir = spy_dir
        self.sample = TreeSample()
        self.own_cpu = 0.0  # this thread's CPU, not part of the converge
        self.spy_cpu = 0.0  # py-spy's CPU, not part of the converge either
        self._stop_event = threading.Event()
        self._spies: list[subprocess.Popen[bytes]] = []
        self._before: dict[int, float] = {}

    def _category(self, pid: int, ppid: int, comm: str) -> str:
        if comm == "ssh":
            return SSH
        if comm == "py-spy":
            return PROFILER
        if ppid == os.getpid() and "ansible-playbook" in _cmdline(pid):
            return MAIN
        return FORKS

    def _spy(self, pid: int) -> None:
        assert self.spy_dir is not None
        out = self.spy_dir / f"{pid}.txt"
        spy = Path(sys.executable).parent / "py-spy"
        self._spies.append(
            subprocess.Popen(
                [
                    *(str(spy), "record", "-p", str(pid), "-r", "50", "-f", "raw"),
                    *("--nonblocking", "--gil", "--full-filenames", "-o", str(out)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def run(self) -> None:
        me = os.getpid()
        first = True
        while not self._stop_event.is_set():
            pss = _pss_kib(me)
            todo = _children(me)
            while todo:
                pid = todo.pop()
                st = _stat(pid)
                if st is None:
                    continue
                ppid, comm, cpu = st
                if comm in LAB_COMMS:
                    continue  # lab hosts and Azurite started by this process: not controller
                if first:
                    self._before[pid] = cpu  # alive before the converge: count only its growth
                cpu -= self._before.get(pid, 0.0)
                known = self.sample.cpu.get(pid)
                # Decided anew until it is MAIN or SSH: a fresh child shows our own command
                # line until its exec.
                sticky = known and known[0] != FORKS
                category = known[0] if sticky else self._category(pid, ppid, comm)
                self.sample.cpu[pid] = (category, cpu)
                if category == MAIN and pid not in self.sample.mains:
                    self.sample.mains.append(pid)
                    if self.spy_dir is not None:
                        self._spy(pid)
                if category != PROFILER:
                    pss += _pss_kib(pid)
                todo += _children(pid)
            first = False
            self.sample.peak_pss_kib = max(self.sample.peak_pss_kib, pss)
            self.own_cpu = time.thread_time()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        for spy in self._spies:
            # wait4 rather than wait(): py-spy's own CPU must come out of the reaped total.
            _, status, usage = os.wait4(spy.pid, 0)
            spy.returncode = os.waitstatus_to_exitcode(status)
            self.spy_cpu += usage.ru_utime + usage.ru_stime


def host_cpu(names: list[str]) -> dict[str, float]:
    """CPU seconds each lab host has used so far (its cgroup's cpu.stat usage_usec)."""
    from ilag_infra.lab import cgroups

    out = {}
    for name in names:
        for group in cgroups.host_groups(name):
            stat = group / "cpu.stat"
            if stat.exists():
                for line in stat.read_text().splitlines():
                    if line.startswith("usage_usec"):
                        out[name] = int(line.split()[1]) / 1e6
                break
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) core-seconds of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / CLK, idle / CLK


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# Innermost recognised frame wins: json.dump called from the runner's callback counts as
# the callback, a Jinja filter called from templating counts as templating.
FRAME_KINDS = [
    ("templating (Jinja, lazy templar)", ("/ansible/_internal/_templating/", "/jinja2/")),
    ("templating (Jinja, lazy templar)", ("/ansible/template/",)),
    ("variable merging", ("/ansible/vars/", "/ansible/inventory/", "combine_vars")),
    ("callbacks and event files", ("/ansible_runner/", "/ansible/plugins/callback/")),
    ("callbacks and event files", ("/ansible/utils/display.py",)),
    ("Mitogen (controller side)", ("/ansible_mitogen/", "/mitogen/")),
    ("worker forks and result queue", ("/multiprocessing/", "/ansible/executor/process/")),
    ("strategy and task objects", ("/ansible/plugins/strategy/", "/ansible/executor/")),
    ("strategy and task objects", ("/ansible/playbook/",)),
    ("start-up: imports, parsing", ("<frozen importlib", "/ansible/parsing/", "/yaml/")),
]


def frame_kind(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for kind, needles in FRAME_KINDS:
            if any(n in frame for n in needles):
                return kind
    return "other"


def spy_shares(spy_dir: Path) -> Counter[str]:
    """py-spy sample counts of the ansible-playbook main processes, by kind of work."""
    counts: Counter[str] = Counter()
    for f in spy_dir.glob("*.txt"):
        for line in f.read_text(errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                counts[frame_kind(stack)] += int(n)
    return counts


@dataclass
class Breakdown:
    wall: float
    controller: dict[str, float]
    runner: float
    targets: float
    hosts: int
    peak_pss_mib: float
    main_shares: Counter[str]
    machine_busy: float = 0.0
    machine_idle: float = 0.0
    host_tasks: int = 0  # task results over all hosts (ok + skipped + failed + unreachable)

    def lines(self) -> list[str]:
        capacity = self.wall * CORES
        used = sum(self.controller.values()) + self.runner + self.targets
        rows: list[tuple[str, float]] = [
            *[(f"controller: {k}", v) for k, v in self.controller.items()],
            ("controller: ansible-runner in this process (events, artifacts)", self.runner),
            (f"targets: {self.hosts} lab hosts (cgroup cpu.stat)", self.targets),
            ("other work on this machine (not this converge)", max(0.0, self.machine_busy - used)),
            ("idle: no work on any core (waiting)", self.machine_idle),
        ]
        out = [
            f"  {self.wall:.1f} s wall on {CORES} cores = {capacity:.1f} core-s; "
            f"controller peak memory (PSS of the process tree) {self.peak_pss_mib:.0f} MiB"
        ]
        for name, value in rows:
            out.append(f"  {name:<66} {value:7.1f} core-s {100 * value / capacity:5.1f} %")
        if self.host_tasks:
            ctl = sum(self.controller.values()) + self.runner
            out.append(
                f"  {self.host_tasks} task results; per result {1000 * ctl / self.host_tasks:.0f} ms "
                f"controller CPU, {1000 * self.targets / self.host_tasks:.0f} ms target CPU"
            )
        total = sum(self.main_shares.values())
        if total:
            main = self.controller.get(MAIN, 0.0)
            out.append(f"  {MAIN}, by py-spy samples ({total}):")
            for kind, n in self.main_shares.most_common():
                out.append(
                    f"    {kind:<40} {100 * n / total:5.1f} %  ~{main * n / total:6.1f} core-s"
                )
        return out


def measure(run: object, host_names: list[str], spy_dir: Path | None) -> Breakdown:
    """Run run() (a converge) and measure it; run must be a callable."""
    assert callable(run)
    before_hosts = host_cpu(host_names)
    before_children = _children_cpu()
    before_self = time.process_time()
    busy0, idle0 = machine_cpu()
    sampler = TreeSampler(spy_dir=spy_dir)
    started = time.perf_counter()
    sampler.start()
    run()
    wall = time.perf_counter() - started
    busy1, idle1 = machine_cpu()
    sampler.stop()
    self_cpu = time.process_time() - before_self - sampler.own_cpu
    after_hosts = host_cpu(host_names)
    children = _children_cpu() - before_children
    per: Counter[str] = Counter()
    for category, cpu in sampler.sample.cpu.values():
        per[category] += cpu
    # Processes too short-lived to be sampled (most of Ansible's per-task forks) are only in
    # the reaped total: they count as forks.
    per.pop(PROFILER, None)
    sampled = sum(per.values())
    per[FORKS] += max(0.0, children - sampled - sampler.spy_cpu)
    controller = {k: per.get(k, 0.0) for k in (MAIN, FORKS, SSH)}
    return Breakdown(
        wall=wall,
        controller=controller,
        runner=max(0.0, self_cpu),
        targets=sum(after_hosts.get(h, 0.0) - before_hosts.get(h, 0.0) for h in host_names),
        hosts=len(host_names),
        peak_pss_mib=sampler.sample.peak_pss_kib / 1024,
        main_shares=spy_shares(spy_dir) if spy_dir else Counter(),
        machine_busy=busy1 - busy0,
        machine_idle=idle1 - idle0,
    )
