"""Which hosts a role or a playbook reaches in a revision: its plays' host patterns, resolved
by Ansible per municipality."""

from __future__ import annotations

from collections.abc import Iterable

from ilag_infra.diff.ansible_plays import playbook_closure
from ilag_infra.diff.ansible_view import View


def role_hosts(views: Iterable[View], role: str) -> set[str]:
    out: set[str] = set()
    for view in views:
        for play in view.plays:
            if role in play.roles:
                out |= view.select(play.pattern)
    return out


def playbook_hosts(views: Iterable[View], book: str) -> set[str]:
    out: set[str] = set()
    for view in views:
        books = playbook_closure(view.imports, book)
        for play in view.plays:
            if play.playbook in books:
                out |= view.select(play.pattern)
    return out


def every_host(views: Iterable[View]) -> set[str]:
    return {h for v in views for h in v.all_hosts()}


def group_hosts(views: Iterable[View], group: str, slug: str | None = None) -> set[str]:
    out: set[str] = set()
    for view in views:
        for s, per in view.hosts.items():
            if slug is None or s == slug:
                out |= {h for h, groups in per.items() if group in groups}
    return out
