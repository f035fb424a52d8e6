"""The network role sends the private endpoints' zones to the hub resolver, in both resolver
modes, checked on a booted lab host from the resolver's live state and real queries.

Two small DNS responders run on addresses the lab created: the lab service address plays the
hub resolver's inbound endpoint (what the lab's outputs give as resolver_inbound_ip), and the
municipality's bridge address plays the site's own DNS server. Each records the names it was
asked, so the test sees where a lookup really went, not what a template says.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ilag_infra import lab as lab_mod
from ilag_infra.onsite import ssh
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.targets import lab_dir

from .conftest import Lab

pytestmark = pytest.mark.lab

ZONES = (
    "blob.core.windows.net",
    "privatelink.blob.core.windows.net",
    "vault.azure.net",
    "vaultcore.azure.net",
    "privatelink.vaultcore.azure.net",
)
HUB_ANSWER = "10.20.2.5"  # what a private endpoint's A record would say
SITE_ANSWER = "10.99.0.5"


class Responder:
    """A UDP DNS server that records every name it is asked. Names inside `zones` (all names
    when zones is empty) get one A record; others get NXDOMAIN, as a real server would."""

    def __init__(self, address: str, answer: str, zones: tuple[str, ...] = ()) -> None:
        self.zones = zones
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 53))
        self.sock.settimeout(0.2)
        self.answer = socket.inet_aton(answer)
        self.names: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._reply(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _reply(self, data: bytes) -> bytes | None:
        if len(data) < 12:
            return None
        qid, _flags, qdcount = struct.unpack(">HHH", data[:6])
        if qdcount != 1:
            return None
        labels, i = [], 12
        while i < len(data) and data[i]:
            labels.append(data[i + 1 : i + 1 + data[i]].decode("ascii", "replace"))
            i += 1 + data[i]
        qtype = struct.unpack(">H", data[i + 1 : i + 3])[0]
        question = data[12 : i + 5]
        name = ".".join(labels).lower()
        self.names.append(name)
        known = not self.zones or any(name == z or name.endswith("." + z) for z in self.zones)
        answers = b""
        if known and qtype == 1:  # A
            answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + self.answer
        flags = 0x8180 if known else 0x8183  # NOERROR or NXDOMAIN
        header = struct.pack(">HHHHHH", qid, flags, 1, 1 if answers else 0, 0, 0)
        return header + question + answers

    def asked(self, name: str) -> bool:
        return name.lower() in self.names

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=2)


@contextmanager
def responders(hub_ip: str, site_ip: str) -> Iterator[tuple[Responder, Responder]]:
    hub = Responder(hub_ip, HUB_ANSWER, ("ilag.internal", *ZONES))
    site = Responder(site_ip, SITE_ANSWER)
    try:
        yield hub, site
    finally:
        hub.close()
        site.close()


def _run(lab: Lab, h: Any, command: str, timeout: float = 60) -> tuple[int, str, str]:
    host = SshHost(h.name, h.slug, h.ip, 22, "root", lab_mod.lab_paths().operator_key)
    client = ssh.connect(host, lab.target.known_hosts(h.slug))
    try:
        return ssh.run(client, command, timeout=timeout)
    finally:
        client.close()


def _must(lab: Lab, h: Any, command: str) -> str:
    rc, out, err = _run(lab, h, command)
    assert rc == 0, f"{h.name}: {command!r} exited {rc}: {err[-400:]}"
    return out


@contextmanager
def host_vars(h: Any, extra: dict[str, Any]) -> Iterator[None]:
    """Extra variables for one lab host in the lab's overlay inventory, removed afterwards."""
    path = lab_dir() / "inventory" / f"{h.slug}.yml"
    original = path.read_text(encoding="utf-8")
    yaml = YAML()
    data: Any = yaml.load(original)
    data["all"]["children"][h.slug]["hosts"][h.name].update(extra)
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    try:
        yield
    finally:
        path.write_text(original, encoding="utf-8")


def _apply_network(lab: Lab, h: Any) -> None:
    outcome = lab.apply([h.slug], playbook="network", limit=h.name)
    assert outcome.ok, outcome.problem_hosts


def _sections(text: str) -> dict[str, list[str]]:
    """resolvectl's per-scope listing ("Global: a b", "Link 2 (host0): c", wrapped lines
    continued) as scope → words."""
    out: dict[str, list[str]] = {}
    scope = ""
    for line in text.splitlines():
        if line.startswith("Global:"):
            scope, line = "Global", line[len("Global:") :]
        elif line.startswith("Link "):
            head, _, line = line.partition(":")
            scope = head[head.find("(") + 1 : head.rfind(")")]
        out.setdefault(scope, []).extend(line.split())
    return out


