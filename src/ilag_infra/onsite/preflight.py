"""`ilag preflight`: can every host be reached safely and does it have what a run needs?"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import paramiko

from ilag_infra.model import expiry
from ilag_infra.model.errors import Problem
from ilag_infra.onsite import hostlist, node_cert, ssh
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target


@dataclass(frozen=True)
class Limits:
    min_free_mib: int = 1024
    max_skew_s: float = 2.0
    # ilag:expiryWarningDays of the identity stack: the node certificates its CA signs.
    cert_warning_days: int = expiry.DEFAULT_WARNING_DAYS


@dataclass
class HostCheck:
    host: SshHost
    host_key: str = "not checked"
    python3: str = "-"
    sudo: str = "-"
    free_mib: int | None = None
    skew_s: float | None = None
    problems: list[str] = field(default_factory=list)
    # Not a reason to stop a run: what runs out soon (the node certificate of a node host).
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_host(target: Target, host: SshHost, limits: Limits) -> HostCheck:
    result = HostCheck(host)
    kh = target.known_hosts(host.municipality)
    try:
        client = ssh.connect(host, kh)
    except ssh.HostKeyError as exc:
        result.host_key = "MISMATCH" if "MISMATCH" in str(exc) else "not pinned"
        result.problems.append(str(exc))
        return result
    except (TimeoutError, OSError, paramiko.SSHException) as exc:
        result.host_key = "unreachable"
        result.problems.append(f"cannot connect: {exc or type(exc).__name__}")
        return result
    result.host_key = "pinned, matches"
    try:
        rc, out, _ = ssh.run(client, "python3 --version")
        result.python3 = out.strip().removeprefix("Python ") if rc == 0 else "missing"
        if rc != 0:
            result.problems.append(
                f"python3 is missing; run `ilag apply {host.municipality} --playbook bootstrap --limit {host.name}`"
            )
        rc, _, err = ssh.run(client, "command -v sudo >/dev/null && sudo -n true")
        result.sudo = "ok" if rc == 0 else "no"
        if rc != 0:
            result.problems.append(f"sudo without a password does not work: {err.strip()[:120]}")
        rc, out, _ = ssh.run(client, "df -Pk / | tail -n 1")
        free_kib = int(out.split()[3]) if rc == 0 and len(out.split()) > 3 else 0
        result.free_mib = free_kib // 1024
        if result.free_mib < limits.min_free_mib:
            result.problems.append(
                f"only {result.free_mib} MiB free on / (need {limits.min_free_mib})"
            )
        before = time.time()
        rc, out, _ = ssh.run(client, "date +%s.%N")
        after = time.time()
        if rc == 0:
            result.skew_s = float(out.strip()) - (before + after) / 2
            if abs(result.skew_s) > limits.max_skew_s:
                result.problems.append(
                    f"clock is off by {result.skew_s:+.1f} s "
                    f"(limit {limits.max_skew_s} s); check chrony"
                )
        if node_cert.is_node(host):
            warning = node_cert.check(client, host, limits.cert_warning_days)
            if warning is not None:
                result.warnings.append(warning)
    except (OSError, paramiko.SSHException, ValueError) as exc:
        result.problems.append(f"check failed: {exc}")
    finally:
        client.close()
    return result


def preflight(
    target: Target, slugs: list[str], limit: str | None = None, limits: Limits | None = None
) -> list[HostCheck]:
    """Check every host of the municipalities in parallel."""
    hosts = [h for slug in slugs for h in hostlist.resolve(target, slug, limit)]
    lim = limits or Limits()
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
        return list(pool.map(lambda h: check_host(target, h, lim), hosts))
