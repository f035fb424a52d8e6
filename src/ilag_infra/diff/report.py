"""What `ilag diff` reports: plain data at the bottom of the diff package, imported by every
part that builds or renders a report (so none of them import each other)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ilag_infra.diff import ansible as diffansible
from ilag_infra.diff import plan as diffplan
from ilag_infra.diff.costshares import CostShare
from ilag_infra.diff.stack_secrets import SecretChange
from ilag_infra.model.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, IlagError


class DiffError(IlagError):
    """The plan of a revision could not be computed at all."""


@dataclass
class CheckHost:
    host: str
    status: str
    changed_tasks: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """Ansible check mode against the hosts that could be reached."""

    env: str
    ran: bool = False
    municipalities: dict[str, list[CheckHost]] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)  # slug → why
    message: str = ""


@dataclass
class DiffReport:
    base: str
    head: str
    base_sha: str | None
    head_sha: str | None
    mode: str = "diff"  # diff | preview
    stacks: list[diffplan.StackDiff] = field(default_factory=list)
    ansible: diffansible.AnsibleDiff | None = None
    check: CheckResult | None = None
    secrets: list[SecretChange] = field(default_factory=list)  # secret config entries changed
    # Every municipality's cost share before and after, when region.yaml moves them.
    cost_shares: list[CostShare] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def azure_changes(self) -> bool:
        return bool(self.secrets) or any(s.has_changes for s in self.stacks)

    @property
    def has_changes(self) -> bool:
        return self.azure_changes or bool(self.ansible and self.ansible.has_changes)

    @property
    def failed(self) -> bool:
        return any(s.failed for s in self.stacks)

    @property
    def mandatory_violations(self) -> int:
        return sum(s.mandatory_violations for s in self.stacks)

    @property
    def bad_input(self) -> bool:
        """The head revision has a file that does not validate (exit 2, as `ilag validate`)."""
        return any(s.head_bad_input for s in self.stacks) or bool(
            self.ansible and self.ansible.problems
        )

    @property
    def exit_code(self) -> int:
        """2 if the head has bad input, 1 if its plan fails or violates a mandatory policy."""
        if self.bad_input:
            return EXIT_BAD_INPUT
        return EXIT_FAILED if self.failed or self.mandatory_violations else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["has_changes"] = self.has_changes
        data["failed"] = self.failed
        data["bad_input"] = self.bad_input
        for stack, raw in zip(self.stacks, data["stacks"], strict=True):
            raw["counts"] = stack.counts
        return data
