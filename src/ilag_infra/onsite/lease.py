"""The region-wide apply lock: a blob lease per environment and municipality in the record
store, so two checkouts on two machines never converge the same municipality at once.

The lease is finite (LEASE_SECONDS) and renewed while the run lasts, so a holder that dies
lets go by itself; `ilag lock break` ends a stale one at once. The holder names itself in the
blob's metadata (host, user, command, since, run), which anyone may read.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from ilag_infra.model.errors import IlagError
from ilag_infra.model.secrets import redact_text
from ilag_infra.onsite import recordstore

# Azure allows 15 to 60 seconds or infinite; finite, so an abandoned lease expires.
LEASE_SECONDS = 60
RENEW_SECONDS = 15
POLL_SECONDS = 2.0
_FIELDS = ("host", "user", "command", "since", "run_id")


class LockedError(IlagError):
    """Another apply holds the municipality's lock."""


class StoreUnreachable(LockedError):
    """The store that holds the lease cannot be reached (the link to the region is down)."""


@dataclass(frozen=True)
class Holder:
    host: str
    user: str
    command: str
    since: str
    run_id: str

    def __str__(self) -> str:
        if not self.host:
            return "a run that took the lease a moment ago and has not named itself yet"
        return (
            f"{self.user}@{self.host} running `{self.command}` (run {self.run_id}) "
            f"since {self.since}"
        )

    def metadata(self) -> dict[str, str]:
        # Metadata travels as HTTP headers: ASCII only, so æøå in a command are %-encoded.
        return {k: quote(getattr(self, k), safe=" @:/.,=-_`") for k in _FIELDS}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> Holder:
        return cls(**{k: unquote(meta.get(k, "")) for k in _FIELDS})


def me(run_id: str) -> Holder:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    command = " ".join(["ilag", *sys.argv[1:]]) if sys.argv else "ilag"
    return Holder(
        socket.gethostname(),
        user,
        redact_text(command)[:200],
        datetime.now(UTC).isoformat(timespec="seconds"),
        run_id,
    )


def blob_name(env: str, slug: str) -> str:
    return f"locks/{env}/{slug}"


def _holder(blob: Any) -> Holder:
    from azure.core.exceptions import AzureError

    try:
        return Holder.from_metadata(dict(blob.get_blob_properties().metadata or {}))
    except AzureError:
        return Holder("", "", "", "", "")


def _container_url(url: str, slug: str) -> str:
    """The municipality's records container; a SAS for another's is refused (exit 1)."""
    try:
        return recordstore.container_url(url, slug)
    except recordstore.StoreError as exc:
        raise LockedError(str(exc)) from None


def _store_error(exc: Exception, slug: str) -> LockedError:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(exc, ClientAuthenticationError) or (
        isinstance(exc, HttpResponseError) and exc.status_code in (401, 403)
    ):
        # The store answered and said no: not a link that is down, so no check falls back.
        return LockedError(
            f"the record store ({recordstore.STORE_ENV}) refused the SAS for {slug}'s apply "
            f"lock: {recordstore.short(exc)}. It has expired or been revoked, or lacks "
            "racwl: hand out a new one (`ilag apply KOMMUNE --playbook node` for a node)."
        )
    return StoreUnreachable(
        f"the apply lock for {slug} is a lease in the record store ({recordstore.STORE_ENV}), "
        f"which cannot be reached: {recordstore.short(exc)}. Check the link to the region; to "
        f"apply with this machine's own lock instead (nothing stops another machine), run "
        f"with {recordstore.STORE_ENV}= (empty)."
    )


def _acquire(blob: Any, env: str, slug: str, wait: float) -> Any:
    from azure.core.exceptions import HttpResponseError, ResourceExistsError

    try:
        blob.upload_blob(b"", overwrite=False)
    except ResourceExistsError:
        pass  # the lock blob outlives its leases; only its lease says who holds it
    except HttpResponseError as exc:
        if exc.status_code != 412:  # a lease on it already: it exists
            raise
    deadline = time.monotonic() + wait
    while True:
        try:
            return blob.acquire_lease(lease_duration=LEASE_SECONDS)
        except HttpResponseError as exc:
            if exc.status_code != 409:
                raise
        if time.monotonic() >= deadline:
            raise LockedError(
                f"{slug} ({env}) is already being applied by {_holder(blob)}; runs on one "
                f"municipality must not interleave. Wait for it (--wait SECONDS), or, if that "
                f"run is dead, `ilag lock break {slug} --env {env}` (a dead run's lock also "
                f"expires by itself within {LEASE_SECONDS} s)."
            ) from None
        time.sleep(POLL_SECONDS)


@contextmanager
def held(url: str, env: str, slug: str, run_id: str, wait: float = 0.0) -> Iterator[Holder]:
    """Hold the municipality's lease while the block runs; refuse naming the holder."""
    from azure.core.exceptions import AzureError

    holder = me(run_id)
    stop = threading.Event()
    # Building the client touches no network; only the calls below can fail on the link.
    with recordstore.container(_container_url(url, slug)) as client:
        blob = client.get_blob_client(blob_name(env, slug))
        try:
            lease = _acquire(blob, env, slug, wait)
            blob.set_blob_metadata(holder.metadata(), lease=lease)
        except AzureError as exc:
            raise _store_error(exc, slug) from None

        def renew() -> None:
            # A renewal that fails (link down) is retried; if the lease lapses meanwhile,
            # another run may take it, which is the price of not holding it forever.
            while not stop.wait(RENEW_SECONDS):
                try:
                    lease.renew()
                except AzureError:
                    continue

        keeper = threading.Thread(target=renew, name=f"lease-{slug}", daemon=True)
        keeper.start()
        try:
            yield holder
        finally:
            stop.set()
            keeper.join()
            try:
                blob.set_blob_metadata({}, lease=lease)
                lease.release()
            except AzureError:
                pass  # it expires by itself within LEASE_SECONDS


def holder(url: str, env: str, slug: str) -> Holder | None:
    """Who holds the municipality's lease now, or None when nobody does."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        with recordstore.container(_container_url(url, slug)) as client:
            blob = client.get_blob_client(blob_name(env, slug))
            try:
                props = blob.get_blob_properties()
            except ResourceNotFoundError:
                return None
            if props.lease.state != "leased":
                return None
            return Holder.from_metadata(dict(props.metadata or {}))
    except AzureError as exc:
        raise _store_error(exc, slug) from None


def break_lease(url: str, env: str, slug: str) -> Holder | None:
    """End the municipality's lease at once (a run that died); the holder it broke, if any."""
    from azure.core.exceptions import AzureError
    from azure.storage.blob import BlobLeaseClient

    found = holder(url, env, slug)
    if found is None:
        return None
    try:
        with recordstore.container(_container_url(url, slug)) as client:
            blob = client.get_blob_client(blob_name(env, slug))
            BlobLeaseClient(blob).break_lease(lease_break_period=0)
    except AzureError as exc:
        raise _store_error(exc, slug) from None
    return found
