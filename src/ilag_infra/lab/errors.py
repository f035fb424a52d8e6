"""The lab's own failure type: something on this machine did not do what the lab needed."""

from __future__ import annotations

from ilag_infra.model.errors import IlagError


class LabError(IlagError):
    """A lab step failed (exit 1). The message says what failed and what to do next."""
