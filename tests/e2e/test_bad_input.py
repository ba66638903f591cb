"""End-to-end: bad command-line input never reaches the user as Python internals.

A table of malformed arguments, files and workspace states, each run through the real
``bd`` in a copy of one prepared workspace: every case must exit 1 with one ``Error:``
line on stderr (plus at most one guidance line: ``Hint: …`` or cobra's ``Run 'bd … --help'
for usage.``), name no exception class, and leave the database and the ``.beads`` files
exactly as they were. Also: terminal escape sequences are shown visibly in text output
and kept in JSON, files honour the umask and keep their mode, and no FIFO makes bd hang.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from tests.conftest import BD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    Arg = str | bytes
    Mutation = Callable[[Path], str | None]  # may return the directory (relative) to run in
    Setup = Mutation | None

TIMEOUT_S = 20  # the bound that turns a hang (a FIFO opened for reading) into a failure
INTERNALS = re.compile(r"\b[A-Z][a-zA-Z]+(Error|Exception)\b|Errno|Traceback|codec|surrogate|invalid literal")
GUIDANCE = re.compile(r"^(Hint: .+|Run 'bd[^']*--help' for usage\.)$")
BAD_UTF8 = b"caf\xe9 \xff\xfe"  # latin-1 bytes, not UTF-8: Python sees surrogate escapes


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BD_", "BEADS_"))}
    env.update(HOME=str(home), USER="tester", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C.UTF-8")
    return env


def _run(ws: Path, args: Sequence[Arg], *, stdin: bytes | None = b"", umask: int | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    argv = [os.fsencode(BD)] + [a if isinstance(a, bytes) else os.fsencode(a) for a in args]
    preexec = (lambda: os.umask(umask)) if umask is not None else None  # noqa: E731
    return subprocess.run(argv, cwd=ws, input=stdin, capture_output=True, timeout=TIMEOUT_S,
                          env=env or _env(ws.parent / "home"), preexec_fn=preexec)


def _ok(ws: Path, *args: str) -> str:
    proc = _run(ws, list(args))
    assert proc.returncode == 0, proc
    return proc.stdout.decode()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace with three issues, a dependency, a label, a comment and some odd files."""
    root = tmp_path_factory.mktemp("bad-input")
    (root / "home").mkdir()
    ws = root / "ws"
    ws.mkdir()
    _ok(ws, "init", "--prefix", "bi", "-q", "--skip-hooks", "--skip-merge-driver")
    _ok(ws, "create", "First", "--id", "bi-1", "-d", "one", "-p", "1", "-l", "alpha")
    _ok(ws, "create", "Second", "--id", "bi-2", "-d", "two", "--deps", "bi-1")
    _ok(ws, "create", "Third", "--id", "bi-3", "-d", "three", "-t", "epic")
    _ok(ws, "comments", "add", "bi-1", "a comment")
    files = ws / "files"
    files.mkdir()
    (files / "binary.dat").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfd")
    (files / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (files / "nul.txt").write_bytes(b"text with a \x00 NUL\n")
    (files / "dir").mkdir()
    (files / "ok.md").write_text("## A title\n\nbody\n")
    (files / "bad.jsonl").write_bytes(b"\xff\xfe{not json\n")
    (files / "binary.md").write_bytes(b"## Title\n\n\xff\xfe body\n")
    (files / "dir.md").mkdir()
    return ws


# files any run may create or touch without changing anything: the lock, SQLite's WAL
_VOLATILE = ("beads.db-wal", "beads.db-shm", "jsonl.lock")


def _snapshot(root: Path) -> dict[str, str]:
    """Everything a command could have changed under ``root`` (the workspace ``ws`` and its
    neighbours): the database's rows, the bytes and mode of every .beads file, the file tree."""
    ws = root / "ws"
    tree = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name not in _VOLATILE)
    out: dict[str, str] = {"tree": "\n".join(tree)}
    db = sqlite3.connect(f"file:{ws / '.beads' / 'beads.db'}?mode=ro", uri=True)
    try:
        # jsonl_stat caches the JSONL's inode and ctime, which the per-case copy changes
        rows = [line for line in db.iterdump() if "'jsonl_stat'" not in line]
        out["db"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    finally:
        db.close()
    for path in sorted((ws / ".beads").iterdir()):
        if path.name.startswith("beads.db") or path.name in _VOLATILE:
            continue
        st = path.lstat()
        if stat.S_ISREG(st.st_mode):
            out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest() + f" {oct(st.st_mode)}"
        else:
            out[path.name] = oct(stat.S_IFMT(st.st_mode))
    return out


# -- workspace mutations for the cases that need one -------------------------------------------


def _fifo(rel: str) -> Mutation:
    def setup(ws: Path) -> None:
        target = ws / rel
        if target.exists():
            target.unlink()
        os.mkfifo(target)
    return setup


def _dir(rel: str) -> Mutation:
    def setup(ws: Path) -> None:
        target = ws / rel
        if target.exists():
            target.unlink()
        target.mkdir()
    return setup


def _write(rel: str, data: bytes) -> Mutation:
    def setup(ws: Path) -> None:
        (ws / rel).write_bytes(data)
    return setup


def _fresh(ws: Path) -> str:
    """An empty directory outside any workspace (for ``bd init``)."""
    fresh = ws.parent / "fresh"
    fresh.mkdir()
    return "../fresh"


BIG = "9" * 30
LONG = "x" * 100_000  # under the kernel's 128 KiB limit for one argument

# (case id, arguments, workspace setup)
CASES: list[tuple[str, list[Arg], Setup]] = [
    # invalid UTF-8 in arguments
    ("create-title-utf8", ["create", BAD_UTF8], None),
    ("create-title-flag-utf8", ["create", "--title", BAD_UTF8], None),
    ("create-desc-utf8", ["create", "ok", "-d", BAD_UTF8], None),
    ("create-design-utf8", ["create", "ok", "--design", BAD_UTF8], None),
    ("create-notes-utf8", ["create", "ok", "--notes", BAD_UTF8], None),
    ("create-acceptance-utf8", ["create", "ok", "--acceptance", BAD_UTF8], None),
    ("create-label-utf8", ["create", "ok", "-l", BAD_UTF8], None),
    ("create-assignee-utf8", ["create", "ok", "-a", BAD_UTF8], None),
    ("create-type-utf8", ["create", "ok", "-t", BAD_UTF8], None),
    ("create-id-utf8", ["create", "ok", "--id", b"bi-\xff"], None),
    ("create-extref-utf8", ["create", "ok", "--external-ref", BAD_UTF8], None),
    ("create-priority-utf8", ["create", "ok", "-p", b"\xff"], None),
    ("create-flag-utf8", ["create", "ok", b"--\xff"], None),
    ("update-title-utf8", ["update", "bi-1", "--title", BAD_UTF8], None),
    ("update-desc-utf8", ["update", "bi-1", "-d", BAD_UTF8], None),
    ("update-notes-utf8", ["update", "bi-1", "--notes", BAD_UTF8], None),
    ("update-assignee-utf8", ["update", "bi-1", "-a", BAD_UTF8], None),
    ("update-status-utf8", ["update", "bi-1", "-s", BAD_UTF8], None),
    ("update-add-label-utf8", ["update", "bi-1", "--add-label", BAD_UTF8], None),
    ("update-id-utf8", ["update", b"bi-\xff", "-p", "1"], None),
    ("close-reason-utf8", ["close", "bi-1", "-r", BAD_UTF8], None),
    ("close-id-utf8", ["close", b"bi-\xff"], None),
    ("reopen-id-utf8", ["reopen", b"bi-\xff"], None),
    ("show-id-utf8", ["show", b"bi-\xff"], None),
    ("label-add-utf8", ["label", "add", "bi-1", BAD_UTF8], None),
    ("label-remove-utf8", ["label", "remove", "bi-1", BAD_UTF8], None),
    ("comment-utf8", ["comments", "add", "bi-1", BAD_UTF8], None),
    ("comment-author-utf8", ["comments", "add", "bi-1", "hi", "-a", BAD_UTF8], None),
    ("dep-add-utf8", ["dep", "add", "bi-1", b"bi-\xff"], None),
    ("dep-remove-utf8", ["dep", "remove", b"bi-\xff", "bi-1"], None),
    ("list-title-utf8", ["list", "--title", BAD_UTF8], None),
    ("list-label-utf8", ["list", "-l", BAD_UTF8], None),
    ("search-utf8", ["search", BAD_UTF8], None),
    ("actor-utf8", ["create", "ok", "--actor", BAD_UTF8], None),
    ("config-set-utf8", ["config", "set", "custom.key", BAD_UTF8], None),
    ("config-set-key-utf8", ["config", "set", BAD_UTF8, "v"], None),
    ("delete-id-utf8", ["delete", b"bi-\xff", "--force"], None),
    ("q-utf8", ["q", BAD_UTF8], None),
    # files that are not text, or not files
    ("create-body-file-binary", ["create", "ok", "--body-file", "files/binary.dat"], None),
    ("create-body-file-latin1", ["create", "ok", "--description-file", "files/latin1.txt"], None),
    ("create-body-file-nul", ["create", "ok", "--body-file", "files/nul.txt"], None),
    ("create-body-file-dir", ["create", "ok", "--body-file", "files/dir"], None),
    ("create-body-file-fifo", ["create", "ok", "--body-file", "files/fifo"], _fifo("files/fifo")),
    ("create-body-file-missing", ["create", "ok", "--body-file", "files/nope"], None),
    ("create-file-binary", ["create", "-f", "files/binary.dat"], None),
    ("create-file-dir", ["create", "-f", "files/dir"], None),
    ("create-file-fifo", ["create", "-f", "files/fifo.md"], _fifo("files/fifo.md")),
    ("create-file-binary-md", ["create", "-f", "files/binary.md"], None),
    ("create-file-dir-md", ["create", "-f", "files/dir.md"], None),
    ("update-body-file-binary", ["update", "bi-1", "--body-file", "files/binary.dat"], None),
    ("update-body-file-dir", ["update", "bi-1", "--body-file", "files/dir"], None),
    ("update-body-file-fifo", ["update", "bi-1", "--body-file", "files/fifo"], _fifo("files/fifo")),
    ("comment-file-binary", ["comments", "add", "bi-1", "-f", "files/binary.dat"], None),
    ("comment-file-dir", ["comments", "add", "bi-1", "-f", "files/dir"], None),
    ("comment-file-fifo", ["comments", "add", "bi-1", "-f", "files/fifo"], _fifo("files/fifo")),
    ("delete-from-file-binary", ["delete", "--from-file", "files/binary.dat", "--force"], None),
    ("delete-from-file-dir", ["delete", "--from-file", "files/dir", "--force"], None),
    ("delete-from-file-fifo", ["delete", "--from-file", "files/fifo", "--force"], _fifo("files/fifo")),
    ("import-binary", ["import", "-i", "files/binary.dat"], None),
    ("import-bad-jsonl", ["import", "-i", "files/bad.jsonl"], None),
    ("import-dir", ["import", "-i", "files/dir"], None),
    ("import-fifo", ["import", "-i", "files/fifo"], _fifo("files/fifo")),
    ("import-missing", ["import", "-i", "files/nope.jsonl"], None),
    ("export-to-dir", ["export", "-o", "files/dir"], None),
    ("export-to-missing-dir", ["export", "-o", "files/nope/out.jsonl"], None),
    # numbers
    ("create-priority-huge", ["create", "ok", "-p", "99999999999999999999"], None),
    ("create-priority-arabic", ["create", "ok", "-p", "\u0663"], None),
    ("create-priority-fullwidth", ["create", "ok", "-p", "\uff13"], None),
    ("create-priority-p5", ["create", "ok", "-p", "P5"], None),
    ("create-priority-negative", ["create", "ok", "-p", "-1"], None),
    ("create-priority-float", ["create", "ok", "-p", "1.5"], None),
    ("create-priority-word", ["create", "ok", "-p", "high"], None),
    ("create-priority-empty", ["create", "ok", "-p", ""], None),
    ("create-priority-superscript", ["create", "ok", "-p", "\u00b2"], None),
    ("create-estimate-huge", ["create", "ok", "-e", BIG], None),
    ("create-estimate-word", ["create", "ok", "-e", "soon"], None),
    ("create-estimate-negative", ["create", "ok", "-e", "-5"], None),
    ("create-estimate-arabic", ["create", "ok", "-e", "\u0663"], None),
    ("update-priority-huge", ["update", "bi-1", "-p", BIG], None),
    ("update-priority-arabic", ["update", "bi-1", "-p", "\u0663"], None),
    ("update-priority-fullwidth", ["update", "bi-1", "-p", "P\uff13"], None),
    ("update-priority-p5", ["update", "bi-1", "-p", "P5"], None),
    ("update-estimate-huge", ["update", "bi-1", "-e", BIG], None),
    ("list-limit-1e400", ["list", "--limit", "1e400"], None),
    ("list-limit-huge", ["list", "--limit", BIG], None),
    ("list-limit-negative", ["list", "--limit", "-1"], None),
    ("list-priority-huge", ["list", "-p", BIG], None),
    ("list-priority-arabic", ["list", "-p", "\u0663"], None),
    ("list-priority-min-bad", ["list", "--priority-min", "P9"], None),
    ("list-priority-max-fullwidth", ["list", "--priority-max", "\uff14"], None),
    ("ready-limit-1e400", ["ready", "--limit", "1e400"], None),
    ("ready-limit-huge", ["ready", "--limit", BIG], None),
    ("ready-limit-word", ["ready", "-n", "ten"], None),
    ("ready-priority-p5", ["ready", "-p", "P5"], None),
    ("search-limit-huge", ["search", "x", "--limit", BIG], None),
    ("stale-days-huge", ["stale", "--days", BIG], None),
    ("stale-days-1e400", ["stale", "--days", "1e400"], None),
    ("stale-days-negative", ["stale", "--days", "-3"], None),
    ("stale-limit-huge", ["stale", "--limit", BIG], None),
    ("count-priority-huge", ["count", "-p", BIG], None),
    ("dep-tree-depth-huge", ["dep", "tree", "bi-2", "--max-depth", BIG], None),
    ("lock-timeout-huge", ["list", "--lock-timeout", "1e400s"], None),
    ("lock-timeout-word", ["list", "--lock-timeout", "soon"], None),
    ("export-priority-huge", ["export", "-p", BIG], None),
    # dates
    ("create-due-bad", ["create", "ok", "--due", "tomorrowish"], None),
    ("create-due-huge-year", ["create", "ok", "--due", "99999999-01-01"], None),
    ("create-defer-bad-month", ["create", "ok", "--defer", "2025-13-01"], None),
    ("list-created-after-bad", ["list", "--created-after", "yesterday-ish"], None),
    ("list-updated-before-huge", ["list", "--updated-before", BIG], None),
    # vocabularies and shapes
    ("create-type-unknown", ["create", "ok", "-t", "spaceship"], None),
    ("create-title-empty", ["create", ""], None),
    ("create-title-too-long", ["create", "t" * 501], None),
    ("create-title-huge", ["create", LONG], None),
    ("create-id-wrong-prefix", ["create", "ok", "--id", "zz-1"], None),
    ("create-id-slash", ["create", "ok", "--id", "bi-a/b"], None),
    ("create-id-space", ["create", "ok", "--id", "bi-a b"], None),
    ("create-id-control", ["create", "ok", "--id", "bi-\x1b[31m"], None),
    ("create-parent-missing", ["create", "ok", "--parent", "bi-404"], None),
    ("create-no-title", ["create"], None),
    ("update-status-unknown", ["update", "bi-1", "-s", "doing"], None),
    ("update-type-unknown", ["update", "bi-1", "-t", "spaceship"], None),
    ("update-parent-self", ["update", "bi-1", "--parent", "bi-1"], None),
    ("update-missing", ["update", "bi-404", "-p", "1"], None),
    ("show-missing", ["show", "bi-404"], None),
    ("close-missing", ["close", "bi-404"], None),
    ("dep-add-self", ["dep", "add", "bi-1", "bi-1"], None),
    ("dep-add-cycle", ["dep", "add", "bi-1", "bi-2"], None),
    ("dep-add-missing", ["dep", "add", "bi-1", "bi-404"], None),
    ("dep-remove-missing", ["dep", "remove", "bi-1", "bi-404"], None),
    ("dep-tree-bad-direction", ["dep", "tree", "bi-1", "--direction", "sideways"], None),
    ("label-add-empty", ["label", "add", "bi-1", ""], None),
    ("label-add-missing", ["label", "add", "bi-404", "x"], None),
    ("comment-missing", ["comments", "add", "bi-404", "hi"], None),
    ("comment-empty", ["comments", "add", "bi-1", ""], None),
    ("list-sort-unknown", ["list", "--sort", "colour"], None),
    ("ready-sort-unknown", ["ready", "--sort", "colour"], None),
    ("export-format-unknown", ["export", "-f", "xml"], None),
    ("import-extra-arg", ["import", "files/ok.md"], None),
    ("import-orphan-bad", ["import", "-i", "files/ok.md", "--orphan-handling", "maybe"], None),
    ("duplicate-self", ["duplicate", "bi-1", "--of", "bi-1"], None),
    ("relate-missing", ["relate", "bi-1", "bi-404"], None),
    ("init-prefix-space", ["init", "--prefix", "a b"], _fresh),
    ("init-prefix-slash", ["init", "--prefix", "a/b"], _fresh),
    ("init-prefix-escape", ["init", "--prefix", "a\x1bb"], _fresh),
    ("init-prefix-utf8", ["init", "--prefix", BAD_UTF8], _fresh),
    ("config-get-unknown-yaml", ["config", "get"], None),
    ("delete-missing", ["delete", "bi-404", "--force"], None),
    ("init-prefix-empty", ["init", "--prefix", "-"], _fresh),
    ("init-prefix-dots-only", ["init", "--prefix", ".."], _fresh),
    ("create-deps-long-type", ["create", "ok", "--deps", "t" * 51 + ":bi-1"], None),
    ("dep-add-long-type", ["dep", "add", "bi-3", "bi-1", "-t", "t" * 51], None),
    ("config-set-key-newline", ["config", "set", "sync.a\nb", "v"], None),
    ("config-set-key-space", ["config", "set", "a b", "v"], None),
    ("config-set-key-empty", ["config", "set", "", "v"], None),
    ("config-get-key-escape", ["config", "get", "a\x1b[2Jb"], None),
    ("config-unset-key-colon", ["config", "unset", "a: b"], None),
    # flags
    ("unknown-flag", ["list", "--frobnicate"], None),
    ("unknown-short-flag", ["create", "ok", "-Z"], None),
    ("missing-value", ["create", "ok", "-p"], None),
    ("missing-value-limit", ["list", "--limit"], None),
    ("unknown-command", ["frobnicate"], None),
    ("unknown-subcommand", ["dep", "frobnicate"], None),
    ("db-is-dir", ["list", "--db", "files/dir"], None),
    ("db-binary", ["list", "--db", "files/binary.dat"], None),
    # workspace files that are not what they should be
    ("config-yaml-binary", ["list"], _write(".beads/config.yaml", b"\xff\xfe\x00\x01binary")),
    ("config-yaml-list", ["list"], _write(".beads/config.yaml", b"- a\n- b\n")),
    ("config-yaml-scalar", ["list"], _write(".beads/config.yaml", b"just a string\n")),
    ("config-yaml-broken", ["list"], _write(".beads/config.yaml", b"key: [unclosed\n")),
    ("config-yaml-dir", ["list"], _dir(".beads/config.yaml")),
    ("config-yaml-fifo", ["list"], _fifo(".beads/config.yaml")),
    ("config-yaml-fifo-create", ["create", "ok"], _fifo(".beads/config.yaml")),
    ("jsonl-dir", ["create", "ok"], _dir(".beads/issues.jsonl")),
    ("jsonl-fifo", ["create", "ok"], _fifo(".beads/issues.jsonl")),
    ("jsonl-fifo-list", ["list"], _fifo(".beads/issues.jsonl")),
]


# Text mode runs every case; --json runs every fifth (the JSON error path is shared by all).
PARAMS = [pytest.param(args, setup, False, id=f"text-{cid}") for cid, args, setup in CASES]
PARAMS += [pytest.param(args, setup, True, id=f"json-{cid}") for cid, args, setup in CASES[::5]]


@pytest.mark.parametrize(("args", "setup", "json_mode"), PARAMS)
def test_bad_input_is_one_clear_line_and_changes_nothing(prepared: Path, tmp_path: Path, args: list[Arg],
                                                          setup: Setup, json_mode: bool) -> None:
    if setup is None:  # runs in the shared workspace: any change it made fails this case
        root, cwd = prepared.parent, prepared
    else:  # a private copy for the cases that spoil the workspace first
        root = tmp_path
        shutil.copytree(prepared, root / "ws", symlinks=True)
        (root / "home").mkdir()
        cwd = root / "ws" / (setup(root / "ws") or "")
    before = _snapshot(root)
    proc = _run(cwd, [*args, "--json"] if json_mode else args, env=_env(root / "home"))
    stderr = proc.stderr.decode("utf-8", "replace")
    stdout = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 1, (proc.returncode, stdout, stderr)
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), stderr
    assert len(lines) == 1 or (len(lines) == 2 and GUIDANCE.match(lines[1])), stderr
    assert not INTERNALS.search(stderr + stdout), stderr + stdout
    assert not any(ch in stderr for ch in "\x1b\x07\x00"), stderr
    if json_mode and stdout:
        assert list(json.loads(stdout)) == ["error"], stdout
    else:
        assert stdout == "", stdout
    assert _snapshot(root) == before


