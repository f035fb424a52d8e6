"""Alerts: one per problem, not one per run, on every configured channel.

A check command passes its run record to `notify`. Each problem in it (alert_problems) is
compared with what the channels were told before, kept in runs/alerts/state.json: a new
problem is sent once ("Feil"), a problem still open is not sent again, and a problem gone
from the record's scope (environment, municipality, kind) is sent once more as "Løst" and
forgotten. A channel that fails keeps its message pending for the next run.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ilag_infra.onsite import alert_channels, alert_settings, alert_stale, jobrecord, runrecord
from ilag_infra.onsite.alert_problems import (
    FEIL,
    KIND_WORDS,
    LOST,
    OBS,
    STALE,
    WHOLE_RUN,
    Problem,
    problems,
    scope,
)
from ilag_infra.onsite.alert_settings import AlertSettings

__all__ = [
    "AlertOutcome",
    "AlertSettings",
    "Problem",
    "SentAlert",
    "notify",
    "notify_file",
    "notify_problems",
    "notify_stale",
    "problems",
    "send_test",
    "state_file",
]

STATE_VERSION = 1
# What a channel was last told about a problem.
OPEN, RESOLVED = "open", "resolved"
NO_CHANNELS_NOTE = (
    f"no alert channels configured ({alert_settings.WEBHOOK_URL}, {alert_settings.SMTP}); "
    "no alerts sent"
)


@dataclass(frozen=True)
class SentAlert:
    """One message that reached at least one channel."""

    key: str
    word: str  # Feil for a new problem, Løst for one that has gone away
    text: str
    channels: tuple[str, ...]
    record: Path | None = None


@dataclass
class AlertOutcome:
    """What one notify did: sent, failed (channel -> reason, masked) and still pending."""

    channels: tuple[str, ...] = ()
    sent: list[SentAlert] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # Problem keys with a message some channel has not had yet (retried on the next run).
    pending: list[str] = field(default_factory=list)
    # Problem keys open in the record's scope after this run.
    open: list[str] = field(default_factory=list)
    note: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        """For people: what was sent where, what failed, what waits."""
        out = [self.note] if self.note else []
        out += [f"alert {s.word}: {s.text} ({', '.join(s.channels)})" for s in self.sent]
        out += [f"alert channel {c} failed: {why}" for c, why in sorted(self.failed.items())]
        if self.pending:
            out.append(f"{len(self.pending)} alert(s) pending, retried on the next run")
        return out


def state_file(repo_root: Path) -> Path:
    return runrecord.runs_dir(repo_root) / "alerts" / "state.json"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One notify at a time per runs/: two timers firing together must not both send a
    problem, nor lose each other's updates. Held across the sends for that reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load(path: Path) -> tuple[dict[str, Any], str | None]:
    """The state, or an empty one (with a note) when the file is unreadable: better one
    alert sent twice than every alert lost to a broken file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as exc:
        aside = path.with_name(f"state.broken-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json")
        path.replace(aside)
        return {}, f"alert state {path} unreadable ({type(exc).__name__}); moved to {aside.name}"
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return {}, f"alert state {path} has an unknown version; starting afresh"
    found = data.get("problems")
    return (found if isinstance(found, dict) else {}), None


