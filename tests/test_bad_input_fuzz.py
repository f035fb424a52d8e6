"""Generated broken input for every file validate reads: each is refused as bad input (a
Problem naming the file and a key) or is valid, never a traceback, and always quickly.

Mutations start from the shipped files: every key path gets values of the wrong type, and
the text gets bad tags, deep nesting, alias bombs, binary, truncation, odd unicode and huge
numbers. The same broken inventories go through the diff's reading of a head revision.
A second round (tests/broken_inputs.py) spoils every file kind by class of problem.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ilag_infra.cli.app import main
from ilag_infra.diff.ansible import diff_ansible
from ilag_infra.diff.ansible_view import read_view
from ilag_infra.model import inventory, region, yamlsource
from ilag_infra.model.errors import EXIT_BAD_INPUT, InputError
from ilag_infra.model.validate import validate
from tests import broken_inputs

REPO = Path(__file__).resolve().parents[1]
PEAK_BYTES = 64 * 2**20


def _plain(path: Path) -> Any:
    data, _ = yamlsource.load(path)
    return json.loads(json.dumps(data))  # the loader's own scalar types → plain ones


REGION = _plain(REPO / "region.yaml")
HOSTS = _plain(REPO / "inventories" / "sortland" / "hosts.yml")


def _dump(data: Any) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


def _wrong_values(original: Any) -> list[Any]:
    """Values of another type than the original: each must be refused at that path."""
    candidates: list[Any] = ["text", 7, ["a", 1], {"k": "v"}, "🐟 ÆØÅ\u202e"]
    if isinstance(original, int) and not isinstance(original, bool):
        candidates += [2**63, -1, True]
    if isinstance(original, str):
        candidates += [True, ""]
    same = type(original)
    return [v for v in candidates if type(v) is not same]


def _expect(file: Path, check: Callable[[], Any]) -> str:
    """'valid' or 'rejected'; anything but a clean InputError about this file fails the test."""
    try:
        check()
        outcome = "valid"
    except InputError as exc:
        assert exc.exit_code == EXIT_BAD_INPUT
        assert exc.problems
        for problem in exc.problems:
            assert problem.file and problem.key and problem.message and problem.fix, problem
        # A problem in this file, or one this file causes elsewhere and names.
        named = [
            p for p in exc.problems if Path(p.file).name == file.name or str(file) in p.message
        ]
        assert named, exc.problems
        outcome = "rejected"
    return outcome


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copy(REPO / "region.yaml", root / "region.yaml")
    shutil.copytree(REPO / "inventories", root / "inventories")
    return root


@pytest.fixture(scope="module")
def loaded(root: Path) -> region.LoadedRegion:
    # Ansible's first import takes seconds; it is not what the per-case bound is about.
    assert inventory.ansible_problems(inventory.inventory_path(root, "andoy")) == []
    return region.load(root / "region.yaml")


# --- wrong types at every key path: every case must be refused ----------------------------


def _region_cases() -> list[tuple[tuple[Any, ...], Any]]:
    cases = []
    for path in _paths(REGION):
        original = _get(REGION, path)
        for value in _wrong_values(original):
            cases.append((path, value))
    return cases


def _inventory_cases() -> list[tuple[tuple[Any, ...], Any]]:
    cases = []
    for path in _paths(HOSTS):
        original = _get(HOSTS, path)
        for value in _wrong_values(original):
            if original is None and isinstance(value, dict):
                continue  # a host's empty entry given variables is still a host
            cases.append((path, value))
    return cases


REGION_CASES = _region_cases()
INVENTORY_CASES = _inventory_cases()


def test_every_wrong_type_in_region_yaml_is_refused(tmp_path: Path) -> None:
    assert len(REGION_CASES) > 500
    accepted = []
    for path, value in REGION_CASES:
        file = tmp_path / "region.yaml"
        file.write_text(_dump(_set(copy.deepcopy(REGION), path, value)), encoding="utf-8")
        if _expect(file, lambda f=file: region.load(f)) == "valid":
            accepted.append((path, value))
    assert accepted == [], accepted


def test_every_wrong_type_in_hosts_yml_is_refused(root: Path, loaded: region.LoadedRegion) -> None:
    assert len(INVENTORY_CASES) > 100
    file = inventory.inventory_path(root, "sortland")
    original = file.read_text(encoding="utf-8")
    accepted = []
    try:
        for path, value in INVENTORY_CASES:
            file.write_text(_dump(_set(copy.deepcopy(HOSTS), path, value)), encoding="utf-8")
            check = lambda: inventory.load_all(loaded, root)  # noqa: E731
            if _expect(file, check) == "valid":
                accepted.append((path, value))
    finally:
        file.write_text(original, encoding="utf-8")
    # A string or number where a group's mapping was is refused; "" and null are Ansible's
    # empty group, so those alone may pass, and only where no host loses its address.
    assert all(v in ("", None) for _, v in accepted), accepted


# --- text-level damage: tags, nesting, aliases, binary, truncation, unicode, numbers ------

TAGS = ["!!float abc", "!!timestamp 2020-13-45", "!!int 0x", "!!binary ???", "!!python/none ''"]
BOMB = "\n".join(
    ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
)


def _text_mutations(text: str) -> st.SearchStrategy[str]:
    lines = text.splitlines()
    line_no = st.integers(0, len(lines) - 1)

    def at_line(make: Callable[[str], str]) -> st.SearchStrategy[str]:
        return line_no.map(
            lambda i: "\n".join([*lines[:i], make(lines[i]), *lines[i + 1 :]]) + "\n"
        )

    def tagged(tag: str) -> Callable[[str], str]:
        return lambda line: line.split(":", 1)[0] + f": {tag}" if ":" in line else line

    deep = st.integers(33, 400).map(lambda n: text + "extra: " + "[" * n + "]" * n + "\n")
    deep_block = st.integers(33, 400).map(
        lambda n: text + "".join(f"{' ' * i}k{i}:\n" for i in range(n)) + "\n"
    )
    return st.one_of(
        st.sampled_from(TAGS).flatmap(lambda tag: at_line(tagged(tag))),
        deep,
        deep_block,
        st.just(BOMB),
        st.just(text + "\n" + BOMB.replace("l", "q")),
        st.integers(0, len(text)).map(lambda n: text[:n]),
        st.binary(min_size=1, max_size=40).map(lambda b: text + b.decode("latin-1")),
        st.sampled_from(["\x00", "\ufeff", "\u202e", "\udcff", "💯", ":100:"]).flatmap(
            lambda c: at_line(lambda line: line + c)
        ),
        st.sampled_from(["9" * 40, "1e999", "-0", "0x1F", ".nan", "2**63"]).flatmap(
            lambda n: at_line(
                lambda line: line.split(":", 1)[0] + f": {n}" if ":" in line else line
            )
        ),
        at_line(lambda line: "  " + line),
        at_line(lambda line: line.replace(":", "", 1)),
    )


FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REGION_TEXT = (REPO / "region.yaml").read_text(encoding="utf-8")
HOSTS_TEXT = (REPO / "inventories" / "sortland" / "hosts.yml").read_text(encoding="utf-8")


def _write(file: Path, text: str) -> None:
    file.write_bytes(text.encode("utf-8", errors="surrogateescape"))


@FUZZ
@given(text=_text_mutations(REGION_TEXT))
def test_damaged_region_yaml_text(tmp_path: Path, text: str) -> None:
    file = tmp_path / "region.yaml"
    _write(file, text)
    _expect(file, lambda: region.load(file))


@FUZZ
@given(text=_text_mutations(HOSTS_TEXT))
def test_damaged_hosts_yml_text(root: Path, loaded: region.LoadedRegion, text: str) -> None:
    file = inventory.inventory_path(root, "sortland")
    try:
        _write(file, text)
        _expect(file, lambda: inventory.load_all(loaded, root))
    finally:
        file.write_text(HOSTS_TEXT, encoding="utf-8")


@pytest.mark.parametrize("name", ["region.yaml", "hosts.yml"])
def test_alias_bomb_is_refused_fast_and_small(tmp_path: Path, name: str) -> None:
    file = tmp_path / name
    file.write_text(BOMB + "\n", encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(yamlsource.YamlSourceError) as caught:
            yamlsource.load(file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES
    assert caught.value.problem.key == "(aliases)" and caught.value.problem.line


@pytest.mark.parametrize("depth", [300, 5000])
def test_deep_nesting_is_refused_by_validate(root: Path, tmp_path: Path, depth: int) -> None:
    file = tmp_path / "region.yaml"
    shutil.copytree(root / "inventories", tmp_path / "inventories")
    file.write_text(REGION_TEXT + "x: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    assert _expect(file, lambda: validate(file)) == "rejected"


# --- the diff reads a broken head without a traceback --------------------------------------


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=st.sampled_from(INVENTORY_CASES), text=_text_mutations(HOSTS_TEXT), raw=st.booleans())
def test_diff_reads_a_broken_head_inventory(
    root: Path, tmp_path_factory: pytest.TempPathFactory, case: Any, text: str, raw: bool
) -> None:
    head = tmp_path_factory.mktemp("head")
    shutil.copy(root / "region.yaml", head / "region.yaml")
    shutil.copytree(root / "inventories", head / "inventories")
    file = inventory.inventory_path(head, "sortland")
    path, value = case
    _write(file, text if raw else _dump(_set(copy.deepcopy(HOSTS), path, value)))
    result = diff_ansible(read_view(root), read_view(head), ["inventories/sortland/hosts.yml"])
    _inv, problems = inventory.read(file, "sortland")
    assert bool(result.problems) == bool(problems)
    assert all("inventories/sortland/hosts.yml" in p for p in result.problems)


# --- second round: every file validate reads, by class of problem -------------------------

SEED = int(os.environ.get("ILAG_FUZZ_SEED", "26"))
GENERATED = broken_inputs.every_case(SEED)
KINDS = {
    "region.yaml": "region.yaml",
    "hosts.yml": "hosts",
    "region.yml": "region inventory",
    "group_vars": "group_vars",
    "host_vars": "host_vars",
}


def _kind_of(file: str) -> str:
    return next(kind for part, kind in KINDS.items() if part in file)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_generated_broken_input_of_every_file_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over a thousand generated inputs across region.yaml, hosts files, region.yml,
    group_vars and host_vars: no traceback; every broken one refused as bad input naming
    its file, by validate and by the command (exit 2); no file changed by reading."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "region.yaml", root / "region.yaml")
    shutil.copytree(REPO / "inventories", root / "inventories")
    region_file = root / "region.yaml"
    loaded = region.load(region_file)
    before = _tree(root)
    accepted: list[str] = []
    kinds: Counter[str] = Counter()
    for n, case in enumerate(GENERATED):
        file = root / case.file
        kinds[_kind_of(case.file)] += 1
        if case.text is None:
            data = case.data
            outcome = _expect(file, lambda d=data: region.parse(d, {}, region_file))
        else:
            created = [p for p in [file, *file.parents] if not p.exists() and root in p.parents]
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(case.text, encoding="utf-8")
            try:
                pre = None if case.file == "region.yaml" else loaded
                outcome = _expect(file, lambda p=pre: validate(region_file, p))
                if n % 25 == 0:
                    code = main(["validate", "--region", str(region_file)])
                    out, err = capsys.readouterr()
                    assert "Traceback" not in out + err, case.label
                    assert code == (2 if outcome == "rejected" else 0), (case.label, err)
                if n % 20 == 0 and "inventories" in case.file:
                    read_view(root)  # the diff reads the same broken files without a traceback
                assert _tree(root) == {**before, case.file: case.text.encode("utf-8")}
            finally:
                if case.file in before:
                    file.write_bytes(before[case.file])
                for path in created:
                    path.unlink() if path.is_file() else path.rmdir()
        if case.broken and outcome == "valid":
            accepted.append(case.label)
    assert _tree(root) == before
    assert len(GENERATED) >= 1000
    assert set(kinds) == set(KINDS.values()) and min(kinds.values()) >= 50, kinds
    assert accepted == [], accepted