def test_the_table_has_at_least_a_hundred_distinct_cases() -> None:
    assert len({cid for cid, _, _ in CASES}) == len(CASES) >= 100


# -- terminal escape sequences -------------------------------------------------------------------

NASTY = {
    "title": "T\x1b[31mred\x07 \x1b]0;owned\x07 \x9b2J \u202eevil",
    "description": "line one\n\x1b[2Jcleared\ttab",
    "assignee": "a\x1b[1m",
    "label": "l\x1bx",
    "comment": "c\x1b[5mblink\rover",
}
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def nasty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("escapes")
    (root / "home").mkdir()
    ws = root / "ws"
    ws.mkdir()
    _ok(ws, "init", "--prefix", "es", "-q", "--skip-hooks", "--skip-merge-driver")
    _ok(ws, "create", NASTY["title"], "--id", "es-1", "-d", NASTY["description"], "-a", NASTY["assignee"],
        "-l", NASTY["label"])
    _ok(ws, "comments", "add", "es-1", NASTY["comment"])
    return ws


@pytest.mark.parametrize("command", [["show", "es-1"], ["list"], ["ready"], ["search", "red"], ["comments", "es-1"],
                                     ["label", "list", "es-1"], ["label", "list-all"], ["count", "--by-label"],
                                     ["status"], ["stale", "--days", "0"], ["list", "--long"]],
                         ids=lambda c: "-".join(c))
