"""The region's shared record store: a blob container, with a local outbox when it is away.

Every record is written to the local runs/ first, and a copy waits in runs/outbox/ until the
store has it. Uploads never overwrite: a record is uploaded once, and a copy the store already
holds counts as uploaded, so a retry after a lost answer loses nothing and doubles nothing.

The store is the SAS URL in ILAG_RECORDS_URL. Each municipality has a records container of
its own (records-<slug>): a node holds a SAS for its own container only, so it can neither
read nor write another municipality's records or lease. The region's operators hold an
account SAS, and records are routed to the container of their municipality. Without a URL,
records stay in runs/ only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.model.secrets import redact_text
from ilag_infra.model.stack_outputs import records_container
from ilag_infra.onsite import recordschema

STORE_ENV = "ILAG_RECORDS_URL"
OUTBOX = "outbox"
# Short: a store that is away must not hold up a run; the record waits in the outbox.
TIMEOUT_S = 10


class StoreError(IlagError):
    """The record store could not be reached or refused a request."""


def store_url() -> str | None:
    """ILAG_RECORDS_URL, checked: a signed https URL (http only to an address such as the
    lab's), or None when it is unset or empty. Anything else is bad input (exit 2)."""
    url = os.environ.get(STORE_ENV, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    wrong = (
        "is not a URL"
        if parts.scheme not in ("https", "http") or not parts.netloc
        else "carries no SAS signature (sig=)"
        if "sig" not in query
        else "is neither a container SAS (sr=c) nor an account SAS (srt=)"
        if "srt" not in query and query.get("sr") != ["c"]
        else ""
    )
    if wrong:
        raise InputError(
            [
                Problem(
                    "environment",
                    STORE_ENV,
                    f"the record store's URL {wrong}",
                    "set it to a records container's SAS URL (backup stack output "
                    "records_sas_urls) or the region's account SAS, or unset it to keep "
                    "records on this machine",
                )
            ]
        )
    return url


def blob_name(record: dict[str, Any], filename: str) -> str:
    """<environment>/<municipality>/<kind>/<file>: one municipality's records list by prefix."""
    env = record.get("environment") or "none"
    return f"{env}/{record['municipality']}/{record['kind']}/{filename}"


def is_account_url(url: str) -> bool:
    """An account SAS (`srt=`) reaches every records container; a container SAS (`sr=c`) one."""
    return "srt" in parse_qs(urlsplit(url).query)


def container_url(url: str, slug: str) -> str:
    """The URL of the municipality's records container: the account URL plus its name, or the
    container URL as given (a node's, which only ever reaches its own)."""
    if not is_account_url(url):
        named = url_slug(url)
        if named is not None and named != slug:
            # A node's SAS is for its own container: it must neither hold nor take a
            # neighbour's lease or records.
            raise StoreError(
                f"{STORE_ENV} names {records_container(named)}, which holds {named}'s records "
                f"and lease only, not {slug}'s; use {records_container(slug)}'s SAS, or the "
                "region's account SAS"
            )
        return url
    parts = urlsplit(url)
    path = f"{parts.path.rstrip('/')}/{records_container(slug)}"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def url_slug(url: str) -> str | None:
    """The municipality whose records container a container URL names, if it names one."""
    if is_account_url(url):
        return None
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    prefix = records_container("")
    return name[len(prefix) :] if name.startswith(prefix) else None


@contextmanager
def _direct() -> Iterator[dict[str, Any]]:
    """Client options that go straight to the store (never through an http_proxy), fail fast."""
    from azure.core.pipeline.transport import RequestsTransport
    from requests import Session

    session = Session()
    session.trust_env = False
    try:
        yield {
            "transport": RequestsTransport(session=session, session_owner=False),
            "retry_total": 0,
            "connection_timeout": TIMEOUT_S,
            "read_timeout": TIMEOUT_S,
        }
    finally:
        session.close()


@contextmanager
def container(url: str) -> Iterator[Any]:
    """A ContainerClient for one container URL, straight to the store."""
    from azure.storage.blob import ContainerClient

    with _direct() as options:
        client = ContainerClient.from_container_url(url, **options)
        try:
            yield client
        finally:
            client.close()


def record_containers(url: str) -> list[str]:
    """The municipalities that have a records container, through an account SAS."""
    from azure.storage.blob import BlobServiceClient

    parts = urlsplit(url)
    account = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    prefix = records_container("")
    with _direct() as options:
        service = BlobServiceClient(account, credential=parts.query, **options)
        try:
            names = [c.name for c in service.list_containers(name_starts_with=prefix)]
        finally:
            service.close()
    return sorted(n[len(prefix) :] for n in names)


def _upload(client: Any, name: str, body: bytes) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import ContentSettings

    try:
        client.upload_blob(
            name,
            body,
            overwrite=False,
            content_settings=ContentSettings(content_type="application/json"),
        )
    except ResourceExistsError:
        return  # uploaded before (the answer was lost): the store has it once


@dataclass(frozen=True)
class Flushed:
    uploaded: int
    waiting: int
    error: str | None = None


def flush(runs: Path, url: str | None = None) -> Flushed:
    """Upload every record waiting in runs/outbox/; what fails stays there for the next time."""
    url = url or store_url()
    outbox = runs / OUTBOX
    waiting = sorted(outbox.glob("*.json")) if outbox.is_dir() else []
    if url is None or not waiting:
        return Flushed(0, len(waiting))
    from azure.core.exceptions import AzureError

    uploaded = 0
    try:
        for path in waiting:
            try:
                body = path.read_bytes()
                record = json.loads(body)
                slug = str(record["municipality"])
            except FileNotFoundError:
                continue  # another run's flush took it: uploads never overwrite, so fine
            except (ValueError, KeyError, TypeError):
                # Not a record (a crash mid-write, a hand edit): set aside, named, so it
                # never blocks the records behind it.
                _set_aside(path, "unreadable")
                continue
            try:
                target = container_url(url, slug)
            except StoreError:
                # Another municipality's record, and this SAS is for one container: not
                # this store's to take. Set aside, never lost.
                _set_aside(path, "other-municipality")
                continue
            with container(target) as client:
                _upload(client, blob_name(record, path.name), body)
            path.unlink(missing_ok=True)
            uploaded += 1
    except (AzureError, OSError) as exc:
        return Flushed(uploaded, len(waiting) - uploaded, short(exc))
    return Flushed(uploaded, 0)


def _set_aside(path: Path, why: str) -> None:
    aside = path.parent / why / path.name
    aside.parent.mkdir(exist_ok=True)
    path.replace(aside)


def short(exc: Exception) -> str:
    """The first line of an error, with any SAS token in it redacted."""
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return redact_text(text)


def save(runs: Path, filename: str, record: dict[str, Any]) -> Path:
    """Write a schema-checked record to runs/ and queue it for the store; try the upload now."""
    checked = recordschema.validate(record, filename)
    body = json.dumps(checked, indent=2, sort_keys=True, ensure_ascii=False)
    out = runs / filename
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    if store_url() is not None:
        queued = runs / OUTBOX / filename
        queued.parent.mkdir(parents=True, exist_ok=True)
        # Written whole then renamed: a crash never leaves half a record to upload.
        tmp = queued.with_suffix(".tmp")
        tmp.write_text(body, encoding="utf-8")
        tmp.replace(queued)
        flush(runs)
    return out


@dataclass(frozen=True)
class Stored:
    name: str
    record: recordschema.Record | None
    error: str | None = None


def list_records(
    url: str, environment: str, municipalities: list[str] | None = None, kind: str | None = None
) -> list[Stored]:
    """Every record in the store for the environment (and municipalities, kind), read by schema.

    A blob that is not a current record is listed with the reason, never dropped silently.
    A record filed under another municipality than its container's is refused the same way:
    a node can write only its own container, and must not speak for a neighbour."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        containers = _containers(url, municipalities)
        found: list[Stored] = []
        for slug, curl in containers:
            # A municipality's container is read whole: a record it holds in another's
            # name is shown as refused, not skipped.
            prefixes = [f"{environment}/"]
            if slug is None and municipalities:
                prefixes = [f"{environment}/{m}/" for m in municipalities]
            with container(curl) as client:
                try:
                    items = [i for p in prefixes for i in client.list_blobs(name_starts_with=p)]
                except ResourceNotFoundError:
                    continue  # a municipality whose records container is not made yet
                for item in items:
                    parts = item.name.split("/")
                    if len(parts) != 4 or (kind and parts[2] != kind):
                        continue
                    if municipalities and parts[1] not in municipalities:
                        continue
                    found.append(_read(client, item.name, slug))
    except AzureError as exc:
        raise StoreError(
            f"the record store ({STORE_ENV}) cannot be read: {short(exc)}; "
            "check the link to the region and the SAS URL"
        ) from None
    return found


def _containers(url: str, municipalities: list[str] | None) -> list[tuple[str | None, str]]:
    """(slug, container URL) pairs to read: one per municipality through an account SAS,
    or the one container a container SAS names."""
    if not is_account_url(url):
        return [(url_slug(url), url)]
    slugs = municipalities or record_containers(url)
    return [(m, container_url(url, m)) for m in slugs]


def _read(client: Any, name: str, slug: str | None) -> Stored:
    body = client.download_blob(name).readall()
    try:
        rec = recordschema.parse(json.loads(body), name)
    except (ValueError, recordschema.RecordError) as exc:
        return Stored(name, None, str(exc))
    if slug is not None and rec.municipality != slug:
        return Stored(
            name,
            None,
            f"{name}: a record for {rec.municipality} in {records_container(slug)}; a "
            "municipality's container holds only its own records, so it is not read",
        )
    return Stored(name, rec)


def list_local(
    runs: Path, environment: str, municipalities: list[str] | None = None, kind: str | None = None
) -> list[Stored]:
    """The same listing from this machine's runs/ (no store configured)."""
    found: list[Stored] = []
    for path in sorted(runs.glob("*.json")) if runs.is_dir() else []:
        try:
            rec = recordschema.parse(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, ValueError, recordschema.RecordError) as exc:
            found.append(Stored(path.name, None, str(exc)))
            continue
        if rec.environment != environment:
            continue
        if municipalities and rec.municipality not in municipalities:
            continue
        if kind and rec.kind != kind:
            continue
        found.append(Stored(path.name, rec))
    return found
