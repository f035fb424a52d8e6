"""`ilag audit`: the security baseline checked against each host's live state, read-only.

The controls are data: a read-only command run as root on the host and an expectation that
judges its output. The commands ask the running system (`sshd -T`, `sysctl`, `modprobe -n`,
`auditctl -l`, the session's own umask and core limit) rather than reading the role's files
where a live answer exists. Nothing here changes a host, so it is safe against production.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import paramiko

from ilag_infra.onsite import hostlist, ssh
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import Target

Verdict = Literal["pass", "fail", "n/a", "off"]


class Expectation(Protocol):
    def judge(self, output: str) -> tuple[bool, str]:
        """(passed, evidence) for a command's output."""
        ...


def _squeeze(text: str) -> str:
    return " ".join(text.split())


# What the published benchmarks allow (dev-sec ssh-hardening, CIS Debian 12 5.1): the floor.
# The role's own lists are what each host is judged against; a list overridden in the
# inventory is audited against the override, but never below these.
STRONG_KEX = (
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
)
STRONG_CIPHERS = (
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
ETM_MACS = (
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "umac-128-etm@openssh.com",
)
KEY_ALGORITHMS = (
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-512",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-256",
)
CA_ALGORITHMS = ("ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256")
HOST_KEY_TYPES = ("ed25519", "rsa")
AUDIT_KEYS = ("identity", "scope", "time-change", "logins", "session", "mounts", "kernel_modules")
CRON_PATHS = (
    "/etc/crontab",
    "/etc/cron.d",
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/etc/cron.yearly",
)
CIS_SSH = "CIS Debian 12 5.1"
SSHD_LOGIN_KEYS = (
    "permitrootlogin",
    "pubkeyauthentication",
    "authenticationmethods",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "permitemptypasswords",
    "hostbasedauthentication",
    "ignorerhosts",
    "maxauthtries",
    "logingracetime",
)
SSHD_FORWARDING_KEYS = (
    "x11forwarding",
    "allowagentforwarding",
    "allowtcpforwarding",
    "allowstreamlocalforwarding",
    "gatewayports",
    "permittunnel",
    "permituserenvironment",
)
CIS_PASSWORDS = "CIS Debian 12 5.3, 5.4"

KERNEL_IS_MACHINES = (
    "a container shares the machine's kernel; /etc/sysctl.d/60-ilag-hardening.conf is written "
    "and applies at boot on a server"
)
SSHD_T = "sshd -T 2>&1"


def _installed(pkg: str) -> str:
    return (
        f"dpkg-query -W -f '${{db:Status-Status}}' {pkg} 2>/dev/null | grep -qx installed "
        f"|| echo '! {pkg} is not installed'"
    )


def _word(value: Any) -> str:
    """A role variable as sshd -T and sysctl print it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _sshd_norm(keyword: str, value: str) -> str:
    v = value.strip().lower()
    # sshd -T prints the old spelling of prohibit-password.
    if keyword == "permitrootlogin" and v == "prohibit-password":
        return "without-password"
    return v


@dataclass(frozen=True)
class Floor:
    """A published benchmark's limit on one value: a value past it fails whatever the role
    was told."""

    key: str
    ok: Callable[[str], bool]
    rule: str  # what the benchmark requires, as shown in the evidence


def _at_most(limit: int) -> Callable[[str], bool]:
    return lambda v: v.strip().isdigit() and int(v) <= limit


def _at_least(limit: int) -> Callable[[str], bool]:
    return lambda v: v.strip().isdigit() and int(v) >= limit


def _floor_problems(seen: dict[str, str], floors: tuple[Floor, ...]) -> list[str]:
    out = []
    for f in floors:
        have = seen.get(f.key)
        if have is not None and not f.ok(have):
            out.append(f"{f.key} {have} is below the benchmark ({f.rule})")
    return out


@dataclass(frozen=True)
class SshdValues:
    """Each keyword's effective value (`sshd -T`) is the one the role writes there, and no
    benchmark floor is crossed. A drop-in that sorts before the role's wins in sshd, and
    shows here."""

    expected: tuple[tuple[str, str], ...]
    floors: tuple[Floor, ...] = ()

    def judge(self, output: str) -> tuple[bool, str]:
        seen: dict[str, str] = {}
        for line in output.splitlines():
            key, _, rest = line.strip().partition(" ")
            seen.setdefault(key.lower(), rest.strip())
        wrong = []
        for key, want in self.expected:
            have = seen.get(key)
            if have is None or _sshd_norm(key, have) != _sshd_norm(key, want):
                wrong.append(f"{key} is {have if have is not None else 'unset'}, want {want}")
        wrong += _floor_problems({k: _sshd_norm(k, v) for k, v in seen.items()}, self.floors)
        if wrong:
            return False, "; ".join(wrong)
        return True, ", ".join(f"{k} {v}" for k, v in self.expected)


@dataclass(frozen=True)
class SshdOnly:
    """Every value `sshd -T` gives for keyword is in the role's list (and there is at least
    one), and in the benchmark's list when there is one."""

    keyword: str
    allowed: tuple[str, ...]
    benchmark: tuple[str, ...] = ()

    def judge(self, output: str) -> tuple[bool, str]:
        values: list[str] = []
        for line in output.splitlines():
            key, _, rest = line.strip().partition(" ")
            if key.lower() == self.keyword:
                values += [v for v in rest.strip().split(",") if v]
        if not values:
            return False, f"sshd -T has no {self.keyword}"
        extra = [v for v in values if v not in self.allowed]
        weak = [v for v in values if self.benchmark and v not in self.benchmark]
        if extra or weak:
            parts = []
            if extra:
                parts.append(f"{self.keyword} offers {', '.join(extra)} (not allowed)")
            if weak:
                parts.append(f"{', '.join(weak)} below the benchmark")
            return False, "; ".join(parts)
        return True, f"{self.keyword} {','.join(values)}"