def test_text_output_shows_control_characters_visibly(nasty: Path, command: list[str]) -> None:
    out = _ok(nasty, *command)
    assert not RAW_CONTROLS.search(out), out
    assert "\x1b" not in _run(nasty, command).stderr.decode()


def test_show_renders_each_control_character_as_a_backslash_escape(nasty: Path) -> None:
    out = _ok(nasty, "show", "es-1")
    assert "T\\x1b[31mred\\x07 \\x1b]0;owned\\x07 \\x9b2J \\u202eevil" in out
    assert "line one\n\\x1b[2Jcleared\ttab" in out  # newlines and tabs are kept
    assert "a\\x1b[1m" in out and "l\\x1bx" in out and "c\\x1b[5mblink" in out


def test_json_output_keeps_the_exact_strings(nasty: Path) -> None:
    issue = json.loads(_ok(nasty, "show", "es-1", "--json"))[0]
    assert issue["title"] == NASTY["title"]
    assert issue["description"] == NASTY["description"]
    assert issue["assignee"] == NASTY["assignee"]
    assert issue["labels"] == [NASTY["label"]]
    comments = json.loads(_ok(nasty, "comments", "es-1", "--json"))
    assert [c["text"] for c in comments] == [NASTY["comment"]]
    raw = _run(nasty, ["show", "es-1", "--json"]).stdout
    assert b"\x1b" not in raw and b"\\u001b" in raw  # JSON escapes, never raw bytes


