"""Which hosts `ilag lab up` rebuilds on their own, given what `lab status` found."""

from __future__ import annotations

from ilag_infra.lab.lifecycle import HostStatus, LabStatus, hosts_to_repair


def _host(name: str, running: bool = True, ssh: bool = True) -> HostStatus:
    return HostStatus(name, name.split("-")[0], "10.0.0.1", running, ssh)


def _status(hosts: list[HostStatus], *extra: str, recorded: bool = True) -> LabStatus:
    problems = [
        f"{h.name} {'is not running' if not h.running else 'does not answer SSH'}"
        for h in hosts
        if not (h.running and h.ssh)
    ]
    return LabStatus(recorded, hosts, True, [], problems + list(extra))


def test_healthy_lab_repairs_nothing() -> None:
    assert hosts_to_repair(_status([_host("andoy-a"), _host("bo-a")])) == {}


def test_only_the_sick_hosts_with_their_reason() -> None:
    report = _status(
        [_host("andoy-a"), _host("andoy-b", ssh=False), _host("bo-a", running=False), _host("bo-b")]
    )
    assert hosts_to_repair(report) == {
        "andoy-b": "does not answer SSH",
        "bo-a": "is not running",
    }


def test_a_cut_bridge_is_not_a_sick_host() -> None:
    # Hosts behind a cut bridge do not answer SSH; rebuilding them would not help.
    report = _status([_host("bo-a", ssh=False)], "bridge ilag-bo is down (cut)")
    assert hosts_to_repair(report) == {}


def test_azurite_or_an_unfinished_up_means_the_whole_lab() -> None:
    sick = [_host("andoy-a", running=False), _host("bo-a")]
    assert hosts_to_repair(_status(sick, "Azurite is not running")) == {}
    assert hosts_to_repair(_status(sick, "the last `lab up` did not finish")) == {}
    assert hosts_to_repair(_status(sick, "bridge ilag-bo is missing")) == {}


def test_no_recorded_lab_repairs_nothing() -> None:
    assert hosts_to_repair(_status([], "leftover mount /x", recorded=False)) == {}