@dataclass(frozen=True)
class Values:
    """`key value` or `key = value` lines: each expected key has the expected value.

    The last line for a key wins, as in the configuration files these lines come from.
    """

    expected: tuple[tuple[str, str], ...]
    floors: tuple[Floor, ...] = ()

    def judge(self, output: str) -> tuple[bool, str]:
        seen: dict[str, str] = {}
        for line in output.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            # sysctl, systemd and pwquality write key=value; login.defs and modprobe key value.
            if "=" in line:
                key, _, value = line.partition("=")
            else:
                key, _, value = line.replace("\t", " ").partition(" ")
            seen[key.strip()] = _squeeze(value)
        wrong = []
        for key, want in self.expected:
            have = seen.get(key)
            if have != want:
                wrong.append(f"{key} is {have if have is not None else 'unset'}, want {want}")
        wrong += _floor_problems(seen, self.floors)
        if wrong:
            return False, "; ".join(wrong)
        return True, ", ".join(f"{k}={v}" for k, v in self.expected)


@dataclass(frozen=True)
class Equals:
    """The whole output, trimmed, is exactly value."""

    value: str
    what: str

    def judge(self, output: str) -> tuple[bool, str]:
        have = output.strip()
        if have == self.value:
            return True, f"{self.what} {have}"
        return False, f"{self.what} {have or '(nothing)'}, want {self.value}"


@dataclass(frozen=True)
class Contains:
    """Each item appears in the output (whitespace squeezed on both sides)."""

    items: tuple[str, ...]

    def judge(self, output: str) -> tuple[bool, str]:
        text = _squeeze(output)
        missing = [i for i in self.items if _squeeze(i) not in text]
        if missing:
            return False, "missing: " + "; ".join(missing)
        return True, "; ".join(self.items)


@dataclass(frozen=True)
class NoViolations:
    """The command prints `! problem` for each violation and plain lines as evidence."""

    ok_text: str

    def judge(self, output: str) -> tuple[bool, str]:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        bad = [ln[1:].strip() for ln in lines if ln.startswith("!")]
        if bad:
            return False, "; ".join(bad)
        shown = [ln for ln in lines if not ln.startswith("!")]
        return True, self.ok_text + (f" ({'; '.join(shown)})" if shown else "")


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    variable: str  # the baseline role variable that turns the control on
    source: str  # where auditors find it: a CIS Debian 12 item or a dev-sec role
    command: str  # read-only, run as root, POSIX sh
    expect: Expectation
    # Why a container cannot hold this state (its kernel is the machine's); None: it must pass.
    container_na: str | None = None
    # False when the host's settings turn the control off: shown as "off", never as FAIL.
    enabled: bool = True