def test_an_error_echoing_user_input_shows_it_visibly(nasty: Path) -> None:
    proc = _run(nasty, ["show", "es-\x1b[2J"])
    assert proc.returncode == 1
    assert proc.stderr.decode() == 'Error: no issue found matching "es-\\x1b[2J"\n'


# -- file modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "expected"), [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_new_files_honour_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    (tmp_path / "home").mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    for args in (["init", "--prefix", "um", "-q", "--skip-hooks", "--skip-merge-driver"], ["create", "x", "-d", "y"],
                 ["config", "set", "sync.branch", "beads"]):
        assert _run(ws, args, umask=umask).returncode == 0
    beads = ws / ".beads"
    for name in ("issues.jsonl", "config.yaml", "metadata.json", ".gitignore", "interactions.jsonl"):
        assert stat.S_IMODE((beads / name).stat().st_mode) == expected, name
    assert stat.S_IMODE((beads / "beads.db").stat().st_mode) & ~expected == 0  # sqlite: 0644 & ~umask
    assert not list(beads.glob("*.tmp.*"))


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_a_rewrite_keeps_the_existing_mode(tmp_path: Path, mode: int) -> None:
    (tmp_path / "home").mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    _ok(ws, "init", "--prefix", "md", "-q", "--skip-hooks", "--skip-merge-driver")
    _ok(ws, "create", "first", "-d", "x")
    beads = ws / ".beads"
    jsonl, config = beads / "issues.jsonl", beads / "config.yaml"
    jsonl.chmod(mode)
    config.chmod(mode)
    before = (jsonl.read_bytes(), config.read_bytes())
    _ok(ws, "create", "second", "-d", "y")  # flushes the JSONL
    _ok(ws, "close", json.loads(_ok(ws, "list", "--json"))[0]["id"])
    _ok(ws, "config", "set", "sync.branch", "beads")  # rewrites config.yaml
    _ok(ws, "sync", "--flush-only")
    assert (jsonl.read_bytes(), config.read_bytes()) != before  # both really were rewritten
    assert stat.S_IMODE(jsonl.stat().st_mode) == mode
    assert stat.S_IMODE(config.stat().st_mode) == mode


