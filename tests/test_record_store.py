"""The shared record store and the region-wide apply lock, against a private Azurite on
loopback: records queue while the store is away and upload once when it returns; two
processes (two checkouts) never hold one municipality's lock at once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.lab import azurite
from ilag_infra.lab.sas import DEV_KEY, container_sas, sas_time
from ilag_infra.onsite import lease, lock, recordschema, recordstore
from tests.test_report_data import REPO, envelope

CONTAINER = "records"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Store:
    url: str
    start: Callable[[], None]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A records container on a private Azurite; not started until the test says so."""
    port = _free_port()
    location = tmp_path / "azurite"
    endpoint = azurite.blob_endpoint("127.0.0.1", port=port)
    url = azurite.container_sas_url(endpoint, CONTAINER)
    monkeypatch.setenv(recordstore.STORE_ENV, url)

    def start() -> None:
        azurite.start(REPO, "127.0.0.1", location, tmp_path / "azurite.log", port)
        azurite.create_container(endpoint, CONTAINER)

    try:
        yield Store(url, start)
    finally:
        azurite.stop(location)


def _restore(slug: str, when: datetime) -> dict[str, object]:
    return {**envelope("restore", slug, when, True), "host": f"{slug}-fil01"}


def test_records_queue_while_the_store_is_away_and_upload_once(
    tmp_path: Path, store: Store
) -> None:
    runs = tmp_path / "runs"
    # The store is down (nothing listens yet): the record is kept and queued.
    first = recordstore.save(runs, "r1-restore-bo.json", _restore("bo", datetime.now(UTC)))
    assert first.is_file()
    assert [p.name for p in (runs / "outbox").iterdir()] == ["r1-restore-bo.json"]
    away = recordstore.flush(runs)
    assert (away.uploaded, away.waiting) == (0, 1) and away.error
    sig = store.url.split("sig=")[1].split("&")[0]
    assert sig not in away.error  # the SAS in a connection error is redacted
    store.start()
    done = recordstore.flush(runs)
    assert (done.uploaded, done.waiting, done.error) == (1, 0, None)
    assert list((runs / "outbox").iterdir()) == []
    assert recordstore.flush(runs).uploaded == 0
    # A record written while the store is up goes straight there.
    recordstore.save(runs, "r2-restore-hadsel.json", _restore("hadsel", datetime.now(UTC)))
    # A retry after a lost answer uploads the same record again: the store keeps it once.
    (runs / "outbox").mkdir(exist_ok=True)
    (runs / "outbox" / "r1-restore-bo.json").write_bytes(first.read_bytes())
    assert recordstore.flush(runs).uploaded == 1
    stored = recordstore.list_records(store.url, "lab")
    assert sorted(s.name for s in stored) == [
        "lab/bo/restore/r1-restore-bo.json",
        "lab/hadsel/restore/r2-restore-hadsel.json",
    ]
    assert all(s.record is not None and s.record.kind == "restore" for s in stored)
    only_bo = recordstore.list_records(store.url, "lab", ["bo"], "restore")
    assert [s.name for s in only_bo] == ["lab/bo/restore/r1-restore-bo.json"]


