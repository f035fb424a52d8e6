"""Every documented `pulumi config set` command leaves a stack config the program accepts.

The commands come from the shell blocks of docs/*.md and README.md and from the comments of
the stack files. They are replayed the way the Pulumi CLI applies them (`--path` writes into
maps, and cannot write below a plain value), on top of the shipped stack file. The result is
then read by the real settings reader through the offline plan.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ilag_infra.azure import plan, settings
from ilag_infra.model.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SAMPLE_KEY = "ZG9jcy10ZXN0LW9ubHktbm90LWEtcmVhbC1rZXktMDAwMDAwMA=="
ENCRYPTED = {"secure": "v1:documented-command"}


@dataclass
class Command:
    source: str  # file:line
    verb: str  # set | rm
    key: str
    value: str | None
    secret: bool
    path: bool
    stack: str | None


@dataclass
class Scenario:
    source: str
    stack: str
    commands: list[Command] = field(default_factory=list)


def _documented_lines() -> list[tuple[str, list[str]]]:
    """(file, shell lines with their line numbers as 'file:n') from every documentation place."""
    out: list[tuple[str, list[str]]] = []
    for path in sorted([*REPO.glob("docs/*.md"), REPO / "README.md"]):
        lines: list[str] = []
        inside = False
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                inside = not inside
                continue
            if inside:
                lines.append(f"{path.name}:{n}\t{line}")
            else:
                # Commands written inline, e.g. `pulumi config set ... -s network`.
                for span in re.findall(r"`(pulumi config (?:set|rm) [^`]+)`", line):
                    lines.append(f"{path.name}:{n}\t{span}")
        out.append((path.name, lines))
    for path in sorted(REPO.glob("stacks/Pulumi.*.yaml")):
        # Commands in the comments are indented by four or more spaces after the "#".
        lines = [
            f"{path.name}:{n}\t{m.group(1)}"
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if (m := re.match(r"#\s{4,}(\S.*)$", line))
        ]
        out.append((path.name, lines))
    return out


def _expand(lines: list[str]) -> list[str]:
    """Join continuations and unroll `for x in a b; do ... done` loops."""
    joined: list[str] = []
    for entry in lines:
        where, _, text = entry.partition("\t")
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + " " + text.strip()
        else:
            joined.append(f"{where}\t{text.strip()}")
    out: list[str] = []
    i = 0
    while i < len(joined):
        where, _, text = joined[i].partition("\t")
        loop = re.match(r"for (\w+) in ([^;]+); do\s*(.*)$", text)
        if not loop:
            out.append(joined[i])
            i += 1
            continue
        var, words, first = loop.group(1), loop.group(2).split(), loop.group(3)
        body = [first] if first else []
        i += 1
        while i < len(joined) and joined[i].partition("\t")[2] != "done":
            body.append(joined[i].partition("\t")[2])
            i += 1
        i += 1
        for word in words:
            for cmd in body:
                out.append(
                    f"{where}\t{cmd.replace('$' + var, word).replace('${' + var + '}', word)}"
                )
    return out


def _parse(where: str, text: str) -> Command | None:
    text = text.split("  #", 1)[0]
    if not text.startswith("pulumi config set") and not text.startswith("pulumi config rm"):
        return None
    text = re.sub(r'"\$\([^)]*\)"', SAMPLE_KEY, text)
    words = shlex.split(text)[2:]
    verb, args = words[0], words[1:]
    secret = path = False
    stack = None
    positional: list[str] = []
    it = iter(args)
    for word in it:
        if word == "--secret":
            secret = True
        elif word == "--plaintext":
            secret = False
        elif word == "--path":
            path = True
        elif word in ("-s", "--stack"):
            stack = next(it)
        elif word.startswith("--stack="):
            stack = word.split("=", 1)[1]
        else:
            positional.append(word)
    if not positional or not positional[0].startswith(f"{settings.NAMESPACE}:"):
        return None  # a fragment in prose, e.g. "`pulumi config set --secret`"
    value = positional[1] if len(positional) > 1 else None
    if value is not None and ("…" in value or value.startswith("<")):
        value = SAMPLE_KEY
    return Command(where, verb, positional[0], value, secret, path, stack)


def scenarios() -> list[Scenario]:
    found: dict[tuple[str, str], Scenario] = {}
    for name, lines in _documented_lines():
        for entry in _expand(lines):
            where, _, text = entry.partition("\t")
            cmd = _parse(where, text)
            if cmd is None:
                continue
            stack = cmd.stack or "(no -s)"
            found.setdefault((name, stack), Scenario(name, stack)).commands.append(cmd)
    return list(found.values())


class ReplayError(Exception):
    pass


def _split(cmd: Command) -> tuple[str, list[str]]:
    if not cmd.path:
        return cmd.key, []
    ns, _, rest = cmd.key.partition(":")
    top, *sub = rest.split(".")
    return f"{ns}:{top}", sub


def replay(config: dict[str, Any], cmd: Command) -> None:
    """Apply one command as the Pulumi CLI would; ReplayError where the CLI would fail."""
    top, sub = _split(cmd)
    if cmd.verb == "rm":
        if not sub:
            config.pop(top, None)
            return
        node = config.get(top)
        for part in sub[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(sub[-1], None)
        return
    value: Any = dict(ENCRYPTED) if cmd.secret else cmd.value
    if not sub:
        config[top] = value
        return
    node = config.setdefault(top, {})
    trail = top
    for part in sub[:-1]:
        if not isinstance(node, dict) or node == ENCRYPTED:
            raise ReplayError(f"{trail} holds a single value, so --path cannot set {cmd.key}")
        node = node.setdefault(part, {})
        trail += f".{part}"
    if not isinstance(node, dict) or node == ENCRYPTED:
        raise ReplayError(f"{trail} holds a single value, so --path cannot set {cmd.key}")
    node[sub[-1]] = value


@pytest.fixture(scope="module")
def upstream() -> dict[str, dict[str, Any]]:
    return {r.stack: r.outputs for r in plan.run_many(plan.STACK_ORDER, root=REPO)}


def test_documentation_has_config_commands() -> None:
    found = scenarios()
    keys = {c.key.split(".")[0] for s in found for c in s.commands}
    assert "ilag:vpnSharedKeys" in keys
    assert any(c.source.startswith("operators.md") for s in found for c in s.commands)


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: f"{s.source}-{s.stack}")
def test_documented_commands_set_what_the_settings_reader_accepts(
    scenario: Scenario, tmp_path: Path, upstream: dict[str, dict[str, Any]]
) -> None:
    first = scenario.commands[0].source
    assert scenario.stack != "(no -s)", f"{first}: name the stack with -s"
    kind, _ = settings.stack_kind(scenario.stack)
    known = {f"{settings.NAMESPACE}:{k.name}": k for k in settings.KEYS}
    yaml = YAML()
    shipped = REPO / "stacks" / f"Pulumi.{scenario.stack}.yaml"
    data: Any = yaml.load(shipped.read_text(encoding="utf-8")) if shipped.is_file() else {}
    config: dict[str, Any] = json.loads(json.dumps(dict(data.get("config") or {})))
    for cmd in scenario.commands:
        top, _ = _split(cmd)
        assert top in known, f"{cmd.source}: {cmd.key} is not a key the stacks read"
        key = known[top]
        assert kind in key.stacks, f"{cmd.source}: {top} is not read by stack {kind}"
        if cmd.verb == "set":
            assert cmd.secret or not key.secret, f"{cmd.source}: {top} must be set with --secret"
        try:
            replay(config, cmd)
        except ReplayError as exc:
            pytest.fail(f"{cmd.source}: `pulumi config {cmd.verb} {cmd.key}` fails: {exc}")
    config[f"{settings.NAMESPACE}:regionFile"] = str(REPO / "region.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    with (tmp_path / "stacks" / f"Pulumi.{scenario.stack}.yaml").open("w") as fh:
        yaml.dump({"config": config}, fh)
    try:
        plan.run(scenario.stack, root=tmp_path, upstream=upstream)
    except InputError as exc:
        pytest.fail(f"{first}: the documented commands leave a config the program refuses:\n{exc}")


def test_the_replay_refuses_a_path_below_a_single_value() -> None:
    config: dict[str, Any] = {}
    replay(config, Command("t", "set", "ilag:vpnSharedKeys.andoy", "k", True, True, "network"))
    with pytest.raises(ReplayError):
        replay(
            config,
            Command("t", "set", "ilag:vpnSharedKeys.andoy.risoyhamn", "k", True, True, "network"),
        )
    replay(config, Command("t", "rm", "ilag:vpnSharedKeys.andoy", None, False, True, "network"))
    replay(
        config,
        Command("t", "set", "ilag:vpnSharedKeys.andoy.risoyhamn", "k", True, True, "network"),
    )
    assert config == {"ilag:vpnSharedKeys": {"andoy": {"risoyhamn": ENCRYPTED}}}
