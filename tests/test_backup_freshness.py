"""The backup freshness verdict, from the status fact the backup_agent role writes on each host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ilag_infra.onsite.backup import interpret
from ilag_infra.onsite.hostlist import SshHost

HOST = SshHost("andoy-fil01", "andoy", "10.250.5.11", 22, "root", None)
DAY = timedelta(hours=26)


def fact(age: timedelta | None, **fields: Any) -> dict[str, Any]:
    """A status fact as the role's ilag-backup script writes it (isoformat, seconds, UTC)."""
    data: dict[str, Any] = {"state": "ok", "last_snapshot_id": "4f1c2a9e"}
    if age is not None:
        moment = datetime.now(UTC) - age
        data["last_success"] = moment.isoformat(timespec="seconds")
        data["last_run_end"] = data["last_success"]
    data.update(fields)
    return data


def test_a_recent_successful_snapshot_is_fresh() -> None:
    status = interpret(HOST, fact(timedelta(hours=1)), DAY)
    assert status.fresh
    assert status.state == "ok" and status.snapshot_id == "4f1c2a9e"
    assert status.age is not None and timedelta(minutes=59) < status.age < timedelta(hours=2)


def test_a_snapshot_older_than_the_limit_is_not_fresh() -> None:
    assert not interpret(HOST, fact(DAY + timedelta(minutes=5)), DAY).fresh
    assert interpret(HOST, fact(DAY - timedelta(minutes=5)), DAY).fresh


@pytest.mark.parametrize("state", ["failed", "partial", "running", "unknown"])
def test_a_recent_success_does_not_hide_a_later_failed_run(state: str) -> None:
    # The fact keeps the earlier success and snapshot when a later run fails.
    status = interpret(HOST, fact(timedelta(hours=1), state=state, last_error="boom"), DAY)
    assert not status.fresh
    assert status.state == state and status.error == "boom"
    assert status.last_success is not None


def test_success_without_a_snapshot_id_is_not_fresh() -> None:
    assert not interpret(HOST, fact(timedelta(hours=1), last_snapshot_id=None), DAY).fresh
    assert not interpret(HOST, fact(timedelta(hours=1), last_snapshot_id=""), DAY).fresh


@pytest.mark.parametrize("value", [None, "", "yesterday", 1733000000, ["2026-11-30"]])
def test_a_missing_or_unreadable_time_is_never_fresh(value: Any) -> None:
    status = interpret(HOST, fact(None, last_success=value), DAY)
    assert not status.fresh
    assert status.last_success is None and status.age is None


def test_a_never_run_host_is_not_fresh_and_says_unknown() -> None:
    status = interpret(HOST, {}, DAY)
    assert not status.fresh and status.state == "unknown" and status.last_success is None


def test_times_in_other_offsets_and_without_offset_are_compared_in_utc() -> None:
    oslo = timezone(timedelta(hours=1))
    moment = (datetime.now(UTC) - timedelta(hours=2)).astimezone(oslo)
    status = interpret(HOST, fact(None, last_success=moment.isoformat()), DAY)
    assert status.fresh and status.last_success == moment
    # A naive time is taken as UTC (the role writes UTC): 25 h old is fresh, 27 h is not.
    naive = (datetime.now(UTC) - timedelta(hours=25)).replace(tzinfo=None).isoformat()
    assert interpret(HOST, fact(None, last_success=naive), DAY).fresh
    naive = (datetime.now(UTC) - timedelta(hours=27)).replace(tzinfo=None).isoformat()
    assert not interpret(HOST, fact(None, last_success=naive), DAY).fresh


def test_a_few_minutes_of_clock_skew_ahead_still_counts_as_fresh() -> None:
    # Clock skew between host and controller must not make a real backup look missing.
    assert interpret(HOST, fact(-timedelta(minutes=3)), DAY).fresh
