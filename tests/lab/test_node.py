"""A municipality's node on real booted hosts: installed offline, its timers, its certificate's
reach, drift found by its timer and shared with the region, one alert per problem, and its
checks with the link to the store cut.

Bø's node is bo-util01 (inventory group ilag_nodes). The region's store is the lab's Azurite:
the node holds a SAS for records-bo only; the operator here reads with the account SAS. The
alert receiver listens on the lab's service address, on the lab's own bridge network.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from ilag_infra import lab as lab_mod
from ilag_infra.lab import receiver
from ilag_infra.onsite import recordstore, streamed

from .conftest import Lab
from .test_hardening import on_host

pytestmark = pytest.mark.lab

SLUG = "bo"
TIMERS = ("ilag-drift", "ilag-backup-status", "ilag-restore-verify", "ilag-audit", "ilag-stale")
# A file the baseline role writes on every host.
DRIFTED = "/etc/systemd/journald.conf.d/ilag.conf"
TOKEN = "T0ken-of-the-lab-webhook"


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def _host(lab: Lab, name: str) -> object:
    return next(h for h in lab.hosts() if h.name == name)  # type: ignore[attr-defined]


def _node(lab: Lab) -> object:
    return _host(lab, f"{SLUG}-util01")


def _operator_url(lab: Lab) -> str:
    return str(lab.outputs["lab"]["operator_sas_url"])  # type: ignore[index]


def _store(lab: Lab, kind: str) -> list[recordstore.Stored]:
    found = recordstore.list_records(_operator_url(lab), "lab", [SLUG], kind)
    return sorted(found, key=lambda s: s.name)


@pytest.fixture(scope="module")
def alerts_in(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The receiver on the lab's service address; its arrivals go to the returned file."""
    service_ip = str(lab.outputs["network"]["resolver_inbound_ip"])  # type: ignore[index]
    out = tmp_path_factory.mktemp("alerts") / "received.jsonl"
    http_port, smtp_port = _free_port(service_ip), _free_port(service_ip)
    proc = receiver.start(service_ip, out, http_port, smtp_port)
    # Bø's node gets the lab's alert settings next to the lab's overlay (as an operator
    # would put them in group_vars through ansible-vault).
    group_vars = lab.target.inventory_sources(SLUG)[-1].parent / "group_vars" / f"{SLUG}.yml"
    group_vars.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        "ILAG_ALERT_WEBHOOK_URL": f"http://{service_ip}:{http_port}/hooks/{TOKEN}",
        "ILAG_ALERT_ALLOW_HTTP": "1",
        "ILAG_ALERT_SMTP": f"{service_ip}:{smtp_port}",
        "ILAG_ALERT_SMTP_FROM": "ilag@bo.lab",
        "ILAG_ALERT_SMTP_TO": "drift@bo.lab",
        "ILAG_ALERT_SMTP_STARTTLS": "no",
    }
    group_vars.write_text("---\nilag_node__alert_env: " + json.dumps(settings) + "\n")
    try:
        yield out
    finally:
        group_vars.unlink(missing_ok=True)
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def node(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    alerts_in: Path,
) -> Iterator[object]:
    """A node in every municipality, set up with `ilag apply --all --playbook node` (the
    lease in the lab's store); Bø's is the one the tests below use."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(recordstore.STORE_ENV, _operator_url(lab))
        first = lab.apply(None, playbook="node")
        assert first.ok, (first.problem_hosts, [r.messages for r in first.results])
        assert {r.slug for r in first.results} == set(lab.loaded.model.slugs)
        again = lab.apply([SLUG], playbook="node")
        assert again.ok
        changed = {h: r.changed for r in again.results for h, r in r.hosts.items()}
        assert changed == {f"{SLUG}-util01": 0}, "a second node apply must change nothing"
    yield _node(lab)
    # Leave the lab as the other lab tests expect it: Bø converged without hand-made drift,
    # and no node timer that could start a check in the middle of another test.
    timers = " ".join(f"{t}.timer" for t in TIMERS)
    for slug in lab.loaded.model.slugs:
        on_host(lab, _node_of(lab, slug), f"systemctl disable --now {timers}")
    assert lab.apply([SLUG]).ok


def _node_of(lab: Lab, slug: str) -> object:
    return _host(lab, streamed.node_host(lab.target, slug).name)


def _start(lab: Lab, node: object, unit: str) -> None:
    on_host(lab, node, f"systemctl start {unit}.service")


def test_the_node_runs_its_checks_on_timers_from_an_offline_install(lab: Lab, node: object) -> None:
    for slug in lab.loaded.model.slugs:
        each = _node_of(lab, slug)
        timers = on_host(lab, each, "systemctl list-timers --all --no-pager 'ilag-*'")
        for name in TIMERS:
            assert f"{name}.timer" in timers, (slug, timers)
        # Each node holds its own municipality's certificate principal only.
        cert = on_host(lab, each, "ssh-keygen -L -f /etc/ilag/ssh/id_ed25519-cert.pub")
        assert f"{slug}-node" in cert, cert
        assert not [o for o in lab.loaded.model.slugs if o != slug and f"{o}-node" in cert]
    # Offline: ilag runs from the virtualenv the wheelhouse filled, at the controller's commit.
    revision = on_host(lab, node, "cat /opt/ilag/current/REVISION").strip()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert revision == head
    assert "Usage: ilag" in on_host(lab, node, "ilag --help")
    env = on_host(lab, node, "stat -c '%a %U' /etc/ilag/node.env").split()
    assert env == ["600", "root"]


def _connect(host: object, key: Path) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab_mod.lab_paths().known_hosts / host.slug))  # type: ignore[attr-defined]
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        host.ip,  # type: ignore[attr-defined]
        username="root",
        key_filename=str(key),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


def test_the_nodes_certificate_opens_its_own_municipality_only(
    lab: Lab, node: object, tmp_path: Path
) -> None:
    root = Path(node.root) / "etc/ilag/ssh"  # type: ignore[attr-defined]
    key = tmp_path / "id_ed25519"
    key.write_bytes((root / "id_ed25519").read_bytes())
    key.chmod(0o600)
    (tmp_path / "id_ed25519-cert.pub").write_bytes((root / "id_ed25519-cert.pub").read_bytes())
    listing = subprocess.run(
        ["ssh-keygen", "-L", "-f", str(tmp_path / "id_ed25519-cert.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "bo-node" in listing and "sortland-node" not in listing
    own = _connect(_host(lab, "bo-fil01"), key)
    own.close()
    # Sortland's servers accept sortland-node only: the same key and certificate are refused.
    with pytest.raises(paramiko.AuthenticationException):
        _connect(lab.hosts("sortland")[0], key)


def test_preflight_reads_the_nodes_certificate_on_the_node_and_warns_before_it_runs_out(
    lab: Lab, node: object
) -> None:
    from datetime import UTC, datetime, timedelta

    from ilag_infra.onsite import hostlist, node_cert, ssh

    host = next(h for h in hostlist.resolve(lab.target, "bo") if node_cert.is_node(h))
    client = ssh.connect(host, lab.target.known_hosts("bo"))
    try:
        now = datetime.now(UTC)
        # Just signed for 13 weeks: nothing due with the default 60-day window ...
        assert node_cert.check(client, host, 60, now) is None
        # ... due within a 120-day window, and run out 100 days from now.
        due = node_cert.check(client, host, 120, now)
        assert due is not None and due.key == "bo-node" and "--playbook node" in due.fix
        late = node_cert.check(client, host, 60, now + timedelta(days=100))
        assert late is not None and "ran out" in late.message, late
    finally:
        client.close()


def _drift_alerts(out: Path) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    """Webhook posts and mails about drift (the hourly stale check may add others)."""
    arrived = receiver.received(out)
    hooks = [a for a in arrived if a["channel"] == "webhook" and "drift" in a["body"]["text"]]
    mails = [a for a in arrived if a["channel"] == "smtp" and "drift" in a["subject"]]
    return hooks, mails


def test_drift_made_by_hand_reaches_the_region_and_one_alert(
    lab: Lab, node: object, alerts_in: Path
) -> None:
    before = {s.name for s in _store(lab, "drift")}
    fil = _host(lab, "bo-fil01")
    on_host(lab, fil, f"echo '# edited by hand' >> {DRIFTED}")
    _start(lab, node, "ilag-drift")
    new = [s for s in _store(lab, "drift") if s.name not in before]
    assert len(new) == 1 and new[0].record is not None, new
    drift = new[0].record.model_dump()
    assert drift["ok"] is False and drift["who"].endswith("@bo-util01")
    items = {h["host"]: h["items"] for h in drift["hosts"]}
    assert any(DRIFTED in i for i in items["bo-fil01"]), items
    assert items["bo-util01"] == []
    hooks, mails = _drift_alerts(alerts_in)
    assert len(hooks) == 1 and len(mails) == 1, receiver.received(alerts_in)
    assert "bo-fil01" in hooks[0]["body"]["text"] and DRIFTED in hooks[0]["body"]["text"]
    assert "bo-fil01" in mails[0]["subject"] and mails[0]["to"] == ["drift@bo.lab"]
    # The same drift on the next run: a record, but no second alert.
    _start(lab, node, "ilag-drift")
    assert [len(x) for x in _drift_alerts(alerts_in)] == [1, 1]
    # The alert's record went to the store too; the webhook's token went nowhere.
    alerts = _store(lab, "alert")
    assert alerts and all(s.record is not None for s in alerts)
    assert all(TOKEN not in json.dumps(s.record.model_dump(mode="json")) for s in alerts)  # type: ignore[union-attr]
    journal = on_host(lab, node, "journalctl -u ilag-drift.service --no-pager")
    assert TOKEN not in journal


def test_with_the_store_cut_off_the_checks_run_and_upload_later(lab: Lab, node: object) -> None:
    service_ip = str(lab.outputs["network"]["resolver_inbound_ip"])  # type: ignore[index]
    cut = (
        "nft add table inet ilag_wan_test && nft add chain inet ilag_wan_test out "
        "'{ type filter hook output priority 0; }' && nft add rule inet ilag_wan_test out "
        f"ip daddr {service_ip} tcp dport 10000 reject with tcp reset"
    )
    before = {s.name for s in _store(lab, "drift")}
    on_host(lab, node, cut)
    try:
        _start(lab, node, "ilag-drift")
        waiting = on_host(lab, node, "ls /var/lib/ilag-node/runs/outbox").split()
        assert any("-drift-bo" in w for w in waiting), waiting
        assert {s.name for s in _store(lab, "drift")} == before  # not in the store yet
        journal = on_host(lab, node, "journalctl -u ilag-drift.service --no-pager -n 40")
        assert "cannot be reached" in journal
    finally:
        on_host(lab, node, "nft delete table inet ilag_wan_test")
    # The link is back: the next check uploads what waited, and nothing is lost.
    _start(lab, node, "ilag-drift")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not on_host(lab, node, "ls /var/lib/ilag-node/runs/outbox").split():
            break
        time.sleep(1)
    stored = {s.name for s in _store(lab, "drift")}
    assert all(f"lab/bo/drift/{w}" in stored for w in waiting if "-drift-bo" in w)


def _clone(tmp_path: Path, name: str) -> Path:
    repo = Path(__file__).resolve().parents[2]
    dest = tmp_path / name
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True, timeout=120)
    return dest


def test_two_clones_applying_one_municipality_one_proceeds_the_other_names_it(
    lab: Lab,
    converged: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    """Two checkouts (two operators' machines) apply Bø at the same time through the region's
    store: the lease lets one run and the other refuses at once, naming the holder."""
    import os
    import sys

    env = {**os.environ, recordstore.STORE_ENV: _operator_url(lab)}
    env.pop("ILAG_ROOT", None)
    argv = [sys.executable, "-m", "ilag_infra.cli.app", "apply", SLUG, "--playbook", "baseline"]
    a, b = _clone(tmp_path, "kari"), _clone(tmp_path, "ola")
    first = subprocess.Popen(
        argv, cwd=a, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while lease_holder(lab) is None:
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline, "the first apply never took the lease"
            time.sleep(0.5)
        second = subprocess.run(
            argv, cwd=b, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert second.returncode == 1, second.stdout + second.stderr
        said = " ".join((second.stdout + second.stderr).split())
        assert "already being applied by" in said and f"ilag apply {SLUG}" in said, said
        assert socket.gethostname() in said
    finally:
        out = first.communicate(timeout=600)[0]
    assert first.returncode == 0, out[-2000:]
    assert lease_holder(lab) is None  # let go at the end


def lease_holder(lab: Lab) -> object:
    from ilag_infra.onsite import lease

    return lease.holder(_operator_url(lab), "lab", SLUG)


def test_the_controller_hands_a_check_to_the_node_over_the_runner_stream(
    lab: Lab, node: object
) -> None:
    """`ilag apply bo --check --via-node`: transmit here, `ansible-runner worker` on the node
    (which reaches Bø's servers with its own certificate), process the events here."""
    on_host(lab, _host(lab, "bo-fil01"), f"echo '# edited again' >> {DRIFTED}")
    tmp_before = set(on_host(lab, node, "ls -A /tmp").split())
    outcome = lab.apply([SLUG], check=True, via_node=True)
    assert outcome.ok, [r.messages for r in outcome.results]
    result = outcome.results[0]
    assert set(result.hosts) == {"bo-fil01", "bo-util01"}
    assert any(DRIFTED in item for item in result.changes.get("bo-fil01", [])), result.changes
    assert result.hosts["bo-util01"].changed == 0
    # The worker left nothing behind on the node (--delete), and no secret of the run is in
    # what came back and was kept here (the node read its own run-secrets.json).
    assert set(on_host(lab, node, "ls -A /tmp").split()) <= tmp_before
    kept = [p for p in lab.runs_dir.rglob("*") if p.is_file()]
    assert kept
    for path in kept:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not [v for v in lab.secrets() if v in text], path
