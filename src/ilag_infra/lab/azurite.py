"""Azurite, the Azure Blob emulator, on the lab service address; containers and SAS URLs."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.storage.blob import generate_container_sas

from ilag_infra.lab.errors import LabError
from ilag_infra.lab.hosts import spawn_detached
from ilag_infra.lab.proc import all_pids, cmdline, pid_alive
from ilag_infra.lab.sas import DEV_KEY, AccountKey, account_sas, container_sas, sas_time

BLOB_PORT = 10000
# restic writes, reads, lists and deletes its own lock files, so `d` is needed (see DESIGN.md).
SITE_PERMISSIONS = "racwdl"
SAS_LIFETIME = timedelta(days=30)
# The operator's credential for the central prune: the whole account (every container), read,
# write, delete, list. It stays on the controller (outputs.json, lab block); hosts never get it.
OPERATOR_PERMISSIONS = "rwdlac"
OPERATOR_SAS_LIFETIME = timedelta(days=2)
# A node's records container: write its records, hold its lease; never delete.
RECORDS_PERMISSIONS = "racwl"
START_TIMEOUT = 30.0


# Straight to the lab address: an http_proxy in the environment must never see lab traffic
# (or the account key signed requests).
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def azurite_binary(repo_root: Path) -> Path:
    binary = repo_root / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise LabError(f"{binary} is missing; run `make setup` in {repo_root} (installs Azurite)")
    return binary


def blob_endpoint(service_ip: str, account: str = DEV_KEY.account, port: int = BLOB_PORT) -> str:
    # Azurite takes the account from the path when addressed by IP (path-style URLs).
    return f"http://{service_ip}:{port}/{account}"


def start(
    repo_root: Path, service_ip: str, location: Path, log: Path, port: int = BLOB_PORT
) -> int:
    """Start azurite-blob bound to the lab service address only; return its pid once it listens.

    `port` other than the lab's lets a test run a private Azurite on loopback."""
    location.mkdir(parents=True, exist_ok=True, mode=0o700)
    argv = [
        str(azurite_binary(repo_root)),
        "--skipApiVersionCheck",
        "--blobHost",
        service_ip,
        "--blobPort",
        str(port),
        "--location",
        str(location),
        "--silent",
        # Otherwise Azurite reaches out to a telemetry service: the lab talks to nothing outside.
        "--disableTelemetry",
    ]
    pid = spawn_detached(argv, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise LabError(f"Azurite exited at start; see {log}")
        try:
            socket.create_connection((service_ip, port), timeout=0.5).close()
            return pid
        except OSError:
            time.sleep(0.2)
    raise LabError(f"Azurite did not listen on {service_ip}:{port} in {START_TIMEOUT} s; see {log}")


def pids_for(location: Path) -> list[int]:
    """Azurite processes using this data location, recorded or not."""
    found = []
    for pid in all_pids():
        argv = cmdline(pid)
        if "--location" in argv and any("azurite" in a for a in argv[:2]):
            i = argv.index("--location")
            if i + 1 < len(argv) and Path(argv[i + 1]) == location and pid_alive(pid):
                found.append(pid)
    return found


def stop(location: Path, timeout: float = 10.0) -> None:
    pids = pids_for(location)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            if not any(pid_alive(p) for p in pids):
                return
            time.sleep(0.1)


def create_container(endpoint: str, container: str, key: AccountKey = DEV_KEY) -> None:
    """Create a container (idempotent), authorised by a short-lived account SAS."""
    expiry = sas_time(datetime.now(UTC) + timedelta(minutes=10))
    token = account_sas(key, "c", "b", "c", expiry)
    request = urllib.request.Request(
        f"{endpoint}/{container}?restype=container&{token}",
        method="PUT",
        headers={"x-ms-version": "2020-12-06", "Content-Length": "0"},
    )
    try:
        with DIRECT.open(request, timeout=10):
            return
    except urllib.error.HTTPError as exc:
        if exc.code == 409:  # ContainerAlreadyExists
            return
        raise LabError(
            f"creating blob container {container}: HTTP {exc.code} {exc.reason}"
        ) from None
    except OSError as exc:
        raise LabError(f"creating blob container {container}: {exc}") from None


def container_sas_url(
    endpoint: str, container: str, now: datetime | None = None, key: AccountKey = DEV_KEY
) -> str:
    """A SAS URL scoped to one container, with the site permissions and a 30-day expiry."""
    expiry = sas_time((now or datetime.now(UTC)) + SAS_LIFETIME)
    return f"{endpoint}/{container}?{container_sas(key, container, SITE_PERMISSIONS, expiry)}"


def records_sas_url(endpoint: str, container: str, now: datetime | None = None) -> str:
    """A node's SAS URL for its own records container (records and lease, no delete)."""
    expiry = sas_time((now or datetime.now(UTC)) + SAS_LIFETIME)
    return (
        f"{endpoint}/{container}?{container_sas(DEV_KEY, container, RECORDS_PERMISSIONS, expiry)}"
    )


def new_policy_id(now: datetime | None = None) -> str:
    """A fresh stored-access-policy id (at most 64 characters): time plus a random tail, so a
    revocation never reuses the id it replaces."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"site-{moment}-{secrets.token_hex(3)}"


def set_site_policy(
    endpoint: str,
    container: str,
    policy_id: str,
    now: datetime | None = None,
    key: AccountKey = DEV_KEY,
) -> None:
    """Make `policy_id` the container's only stored access policy (site permissions, 30 days).

    Set Container ACL replaces the whole list: every SAS bound to an earlier id stops working
    at once ("Stored access policies give you the option to revoke permissions for a service
    SAS without having to regenerate the storage account keys",
    https://learn.microsoft.com/rest/api/storageservices/define-stored-access-policy).
    """
    from azure.core.exceptions import AzureError
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import AccessPolicy, ContainerClient, ContainerSasPermissions
    from requests import Session

    session = Session()
    session.trust_env = False  # never through an http_proxy from the environment
    start = now or datetime.now(UTC)
    client = ContainerClient(
        account_url=endpoint.rsplit("/", 1)[0] + f"/{key.account}",
        container_name=container,
        credential={"account_name": key.account, "account_key": key.key_b64},
        transport=RequestsTransport(session=session, session_owner=False),
    )
    policy = AccessPolicy(
        permission=ContainerSasPermissions.from_string(SITE_PERMISSIONS),
        expiry=start + SAS_LIFETIME,
        start=start - timedelta(minutes=5),
    )
    try:
        client.set_container_access_policy(signed_identifiers={policy_id: policy})
    except AzureError as exc:
        raise LabError(f"setting the access policy of {container}: {exc}") from None
    finally:
        session.close()


def policy_sas_url(endpoint: str, container: str, policy_id: str, key: AccountKey = DEV_KEY) -> str:
    """A container SAS bound to a stored access policy: permissions and expiry come from the
    policy, so replacing the policy revokes it."""
    token = generate_container_sas(
        key.account, container, account_key=key.key_b64, policy_id=policy_id
    )
    return f"{endpoint}/{container}?{token}"


def operator_sas_url(endpoint: str, now: datetime | None = None, key: AccountKey = DEV_KEY) -> str:
    """An account SAS URL for the operator's prune: every container, including delete."""
    expiry = sas_time((now or datetime.now(UTC)) + OPERATOR_SAS_LIFETIME)
    return f"{endpoint}?{account_sas(key, OPERATOR_PERMISSIONS, 'b', 'sco', expiry)}"