def _names(tag: str) -> dict[str, str]:
    """One fresh name per zone (no cache can answer), plus internal and other names."""
    names = {zone: f"st{tag}.{zone}" for zone in ZONES}
    names["internal"] = f"srv{tag}.ilag.internal"
    names["other"] = f"intranet{tag}.andoy.kommune.no"
    return names


@pytest.fixture(scope="module")
def dns_host(lab: Lab) -> Any:
    return lab.hosts("andoy")[0]


def test_resolvconf_mode_sends_the_zones_to_the_hub_resolver(lab: Lab, dns_host: Any) -> None:
    h = dns_host
    hub_ip = str(lab.state.service_ip)  # type: ignore[attr-defined]
    site_ip = lab.state.bridge(h.slug).gateway  # type: ignore[attr-defined]
    assert lab.outputs["network"]["resolver_inbound_ip"] == hub_ip  # type: ignore[index]
    extra = {
        "network__resolver_mode": "resolvconf",
        "network__resolvconf_extra_nameservers": [site_ip],
    }
    with host_vars(h, extra):
        _apply_network(lab, h)
    conf = _must(lab, h, "cat /etc/resolv.conf")
    servers = [line.split()[1] for line in conf.splitlines() if line.startswith("nameserver")]
    assert servers[0] == hub_ip, conf
    names = _names(uuid.uuid4().hex[:8])
    other = names.pop("other")
    with responders(hub_ip, site_ip) as (hub, site):
        for key, name in names.items():
            out = _must(lab, h, f"getent ahostsv4 {name} | head -1")
            assert out.split()[0] == HUB_ANSWER, (key, name, out)
            assert hub.asked(name) and not site.asked(name), (key, name, hub.names, site.names)
        # glibc has no per-domain routing: every name goes to the first server, the hub's.
        _run(lab, h, f"getent ahostsv4 {other}")
        assert hub.asked(other), hub.names


def test_resolved_mode_routes_the_zones_to_the_hub_and_the_rest_to_the_site(
    lab: Lab, dns_host: Any
) -> None:
    h = dns_host
    hub_ip = str(lab.state.service_ip)  # type: ignore[attr-defined]
    site_ip = lab.state.bridge(h.slug).gateway  # type: ignore[attr-defined]
    # The site's own server on the link, as DHCP or the site's network config would give it.
    dropin = "/etc/systemd/network/10-ilag-lab.network.d/site-dns.conf"
    _must(
        lab,
        h,
        # Explicit modes: the baseline's umask 027 would leave the file unreadable to
        # systemd-networkd, which runs as its own user.
        f"install -d -m 0755 {Path(dropin).parent} && printf '[Network]\\nDNS={site_ip}\\n' "
        f"| install -m 0644 /dev/stdin {dropin} "
        "&& networkctl reload && networkctl reconfigure host0",
    )
    with host_vars(h, {"network__resolver_mode": "resolved"}):
        _apply_network(lab, h)
    # networkd hands the link's server to resolved once both run; on a loaded machine that
    # can take a while after the role restarted resolved, so wait for it (up to 30 s), asking
    # networkd again now and then, rather than reading once after a fixed pause.
    deadline = time.monotonic() + 30
    tries = 0
    while True:
        if tries % 10 == 0:
            _must(lab, h, "networkctl reconfigure host0")
        tries += 1
        # Live state of systemd-resolved (over D-Bus), not the file the role wrote.
        dns = _sections(_must(lab, h, "resolvectl dns"))
        if dns.get("host0") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    domains = _sections(_must(lab, h, "resolvectl domain"))
    for zone in ("ilag.internal", *ZONES):
        assert f"~{zone}" in domains["Global"], (zone, domains)
        assert f"~{zone}" not in domains.get("host0", []), (zone, domains)
    assert dns["Global"] == [hub_ip], dns
    assert dns["host0"] == [site_ip], dns
    names = _names(uuid.uuid4().hex[:8])
    with responders(hub_ip, site_ip) as (hub, site):
        deadline = time.monotonic() + 20
        for key, name in names.items():
            while True:
                rc, out, err = _run(lab, h, f"resolvectl query --cache=no -t A {name}")
                if rc == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)  # resolved may still be probing the new servers
            assert rc == 0, (key, name, err)
            want = SITE_ANSWER if key == "other" else HUB_ANSWER
            assert want in out, (key, name, out)
        for key, name in names.items():
            if key == "other":
                assert site.asked(name), (name, site.names)
            else:
                assert hub.asked(name), (key, name, hub.names)
                assert not site.asked(name), (key, name, site.names)