def test_ilag_records_lists_the_store_and_ages_each_result(
    tmp_path: Path,
    store: Store,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.start()
    runs = tmp_path / "runs"
    window = recordschema.FRESHNESS["restore"]
    old = datetime.now(UTC) - 2 * window - timedelta(hours=1)
    recordstore.save(runs, "r1-restore-bo.json", _restore("bo", old))
    recordstore.save(runs, "r2-restore-hadsel.json", _restore("hadsel", datetime.now(UTC)))
    pre_schema = {"kind": "restore", "municipality": "bo", "ok": True}
    with recordstore.container(store.url) as client:
        client.upload_blob("lab/bo/restore/old.json", json.dumps(pre_schema).encode())
    # A record queued while the store was away uploads when `ilag records` runs.
    queued = runs / "outbox" / "r3-restore-andoy.json"
    queued.write_text(json.dumps(_restore("andoy", old)), encoding="utf-8")
    monkeypatch.setenv("ILAG_RUNS_DIR", str(runs))
    code = main(["records", "--kind", "restore", "bo", "hadsel", "--json"])
    assert not queued.exists()
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["store"] == "blob"
    assert [r["municipality"] for r in doc["records"]] == ["bo", "hadsel"]
    states = {(r["municipality"], r["kind"]): r["word"] for r in doc["latest"]}
    assert states == {("bo", "restore"): "Feil", ("hadsel", "restore"): "OK"}
    assert "written before run records had a schema" in doc["not_read"][0]["error"]
    code = main(["records", "oksnes", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert {r["word"] for r in doc["latest"]} == {"Mangler"}  # nothing at all: never OK
    code = main(["records", "andoy", "--kind", "restore", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert [r["word"] for r in doc["latest"]] == ["Feil"]  # the record that was queued
    assert main(["records", "--kind", "nonsense"]) == 2


def test_the_report_shows_every_machines_records_from_the_store(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_record_schema import _restore_badge

    store.start()
    now = datetime.now(UTC)
    recordstore.save(tmp_path / "clone-a" / "runs", "r1-restore-bo.json", _restore("bo", now))
    recordstore.save(
        tmp_path / "clone-b" / "runs", "r2-restore-hadsel.json", _restore("hadsel", now)
    )
    out = tmp_path / "site"
    code = main(["report", "--out", str(out), "--no-plan"])
    text = capsys.readouterr().out
    assert code == 0 and "reading records from the record store" in text
    html = (out / "index.html").read_text(encoding="utf-8")
    assert _restore_badge(html, "bo") == "OK" and _restore_badge(html, "hadsel") == "OK"
    assert _restore_badge(html, "andoy") == "Mangler"


HOLDER = textwrap.dedent(
    """
    import sys
    from ilag_infra.onsite import lease
    lease.LEASE_SECONDS = int(sys.argv[1])
    sys.argv = ["ilag", "apply", "bo"]
    with lease.held(__import__("os").environ["ILAG_RECORDS_URL"], "lab", "bo", "run-A"):
        print("held", flush=True)
        sys.stdin.read()
    print("released", flush=True)
    """
)


def _holder(cwd: Path, seconds: int = lease.LEASE_SECONDS) -> subprocess.Popen[str]:
    """Another checkout's apply holding bo's lock, in its own process and directory."""
    cwd.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(seconds)],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_checkout_refuses_naming_the_holder(tmp_path: Path, store: Store) -> None:
    store.start()
    first = _holder(tmp_path / "clone-a")
    try:
        with pytest.raises(lease.LockedError) as info, lease.held(store.url, "lab", "bo", "B"):
            pytest.fail("two runs held bo's lock at once")
        text = str(info.value)
        assert f"@{socket.gethostname()} running `ilag apply bo` (run run-A) since " in text
        assert "ilag lock break bo --env lab" in text
        # Another municipality, or the same one in another environment, is free.
        with lease.held(store.url, "lab", "hadsel", "B"), lease.held(store.url, "prod", "bo", "B"):
            pass
        # --wait: the second run proceeds once the first lets go.
        assert first.stdin is not None
        first.stdin.close()
        with lease.held(store.url, "lab", "bo", "B", wait=20) as me:
            assert me.run_id == "B"
    finally:
        first.kill()
        first.wait()


def test_a_dead_runs_lock_is_broken_or_expires(tmp_path: Path, store: Store) -> None:
    store.start()
    dead = _holder(tmp_path / "clone-a")
    os.kill(dead.pid, signal.SIGKILL)  # no release: an abandoned lease
    dead.wait()
    with (
        pytest.raises(lease.LockedError, match="run run-A"),
        lease.held(store.url, "lab", "bo", "B"),
    ):
        pass
    assert main(["lock", "show", "bo"]) == 0
    broken = lease.break_lease(store.url, "lab", "bo")
    assert broken is not None and broken.run_id == "run-A"
    assert lease.holder(store.url, "lab", "bo") is None
    with lease.held(store.url, "lab", "bo", "B"):
        pass
    # Left alone, a dead run's lease ends by itself after its finite duration.
    dead = _holder(tmp_path / "clone-a", seconds=15)
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait()
    deadline = time.monotonic() + 20
    with lease.held(store.url, "lab", "bo", "C", wait=20):
        assert time.monotonic() < deadline


def test_without_a_store_the_lock_is_local_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(recordstore.STORE_ENV, raising=False)
    with lock.apply_lock(tmp_path, "lab", "bo", "run-1") as kind:
        assert kind == "local" and (tmp_path / "bo.lock").exists()
    assert "this machine's own file lock" in lock.LOCAL_NOTE


def test_a_store_that_cannot_be_reached_refuses_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = azurite.container_sas_url(azurite.blob_endpoint("127.0.0.1", port=_free_port()), "r")
    monkeypatch.setenv(recordstore.STORE_ENV, url)
    with (
        pytest.raises(lease.LockedError, match="cannot be reached"),
        lock.apply_lock(tmp_path, "lab", "bo", "run-1"),
    ):
        pytest.fail("applied without the region's lock")
    # A check changes nothing: with the link down it runs under this machine's own lock,
    # and a second check on the same machine still waits for it.
    with lock.apply_lock(tmp_path, "lab", "bo", "check-1", offline_ok=True) as kind:
        assert kind == "offline"
        with (
            pytest.raises(lease.LockedError, match="already being applied"),
            lock.apply_lock(tmp_path, "lab", "bo", "check-2", offline_ok=True),
        ):
            pytest.fail("two checks held bo's local lock at once")


def test_each_municipality_has_its_own_records_container(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node's SAS names its own records container: its records and lease go there, it
    cannot reach a neighbour's, and a record it files for a neighbour is not believed. The
    operator's account SAS routes every record to its municipality's container."""
    store.start()
    endpoint = store.url.split("/records?")[0]
    for slug in ("bo", "sortland"):
        azurite.create_container(endpoint, f"records-{slug}")
    expiry = sas_time(datetime.now(UTC) + timedelta(days=1))
    node_bo = f"{endpoint}/records-bo?{container_sas(DEV_KEY, 'records-bo', 'racwl', expiry)}"
    operator = azurite.operator_sas_url(endpoint)
    assert recordstore.container_url(operator, "bo").split("?")[0] == f"{endpoint}/records-bo"
    with pytest.raises(recordstore.StoreError, match="not sortland's"):
        recordstore.container_url(node_bo, "sortland")  # never another's

    monkeypatch.setenv(recordstore.STORE_ENV, operator)
    runs = tmp_path / "runs"
    recordstore.save(runs, "r1-restore-sortland.json", _restore("sortland", datetime.now(UTC)))
    monkeypatch.setenv(recordstore.STORE_ENV, node_bo)
    recordstore.save(runs, "r2-restore-bo.json", _restore("bo", datetime.now(UTC)))
    # ilag on bo's node does not send a record in sortland's name: it is set aside, kept.
    recordstore.save(runs, "r3-restore-sortland.json", _restore("sortland", datetime.now(UTC)))
    assert (runs / "outbox" / "other-municipality" / "r3-restore-sortland.json").is_file()
    # A compromised bo node writes one there itself: it can only land in records-bo.
    forged = json.dumps(_restore("sortland", datetime.now(UTC))).encode()
    with recordstore.container(node_bo) as client:
        client.upload_blob("lab/sortland/restore/r3-restore-sortland.json", forged)

    by_operator = {s.name: s for s in recordstore.list_records(operator, "lab")}
    assert by_operator["lab/bo/restore/r2-restore-bo.json"].record is not None
    assert by_operator["lab/sortland/restore/r1-restore-sortland.json"].record is not None
    forged = by_operator["lab/sortland/restore/r3-restore-sortland.json"]
    assert forged.record is None and "records-bo" in (forged.error or "")
    # The node lists its own container only, and a neighbour's container refuses its SAS.
    mine = recordstore.list_records(node_bo, "lab", ["bo"])
    assert [s.name for s in mine] == ["lab/bo/restore/r2-restore-bo.json"]
    stolen = node_bo.replace("/records-bo?", "/records-sortland?")
    with pytest.raises(recordstore.StoreError):
        recordstore.list_records(stolen, "lab")
    # Bø's SAS cannot take Sortland's lease either: refused before any request.
    with (
        pytest.raises(lease.LockedError, match="records-bo, which holds bo's"),
        lease.held(node_bo, "lab", "sortland", "x"),
    ):
        pytest.fail("a node took a neighbour's lease")
    # An unreadable file in the outbox is set aside and blocks nothing behind it.
    (runs / "outbox" / "0-broken.json").write_text("{not json")
    (runs / "outbox" / "r4-restore-bo.json").write_bytes((runs / "r2-restore-bo.json").read_bytes())
    done = recordstore.flush(runs, node_bo)
    assert (done.uploaded, done.error) == (1, None)
    assert (runs / "outbox" / "unreadable" / "0-broken.json").is_file()
    # A municipality without a records container yet lists as empty, not as an error.
    assert recordstore.list_records(operator, "lab", ["andoy"]) == []
    # The lease lives in the municipality's container: the operator sees the node's lease.
    with lease.held(node_bo, "lab", "bo", "node-run"):
        held = lease.holder(operator, "lab", "bo")
        assert held is not None and held.run_id == "node-run"
        with (
            pytest.raises(lease.LockedError, match="already being applied"),
            lease.held(operator, "lab", "bo", "operator-run"),
        ):
            pytest.fail("the operator and the node held bo's lock at once")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("records", "is not a URL"),
        ("https://st.blob.core.windows.net/records-bo", "carries no SAS signature"),
        ("https://st.blob.core.windows.net/records-bo/x.json?sr=b&sig=abc", "neither a container"),
    ],
)
def test_a_bad_records_url_is_bad_input_naming_the_variable(
    value: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(recordstore.STORE_ENV, value)
    assert main(["records", "bo"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert recordstore.STORE_ENV in err and said in err