def _save(path: Path, entries: dict[str, Any]) -> None:
    """Written whole and renamed into place: a crash leaves the old state or the new."""
    body = json.dumps(
        {"version": STATE_VERSION, "problems": entries},
        indent=2,
        sort_keys=True,
        ensure_ascii=False,
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _what(entry: dict[str, Any]) -> list[str]:
    """Which check, and which host, in the body's words."""
    kind, host = str(entry["kind"]), str(entry["host"])
    if kind == STALE:
        return [f"Kontroll: {KIND_WORDS.get(host, host)} (siste resultat for gammelt)"]
    return [f"Kontroll: {KIND_WORDS.get(kind, kind)}"] + (
        [f"Vert: {host}"] if host != WHOLE_RUN else []
    )


def _message(word: str, entry: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of an alert: the subject one line, the body the details."""
    subject = f"[ilag] {word}: {entry['title']}"
    lines = [f"{word}: {entry['text']}" if word != LOST else f"{LOST}: {entry['title']}"]
    if word == LOST:
        lines.append(f"Var: {entry['detail']}")
    lines += [
        "",
        f"Kommune: {entry['municipality']}",
        f"Miljø: {entry['environment']}",
        *_what(entry),
        f"Først sett: {entry['since']}",
        f"Sist sett: {entry['last_seen']}",
        "",
        "Ett varsel per problem: det sendes ikke igjen mens problemet står åpent, og en "
        f"melding «{LOST}» kommer når det er borte.",
    ]
    return subject, "\n".join(lines)


def _record_subject(entry: dict[str, Any], word: str, channels: list[str]) -> str:
    """bo-drift-bo-app01-feil-smtp: run ids are per second and process, so the file name
    tells apart one run's alerts, and a retry on another channel within the same second."""
    verdict = "lost" if word == LOST else "feil"
    raw = "-".join((entry["municipality"], entry["kind"], entry["host"], verdict, *channels))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)


def _deliver(
    repo_root: Path,
    settings: AlertSettings,
    entry: dict[str, Any],
    resolved: bool,
    targets: list[str],
    outcome: AlertOutcome,
) -> None:
    """Send one message on the targets not failed yet this run; note who got it."""
    word = LOST if resolved else str(entry.get("word", FEIL))
    subject, body = _message(word, entry)
    told = entry.setdefault("told", {})
    got: list[str] = []
    for channel in targets:
        if channel in outcome.failed:
            continue  # down this run: keep the message pending rather than wait on it again
        why = alert_channels.send(settings, channel, subject, body)
        if why is None:
            told[channel] = RESOLVED if resolved else OPEN
            got.append(channel)
        else:
            outcome.failed[channel] = why
    if not got:
        return
    record = jobrecord.write(
        repo_root,
        "alert",
        _record_subject(entry, word, got),
        {
            "environment": entry["environment"],
            "municipality": entry["municipality"],
            "ok": resolved,
            "problem": entry["text"],
            "channels": got,
            "about": entry["key"],
            "checked_kind": entry["kind"],
            "host": entry["host"],
            "since": entry["since"],
        },
    )
    text = entry["title"] if resolved else entry["text"]
    outcome.sent.append(SentAlert(entry["key"], word, text, tuple(got), record))


def _usable(entry: dict[str, Any], settings: AlertSettings) -> dict[str, str]:
    """What each channel was told; a channel dropped from the settings is no one's to tell."""
    told = {c: s for c, s in entry.get("told", {}).items() if c in settings.channels}
    entry["told"] = told
    return told


def _announce(
    repo_root: Path,
    settings: AlertSettings,
    entries: dict[str, Any],
    here: list[str],
    p: Problem,
    now: str,
    outcome: AlertOutcome,
) -> None:
    """A problem present now: to every channel not yet told it is open."""
    entry = entries.setdefault(
        p.key, {"key": p.key, "scope": here, "host": p.host, "since": now, "told": {}}
    )
    entry.update(
        environment=p.environment,
        municipality=p.municipality,
        kind=p.kind,
        word=p.word,
        title=p.title,
        text=p.text,
        detail=p.detail,
        last_seen=now,
    )
    told = _usable(entry, settings)
    todo = [c for c in settings.channels if told.get(c) != OPEN]
    if todo:
        _deliver(repo_root, settings, entry, False, todo, outcome)


def _resolve(
    repo_root: Path,
    settings: AlertSettings,
    entries: dict[str, Any],
    here: list[str],
    current: set[str],
    outcome: AlertOutcome,
) -> None:
    """A problem of this scope gone: Løst to each channel told it was open, then forget it."""
    for key in sorted(entries):
        entry = entries[key]
        if entry.get("scope") != here or key in current:
            continue
        told = _usable(entry, settings)
        todo = [c for c in settings.channels if told.get(c) == OPEN]
        if todo:
            _deliver(repo_root, settings, entry, True, todo, outcome)
        if OPEN not in entry["told"].values():
            del entries[key]


def _pending(
    settings: AlertSettings, entries: dict[str, Any], here: list[str], current: set[str]
) -> list[str]:
    """Keys of this scope with a message some channel has not had yet."""
    found = []
    for key, entry in sorted(entries.items()):
        if entry.get("scope") != here:
            continue
        told = entry["told"]
        if key in current:
            waiting = any(told.get(c) != OPEN for c in settings.channels)
        else:
            waiting = OPEN in told.values()  # its Løst has not gone through yet
        if waiting:
            found.append(key)
    return found


def notify(
    repo_root: Path, record: dict[str, Any], settings: AlertSettings | None = None
) -> AlertOutcome:
    """Alert on the problems in a run record (a dict as the record schema defines it).

    settings default to the ILAG_ALERT_* environment (InputError if bad). With no channel
    configured nothing is sent or remembered, and the outcome's note says so."""
    settings = alert_settings.from_env() if settings is None else settings
    found = problems(record)  # checks the record against the schema first
    if record.get("kind") == "alert":
        return AlertOutcome(channels=settings.channels)  # alerts are not judged by alerts
    return notify_problems(repo_root, scope(record), found, settings)


def notify_problems(
    repo_root: Path,
    where: tuple[str, str, str],
    found: list[Problem],
    settings: AlertSettings,
) -> AlertOutcome:
    """Alert on `found`, the whole truth about the scope `where` (environment,
    municipality, kind): what is not in it any more is resolved."""
    if not settings.channels:
        return AlertOutcome(note=NO_CHANNELS_NOTE)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    here = list(where)
    outcome = AlertOutcome(channels=settings.channels)
    path = state_file(repo_root)
    with _locked(path):
        entries, outcome.note = _load(path)
        # Saved whatever happens below: a message that went out is never sent twice.
        try:
            current = {p.key: p for p in found}
            for p in current.values():
                _announce(repo_root, settings, entries, here, p, now, outcome)
            _resolve(repo_root, settings, entries, here, set(current), outcome)
            outcome.pending = _pending(settings, entries, here, set(current))
            outcome.open = sorted(current)
        finally:
            _save(path, entries)
    return outcome


def notify_stale(
    repo_root: Path,
    environment: str,
    municipality: str,
    kinds: Iterable[str] = alert_stale.WATCHED,
    settings: AlertSettings | None = None,
    now: datetime | None = None,
) -> AlertOutcome:
    """Alert on the watched checks whose latest result in runs/ is too old or missing (a
    timer that stopped); their own scope, so a fresh result again sends Løst."""
    settings = alert_settings.from_env() if settings is None else settings
    found = alert_stale.stale_problems(
        runrecord.runs_dir(repo_root), environment, municipality, kinds, now
    )
    return notify_problems(repo_root, (environment, municipality, STALE), found, settings)


def notify_file(repo_root: Path, path: Path, settings: AlertSettings | None = None) -> AlertOutcome:
    """notify() on a record as written (jobrecord.write and runrecord.write return the path)."""
    record = json.loads(path.read_text(encoding="utf-8"))
    return notify(repo_root, record, settings)


def send_test(
    settings: AlertSettings, environment: str, municipality: str | None = None
) -> dict[str, str | None]:
    """One test message on every configured channel: channel -> None (sent) or the reason it
    failed. Remembers nothing and writes no record: a test is no problem."""
    where = f"{municipality}, {environment}" if municipality else environment
    subject = f"[ilag] {OBS}: test av varsling ({where})"
    body = (
        f"{OBS}: test av varsling ({where}) fra {socket.gethostname()}.\n"
        "Kommer denne fram, når varsler om feil og løste problemer denne kanalen. "
        "Ingen handling trengs."
    )
    return {c: alert_channels.send(settings, c, subject, body) for c in settings.channels}