def _on(s: Mapping[str, Any], *variables: str) -> bool:
    return all(_truthy(s.get(v, True)) for v in variables)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _list(s: Mapping[str, Any], *variables: str) -> tuple[str, ...]:
    out: list[str] = []
    for v in variables:
        for item in s.get(v) or ():
            if str(item) not in out:
                out.append(str(item))
    return tuple(out)


def _sshd_controls(s: Mapping[str, Any]) -> list[Control]:
    on = _on(s, "baseline__sshd_hardening")
    extra = {
        str(k).lower(): _word(v) for k, v in (s.get("baseline__sshd_extra_options") or {}).items()
    }
    # The role's own table of what its drop-in makes sshd do (vars/main.yml); the template
    # writes the extra options first, and sshd keeps the first value.
    wanted = {
        str(k).lower(): extra.get(str(k).lower(), _word(v))
        for k, v in (s.get("baseline__sshd_effective_wanted") or {}).items()
    }

    def part(keys: tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
        grouped = set(SSHD_LOGIN_KEYS + SSHD_FORWARDING_KEYS)
        return tuple((k, v) for k, v in wanted.items() if (k in keys if keys else k not in grouped))

    login, forwarding, session = (
        part(SSHD_LOGIN_KEYS),
        part(SSHD_FORWARDING_KEYS),
        part(None),  # everything else: limits, timeouts, logging
    )
    login_floors = (
        Floor("permitrootlogin", lambda v: v != "yes", "no root login with a password"),
        Floor("permitemptypasswords", lambda v: v == "no", "PermitEmptyPasswords no"),
        Floor("hostbasedauthentication", lambda v: v == "no", "HostbasedAuthentication no"),
        Floor("ignorerhosts", lambda v: v == "yes", "IgnoreRhosts yes"),
        Floor("maxauthtries", _at_most(4), "MaxAuthTries 4 or less"),
        Floor("logingracetime", _at_most(60), "LoginGraceTime 60 or less"),
    )
    min_bits = int(s.get("baseline__sshd_moduli_min_bits", 3072) or 0)
    host_keys = tuple(
        f"/etc/ssh/ssh_host_{t}_key" for t in _list(s, "baseline__sshd_host_key_types")
    )
    keep = "|".join(f"*_{t}_key" for t in _list(s, "baseline__sshd_host_key_types")) or "-"
    return [
        Control(
            "ssh-login",
            "sshd logins: keys only, no passwords, no root password, few tries",
            "baseline__sshd_hardening",
            f"dev-sec ssh-hardening; {CIS_SSH}",
            SSHD_T,
            SshdValues(login, login_floors),
            enabled=on,
        ),
        Control(
            "ssh-forwarding",
            "sshd forwards nothing it does not need (X11, agent, tunnels, user environment)",
            "baseline__sshd_hardening",
            f"dev-sec ssh-hardening; {CIS_SSH}",
            SSHD_T,
            SshdValues(
                forwarding,
                (
                    Floor("x11forwarding", lambda v: v == "no", "X11Forwarding no"),
                    Floor("permituserenvironment", lambda v: v == "no", "PermitUserEnvironment no"),
                ),
            ),
            enabled=on,
        ),
        Control(
            "ssh-session",
            "sshd session limits, idle timeout and verbose logging",
            "baseline__sshd_hardening",
            f"dev-sec ssh-hardening; {CIS_SSH}",
            SSHD_T,
            SshdValues(
                session,
                (
                    Floor(
                        "loglevel", lambda v: v in ("info", "verbose"), "LogLevel INFO or VERBOSE"
                    ),
                ),
            ),
            enabled=on,
        ),
        Control(
            "ssh-no-match",
            "no Match block changes sshd's settings per connection",
            "baseline__sshd_hardening",
            "sshd_config(5): sshd -T shows no Match block's settings without a connection",
            "grep -HnE '^[[:space:]]*Match[[:space:]]' /etc/ssh/sshd_config "
            "/etc/ssh/sshd_config.d/*.conf 2>/dev/null | sed 's/^/! /'; true",
            NoViolations("none"),
            enabled=on,
        ),
        Control(
            "ssh-kex",
            "sshd key exchange: no NIST curves, no SHA-1, no 2048-bit groups",
            "baseline__sshd_kex_algorithms",
            "dev-sec ssh-hardening; CIS 5.1.12",
            SSHD_T,
            SshdOnly("kexalgorithms", _list(s, "baseline__sshd_kex_algorithms"), STRONG_KEX),
            enabled=on,
        ),
        Control(
            "ssh-ciphers",
            "sshd ciphers: chacha20-poly1305, AES-GCM, AES-CTR",
            "baseline__sshd_ciphers",
            "dev-sec ssh-hardening; CIS 5.1.6",
            SSHD_T,
            SshdOnly("ciphers", _list(s, "baseline__sshd_ciphers"), STRONG_CIPHERS),
            enabled=on,
        ),
        Control(
            "ssh-macs",
            "sshd MACs: encrypt-then-MAC only",
            "baseline__sshd_macs",
            "dev-sec ssh-hardening; CIS 5.1.15",
            SSHD_T,
            SshdOnly("macs", _list(s, "baseline__sshd_macs"), ETM_MACS),
            enabled=on,
        ),
        Control(
            "ssh-host-key-algorithms",
            "sshd host key algorithms: ed25519 and rsa-sha2",
            "baseline__sshd_host_key_algorithms",
            "dev-sec ssh-hardening",
            SSHD_T,
            SshdOnly(
                "hostkeyalgorithms", _list(s, "baseline__sshd_host_key_algorithms"), KEY_ALGORITHMS
            ),
            enabled=on,
        ),
        Control(
            "ssh-pubkey-algorithms",
            "sshd accepted user key algorithms: ed25519 and rsa-sha2",
            "baseline__sshd_pubkey_accepted_algorithms",
            "dev-sec ssh-hardening",
            SSHD_T,
            SshdOnly(
                "pubkeyacceptedalgorithms",
                _list(s, "baseline__sshd_pubkey_accepted_algorithms"),
                KEY_ALGORITHMS,
            ),
            enabled=on,
        ),
        Control(
            "ssh-ca-algorithms",
            "sshd CA signature algorithms: ed25519 and rsa-sha2",
            "baseline__sshd_ca_signature_algorithms",
            "dev-sec ssh-hardening",
            SSHD_T,
            SshdOnly(
                "casignaturealgorithms",
                _list(s, "baseline__sshd_ca_signature_algorithms"),
                CA_ALGORITHMS,
            ),
            enabled=on,
        ),
        Control(
            "ssh-host-keys",
            "sshd host keys: ed25519 and rsa only, no ecdsa or dsa key files",
            "baseline__sshd_host_key_types",
            "dev-sec ssh-hardening",
            f"{SSHD_T} | grep -i '^hostkey ' ; "
            "for f in /etc/ssh/ssh_host_*_key; do case $f in "
            f'{keep}) ;; *) [ -e "$f" ] && echo "hostkey $f" ;; esac; done',
            SshdOnly(
                "hostkey",
                host_keys,
                tuple(f"/etc/ssh/ssh_host_{t}_key" for t in HOST_KEY_TYPES),
            ),
            enabled=on,
        ),
        Control(
            "ssh-moduli",
            f"Diffie-Hellman group-exchange moduli of {min_bits} bits and up",
            "baseline__sshd_moduli_min_bits",
            "dev-sec ssh-hardening",
            f"awk '$1 !~ /^#/ && NF >= 7 && $5 < {max(min_bits - 1, 0)} {{ n++ }} END "
            "{ print n + 0 }' /etc/ssh/moduli",
            Equals("0", f"moduli under {min_bits} bits:"),
            enabled=on and min_bits > 0,
        ),
        Control(
            "ssh-banner",
            "sshd shows the legal banner before login",
            "baseline__sshd_banner",
            "CIS 5.1.5",
            SSHD_T,
            SshdOnly("banner", ("/etc/issue.net",)),
            enabled=on and _on(s, "baseline__sshd_banner", "baseline__banner"),
        ),
    ]


def controls(s: Mapping[str, Any]) -> tuple[Control, ...]:
    """Every control, with its expectations taken from the host's baseline settings."""
    defs = {str(k): str(v) for k, v in (s.get("baseline__login_defs") or {}).items()}
    login_defs = tuple(
        (k, defs[k])
        for k in (
            "UMASK",
            "PASS_MAX_DAYS",
            "PASS_MIN_DAYS",
            "PASS_WARN_AGE",
            "ENCRYPT_METHOD",
            "SHA_CRYPT_MIN_ROUNDS",
        )
        if k in defs
    )
    umask = "0" + defs.get("UMASK", "027").lstrip("0").rjust(3, "0")
    pwq = s.get("baseline__pam_pwquality_options") or {}
    faillock = s.get("baseline__pam_faillock_options") or {}
    overrides = {
        **(s.get("baseline__sysctl_group") or {}),
        **(s.get("baseline__sysctl_host") or {}),
    }

    def sysctl(variable: str) -> tuple[tuple[str, str], ...]:
        wanted = {**(s.get(variable) or {})}
        wanted.update({k: v for k, v in overrides.items() if k in wanted})
        return tuple((str(k), _word(v)) for k, v in wanted.items())

    network = sysctl("baseline__sysctl_network")
    kernel = sysctl("baseline__sysctl_kernel")
    modules = _list(s, "baseline__module_blacklist_modules") + (
        ("usb-storage",) if _on(s, "baseline__module_blacklist_usb_storage") else ()
    )
    absent = _list(
        s,
        "baseline__packages_absent",
        "baseline__group_packages_absent",
        "baseline__host_packages_absent",
    )
    return (
        *_sshd_controls(s),
        Control(
            "banner",
            "legal banner in /etc/issue and /etc/issue.net, naming no OS or version",
            "baseline__banner",
            "CIS 1.7.2, 1.7.3",
            "for f in /etc/issue /etc/issue.net; do "
            'if [ ! -s $f ]; then echo "! $f is empty"; '
            "elif grep -qE '\\\\[mrsv]|Debian|GNU|Linux' $f; then echo \"! $f names the OS\"; "
            'else echo "$f: $(head -c 40 $f | head -n 1)..."; fi; done',
            NoViolations("banner set"),
            enabled=_on(s, "baseline__banner"),
        ),
        # --- accounts, PAM ----------------------------------------------------------------------
        Control(
            "login-defs",
            "login.defs: umask, password ageing, SHA-512 with rounds",
            "baseline__login_defs",
            "CIS 5.4.1.1-5.4.1.3, 5.4.3.3; dev-sec os-hardening",
            "grep -E '^[[:space:]]*("
            + "|".join(k for k, _ in login_defs)
            + ")[[:space:]]' /etc/login.defs",
            Values(
                login_defs,
                (
                    Floor("PASS_MAX_DAYS", _at_most(365), f"365 days or less, {CIS_PASSWORDS}"),
                    Floor(
                        "ENCRYPT_METHOD",
                        lambda v: v in ("SHA512", "YESCRYPT"),
                        f"SHA512 or YESCRYPT, {CIS_PASSWORDS}",
                    ),
                ),
            ),
            enabled=_on(s, "baseline__login_defs_manage") and bool(login_defs),
        ),
        Control(
            "session-umask",
            f"login sessions get umask {umask} (pam_umask)",
            "baseline__pam_umask",
            "CIS 5.4.3.3",
            "umask",
            Equals(umask, "umask of this SSH session:"),
            enabled=_on(s, "baseline__pam_umask"),
        ),
        Control(
            "pam-pwquality",
            "new passwords are checked by pam_pwquality (length and character classes)",
            "baseline__pam_pwquality",
            "CIS 5.3.3.2",
            "grep -hEo 'pam_pwquality\\.so' /etc/pam.d/common-password | sed 's/^/module /'; "
            "cat /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf 2>/dev/null "
            "| grep -E '^[[:space:]]*(minlen|minclass)[[:space:]]*='",
            Values(
                (
                    ("module", "pam_pwquality.so"),
                    ("minlen", _word(pwq.get("minlen", 14))),
                    ("minclass", _word(pwq.get("minclass", 4))),
                ),
                (Floor("minlen", _at_least(14), f"14 characters or more, {CIS_PASSWORDS}"),),
            ),
            enabled=_on(s, "baseline__pam_pwquality"),
        ),
        Control(
            "pam-faillock",
            "accounts lock after repeated failed logins (pam_faillock)",
            "baseline__pam_faillock",
            "CIS 5.3.2.2, 5.3.3.1",
            "grep -h pam_faillock.so /etc/pam.d/common-auth /etc/pam.d/common-account; "
            "grep -E '^[[:space:]]*deny[[:space:]]*=' /etc/security/faillock.conf; "
            "faillock --user root >/dev/null 2>&1 && echo faillock-runs",
            Contains(
                (
                    "auth requisite pam_faillock.so preauth",
                    "auth [default=die] pam_faillock.so authfail",
                    "account required pam_faillock.so",
                    f"deny = {_word(faillock.get('deny', 5))}",
                    "faillock-runs",
                )
            ),
            enabled=_on(s, "baseline__pam_faillock"),
        ),
        # --- core dumps ---------------------------------------------------------------------------
        Control(
            "core-limit",
            "login sessions may not write core dumps (hard limit 0)",
            "baseline__core_dumps_disabled",
            "CIS 1.5.3; dev-sec os-hardening",
            "ulimit -Hc",
            Equals("0", "hard core limit of this SSH session:"),
            enabled=_on(s, "baseline__core_dumps_disabled"),
        ),
        Control(
            "coredump-storage",
            "systemd-coredump keeps nothing",
            "baseline__core_dumps_disabled",
            "CIS 1.5.4, 1.5.5",
            "systemd-analyze cat-config systemd/coredump.conf 2>/dev/null "
            "| grep -E '^(Storage|ProcessSizeMax)='",
            Values((("Storage", "none"), ("ProcessSizeMax", "0"))),
            enabled=_on(s, "baseline__core_dumps_disabled"),
        ),
        # --- kernel -------------------------------------------------------------------------------
        Control(
            "sysctl-network",
            "network hardening in force (redirects, source routes, rp_filter, syncookies)",
            "baseline__sysctl_network",
            "CIS 3.3.1-3.3.11; dev-sec os-hardening",
            "sysctl " + " ".join(k for k, _ in network) + " 2>&1",
            Values(network),
            enabled=_on(s, "baseline__sysctl") and bool(network),
        ),
        Control(
            "sysctl-kernel",
            "kernel hardening in force (ASLR, ptrace, dumps of setuid programs, kptr, dmesg)",
            "baseline__sysctl_kernel",
            "CIS 1.5.1-1.5.3; dev-sec os-hardening",
            "sysctl " + " ".join(k for k, _ in kernel) + " 2>&1",
            Values(kernel),
            container_na=KERNEL_IS_MACHINES,
            enabled=_on(s, "baseline__sysctl") and bool(kernel),
        ),
        Control(
            "modules-blacklisted",
            "unused file systems and protocols cannot be loaded (modprobe: install /bin/false)",
            "baseline__module_blacklist_modules",
            "CIS 1.1.1.1-1.1.1.9, 3.2.1-3.2.4; dev-sec os-hardening",
            "for m in "
            + " ".join(modules)
            + "; do printf '%s %s\\n' $m \"$(modprobe -n -v $m 2>&1 | tail -n 1)\"; done",
            Values(tuple((m, "install /bin/false") for m in modules)),
            enabled=_on(s, "baseline__module_blacklist") and bool(modules),
        ),
        Control(
            "modules-not-loaded",
            "none of the blacklisted modules is loaded",
            "baseline__module_blacklist_modules",
            "CIS 1.1.1.1-1.1.1.9",
            "for m in "
            + " ".join(m.replace("-", "_") for m in modules)
            + '; do grep -q "^$m " /proc/modules && echo "! $m is loaded"; done; true',
            NoViolations("none loaded"),
            container_na="a container sees the machine's loaded modules",
            enabled=_on(s, "baseline__module_blacklist") and bool(modules),
        ),
        # --- audit daemon, accounting -------------------------------------------------------------
        Control(
            "auditd-rules",
            "auditd installed and enabled with the CIS rule set",
            "baseline__auditd",
            "CIS 6.2.1.1, 6.2.1.2, 6.2.3.x",
            _installed("auditd")
            + "; systemctl is-enabled --quiet auditd.service || echo '! auditd is not enabled'; "
            "grep -hoE -- '-k [a-z_-]+' /etc/audit/rules.d/*.rules 2>/dev/null | sort -u "
            "| tr '\\n' ' '; echo; for k in "
            + " ".join(AUDIT_KEYS)
            + '; do grep -qs -- "-k $k\\$" /etc/audit/rules.d/*.rules || echo "! no $k rules"; done',
            NoViolations("rules present"),
            enabled=_on(s, "baseline__auditd"),
        ),
        Control(
            "auditd-loaded",
            "the kernel has the audit rules loaded",
            "baseline__auditd",
            "CIS 6.2.3.21",
            "auditctl -l 2>&1",
            Contains(tuple(f"-k {k}" for k in AUDIT_KEYS)),
            container_na="the kernel audit subsystem is the machine's and not namespaced",
            enabled=_on(s, "baseline__auditd"),
        ),
        Control(
            "acct-installed",
            "process accounting installed and enabled",
            "baseline__acct",
            "dev-sec os-hardening",
            _installed("acct")
            + "; systemctl is-enabled --quiet acct.service || echo '! acct is not enabled'",
            NoViolations("installed and enabled"),
            enabled=_on(s, "baseline__acct"),
        ),
        Control(
            "acct-running",
            "process accounting records processes",
            "baseline__acct",
            "dev-sec os-hardening",
            "systemctl is-active acct.service",
            Equals("active", "acct.service"),
            container_na="a container has no CAP_SYS_PACCT (and is not given it)",
            enabled=_on(s, "baseline__acct"),
        ),
        # --- apt ----------------------------------------------------------------------------------
        Control(
            "apt-security-source",
            "apt fetches the release, -updates and -security suites",
            "baseline__apt_sources",
            "CIS 1.2.1.2",
            ". /etc/os-release; s=$(apt-get --print-uris update 2>/dev/null "
            "| grep -o 'dists/[^/]*/InRelease' | cut -d/ -f2 | sort -u); echo $s; "
            "for want in $VERSION_CODENAME $VERSION_CODENAME-updates $VERSION_CODENAME-security; do "
            'echo "$s" | grep -qx "$want" || echo "! no $want source"; done',
            NoViolations("suites"),
            enabled=_on(s, "baseline__apt_sources"),
        ),
        Control(
            "unattended-upgrades",
            "unattended-upgrades installs security updates daily",
            "baseline__unattended_upgrades",
            "CIS 1.2.2.1; dev-sec os-hardening",
            _installed("unattended-upgrades")
            + "; eval $(apt-config shell U APT::Periodic::Unattended-Upgrade); "
            '[ "$U" = 1 ] || echo "! APT::Periodic::Unattended-Upgrade is \'$U\'"; '
            "apt-config dump | grep -q 'Origins-Pattern:: \".*-security' "
            "|| echo '! no -security origin'; echo periodic=$U",
            NoViolations("on"),
            enabled=_on(s, "baseline__unattended_upgrades"),
        ),
        # --- permissions --------------------------------------------------------------------------
        Control(
            "cron-permissions",
            "cron directories 0700 and /etc/crontab 0600, owned by root",
            "baseline__cron_permissions",
            "CIS 2.4.1.2-2.4.1.8",
            "for p in "
            + " ".join(CRON_PATHS)
            + "; do [ -e $p ] || continue; stat -c '%a %U %n' $p; "
            "find $p -maxdepth 0 \\( -perm /077 -o ! -user root \\) -printf '! %p is %m %u\\n'; done",
            NoViolations("restricted"),
            enabled=_on(s, "baseline__cron_permissions"),
        ),
        Control(
            "home-permissions",
            "home directories 0750 or stricter, /root 0700",
            "baseline__home_permissions",
            "CIS 7.2.9",
            "find /home -mindepth 1 -maxdepth 1 -type d -perm /027 -printf '! %p is %m\\n'; "
            "find /root -maxdepth 0 -perm /077 -printf '! %p is %m\\n'; "
            "find /home -mindepth 1 -maxdepth 1 -type d -printf '%p %m\\n'",
            NoViolations("restricted"),
            enabled=_on(s, "baseline__home_permissions"),
        ),
        Control(
            "shadow-permissions",
            "passwd and group 0644, shadow and gshadow 0640 root:shadow or stricter",
            "baseline__shadow_permissions",
            "CIS 7.1.1-7.1.8",
            "find /etc/passwd /etc/group -maxdepth 0 \\( -perm /133 -o ! -user root \\) "
            "-printf '! %p is %m %u\\n'; "
            "find /etc/shadow /etc/gshadow -maxdepth 0 \\( -perm /137 -o ! -user root "
            "-o ! -group shadow \\) -printf '! %p is %m %u:%g\\n'; "
            "stat -c '%a %U:%G %n' /etc/passwd /etc/group /etc/shadow /etc/gshadow",
            NoViolations("restricted"),
            enabled=_on(s, "baseline__shadow_permissions"),
        ),
        # --- packages -----------------------------------------------------------------------------
        Control(
            "packages-absent",
            "no clear-text or desktop services a server does not need",
            "baseline__packages_absent",
            "CIS 2.1.x, 2.2.x; dev-sec os-hardening",
            "dpkg-query -W -f '${db:Status-Status} ${Package}\\n' "
            + " ".join(absent)
            + ' 2>/dev/null | awk \'$1 == "installed" { print "! " $2 " is installed" }\'',
            NoViolations("none installed"),
            enabled=bool(absent),
        ),
    )


def _shipped_defaults() -> Mapping[str, Any]:
    from ilag_infra.onsite.baseline_settings import for_host

    return for_host(Path(__file__).resolve().parents[3], "(role defaults)", {})


# The controls with the role's shipped defaults (the tests and `--help` read them); a host is
# judged with its own settings (audit_host).
CONTROLS: tuple[Control, ...] = controls(_shipped_defaults())
CONTROL_IDS = tuple(c.id for c in CONTROLS)


@dataclass(frozen=True)
class Finding:
    host: SshHost
    control: Control
    verdict: Verdict
    evidence: str

    def to_dict(self) -> dict[str, str]:
        return {
            "municipality": self.host.municipality,
            "host": self.host.name,
            "control": self.control.id,
            "title": self.control.title,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "variable": self.control.variable,
            "source": self.control.source,
        }


def verdict(control: Control, output: str, in_container: bool) -> tuple[Verdict, str]:
    """Judge one control's output; in a container a failure it cannot help is n/a."""
    if not control.enabled:
        return "off", f"off by settings ({control.variable})"
    passed, evidence = control.expect.judge(output)
    if passed:
        return "pass", evidence
    if in_container and control.container_na:
        return "n/a", f"container: {control.container_na} (seen: {evidence})"
    return "fail", evidence


@dataclass
class HostAudit:
    host: SshHost
    in_container: bool = False
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.verdict != "fail" for f in self.findings)


