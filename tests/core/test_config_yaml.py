"""config.yaml: the flat fast path reads exactly what PyYAML reads, and falls back otherwise."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from beads.core.config import _flatten, load_yaml, parse_flat_yaml
from beads.core.setup import CONFIG_YAML

SAMPLES = [
    CONFIG_YAML, CONFIG_YAML + "issue-prefix: shared\n", 'actor: "robot"\nno-db: true\njson: no\nflush-debounce: 5s\n',
    "lock-timeout: 100ms\nx: 10\ny: -3\nz: 010\nw: 1.5\nv: null\nu: ~\nt: 'a b'\n", "a:\n  b: 1\n", "- x\n",
    "k: [1,2]\n", 'k: "a\\tb"\n', "k: a # c\n", "k: 'it''s'\n", "k: 1e3\n", "k: 0x1f\n", "k: 12:30\n",
    "k: 2024-01-01\n", "sync-branch: beads-sync\n", "k: yes please\n", "k: Off\n", "key with space: v\n",
    "k: a#b\n", "k: 'x' # note\n", "k: \"x\"\n", "k:v\n", "k: .5\n", "k: +1\n", "k: 007\n", "k: 0\n",
]


def _pyyaml(text: str) -> dict:
    data = yaml.safe_load(text)
    return _flatten(data) if isinstance(data, dict) else {}


def test_the_fast_path_agrees_with_pyyaml_or_defers_to_it() -> None:
    for text in SAMPLES:
        got = parse_flat_yaml(text)
        if got is not None:
            assert got == _pyyaml(text), text


def test_the_files_bd_writes_never_need_pyyaml() -> None:
    assert parse_flat_yaml(CONFIG_YAML) == {}
    assert parse_flat_yaml(CONFIG_YAML + "issue-prefix: proj\nactor: robot\nno-auto-flush: true\n") == {
        "issue-prefix": "proj", "actor": "robot", "no-auto-flush": True}


def test_nested_yaml_is_read_through_pyyaml(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "config.yaml"
    path.write_text("sync:\n  branch: beads-sync\ndirectory.labels:\n  src: backend\n")
    assert load_yaml(str(path)) == {"sync.branch": "beads-sync", "directory.labels": {"src": "backend"}}


_KEYS = st.sampled_from(["actor", "json", "no-db", "issue-prefix", "flush-debounce", "lock-timeout", "x"])
_VALUES = st.one_of(
    st.sampled_from(["true", "False", "yes", "off", "null", "~", "5s", "100ms", "robot", "0", "12", "-3", "1.5", "0x10",
                     "2024-01-01", "'quoted'", '"double"', "a # comment", "a#b", "09", "+5"]),
    st.text(alphabet="abcxyz-_ ", min_size=1, max_size=8).map(str.strip).filter(bool),
)


@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=6))
def test_random_flat_files_parse_like_pyyaml(pairs: list[tuple[str, str]]) -> None:
    text = "# header\n" + "".join(f"{k}: {v}\n" for k, v in pairs)
    got = parse_flat_yaml(text)
    if got is not None:
        assert got == _pyyaml(text), text
