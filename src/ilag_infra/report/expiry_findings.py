"""What runs out or gets old soon, as findings on the council page (rule "expiry").

The rules are model/expiry.py's, the same `ilag validate` and `ilag preflight` apply; the
page words them in its own language. Past the date a finding must be fixed, before it
should be.
"""

from __future__ import annotations

from ilag_infra.model import expiry
from ilag_infra.report import labels
from ilag_infra.report.page import Finding

POLICY = "expiry"
_TEXT = {
    (expiry.SAS, False): "expiry_sas",
    (expiry.SAS, True): "expiry_sas_out",
    (expiry.CA_KEY, False): "expiry_ca",
    (expiry.CA_KEY, True): "expiry_ca_out",
    (expiry.CA_UNDATED, False): "expiry_ca_undated",
    (expiry.NODE_CERT, False): "expiry_node",
    (expiry.NODE_CERT, True): "expiry_node_out",
}


def text(due: expiry.Due, lang: str) -> str:
    t = labels.LABELS[lang]
    said = t[_TEXT[(due.kind, due.expired)]].format(
        subject=due.subject, day=due.day, left=due.left_days, max_age=due.max_age_days
    )
    return f"{said} {t['expiry_fix']}: {due.fix}"


def findings(dues: list[expiry.Due], lang: str) -> list[Finding]:
    """One finding per credential due, the run-out ones first."""
    ordered = sorted(dues, key=lambda d: (not d.expired, d.at is not None, d.at))
    return [
        Finding(
            POLICY,
            f"{d.file}: {d.key}",
            text(d, lang),
            "mandatory" if d.expired else "advisory",
            lang,
        )
        for d in ordered
    ]