def _as_root(host: SshHost, command: str) -> str:
    script = f"LC_ALL=C; export LC_ALL; PATH=/usr/sbin:/usr/bin:/sbin:/bin; {command}"
    if host.user == "root":
        return script
    return f"sudo -n sh -c {shlex.quote(script)}"


def audit_host(
    target: Target, host: SshHost, checks: tuple[Control, ...] | None = None
) -> HostAudit:
    """Run every control's command once (shared commands once in all) and judge the output
    against the host's own baseline settings (role defaults, then the inventory)."""
    from ilag_infra.onsite import baseline_settings

    result = HostAudit(host)
    if checks is None:
        settings = baseline_settings.for_host(target.repo_root, host.name, host.inventory_vars)
        checks = controls(settings)
    try:
        client = ssh.connect(host, target.known_hosts(host.municipality))
    except ssh.HostKeyError as exc:
        result.error = str(exc)
        return result
    except (TimeoutError, OSError, paramiko.SSHException) as exc:
        result.error = f"cannot connect: {exc or type(exc).__name__}"
        return result
    try:
        rc, _, _ = ssh.run(client, "systemd-detect-virt --container --quiet")
        result.in_container = rc == 0
        outputs: dict[str, str] = {}
        for control in checks:
            if not control.enabled:
                result.findings.append(Finding(host, control, *verdict(control, "", False)))
                continue
            if control.command not in outputs:
                # Session-level checks (umask, ulimit) must see the login session itself.
                _, out, err = ssh.run(client, _as_root(host, control.command), timeout=60)
                outputs[control.command] = out + err
            found, evidence = verdict(control, outputs[control.command], result.in_container)
            result.findings.append(Finding(host, control, found, evidence))
    except (OSError, paramiko.SSHException) as exc:
        result.error = f"check failed: {exc}"
    finally:
        client.close()
    return result


def audit(target: Target, slugs: list[str], limit: str | None = None) -> list[HostAudit]:
    """Audit every host of the municipalities in parallel, in inventory order."""
    hosts = [h for slug in slugs for h in hostlist.resolve(target, slug, limit)]
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
        return list(pool.map(lambda h: audit_host(target, h), hosts))