# -- FIFOs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "args"), [
    ("files/fifo", ["create", "x", "--body-file", "files/fifo"]),
    ("files/fifo", ["update", "bi-1", "--description-file", "files/fifo"]),
    ("files/fifo", ["comments", "add", "bi-1", "-f", "files/fifo"]),
    ("files/fifo", ["import", "-i", "files/fifo"]),
    (".beads/issues.jsonl", ["list"]),
    (".beads/issues.jsonl", ["create", "x", "-d", "y"]),
    (".beads/config.yaml", ["ready"]),
], ids=lambda v: v if isinstance(v, str) else "-".join(v[:2]))
def test_a_fifo_where_a_file_belongs_is_refused_without_waiting(prepared: Path, tmp_path: Path, where: str,
                                                                 args: list[str]) -> None:
    shutil.copytree(prepared, tmp_path / "ws", symlinks=True)
    (tmp_path / "home").mkdir()
    _fifo(where)(tmp_path / "ws")  # nobody ever writes to it: opening it for reading would block forever
    proc = _run(tmp_path / "ws", args, stdin=None, env=_env(tmp_path / "home"))  # TIMEOUT_S bounds a hang
    assert proc.returncode == 1
    assert b"FIFO" in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("name", ["metadata.json", "redirect", "interactions.jsonl"])
def test_a_fifo_among_the_optional_workspace_files_is_ignored(prepared: Path, tmp_path: Path, name: str) -> None:
    shutil.copytree(prepared, tmp_path / "ws", symlinks=True)
    (tmp_path / "home").mkdir()
    _fifo(f".beads/{name}")(tmp_path / "ws")
    proc = _run(tmp_path / "ws", ["list"], env=_env(tmp_path / "home"))
    assert proc.returncode == 0 and b"bi-1" in proc.stdout, proc


@pytest.mark.parametrize("var", ["BD_ACTOR", "USER"])
def test_an_undecodable_actor_name_from_the_environment_is_refused(prepared: Path, var: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BD_", "BEADS_"))}
    env.update(HOME=str(prepared.parent / "home"), USER="tester")
    env_bytes = {k.encode(): v.encode("utf-8", "surrogateescape") for k, v in env.items()}
    env_bytes[var.encode()] = b"r\xf6bot"
    before = _snapshot(prepared.parent)
    proc = subprocess.run([BD, "comments", "add", "bi-1", "hello"], cwd=prepared, capture_output=True,
                          timeout=TIMEOUT_S, env=env_bytes)
    assert proc.returncode == 1
    assert proc.stderr == b'Error: the actor name "r\\xf6bot" is not valid UTF-8 (set --actor or BD_ACTOR)\n'
    assert _snapshot(prepared.parent) == before


def test_an_undecodable_path_in_a_json_error_is_escaped_not_a_crash(prepared: Path) -> None:
    env = dict(_env(prepared.parent / "home"), PYTHONIOENCODING="utf-8")  # strict, as under most locales
    proc = _run(prepared, ["create", "x", "--body-file", b"nope-\xff.txt", "--json"], env=env)
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {"error": "cannot read nope-\\xff.txt: No such file or directory"}
    assert proc.stderr == b"Error: cannot read nope-\\xff.txt: No such file or directory\n"
