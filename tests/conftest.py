"""Shared fixtures: isolated HOME, temp git repos, and the real `bd` run as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
BD = shutil.which("bd", path=str(Path(sys.executable).parent)) or "bd"


def shared_data_file(name: str) -> Path:
    """A file from ../shared/data; skipped outside CI when absent, a failure in CI."""
    path = SHARED_DATA / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"shared data file missing in CI: {path}")
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USER", "tester")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Tester")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "tester@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Tester")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "tester@example.com")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("BEADS_DIR", "BEADS_DB", "BEADS_JSONL", "BD_ACTOR", "BD_JSON", "BD_DEBUG", "BD_NO_AUTO_FLUSH",
                "BD_NO_AUTO_IMPORT", "BEADS_ACTOR", "BD_AGENT_MODE", "CLAUDE_CODE"):
        monkeypatch.delenv(var, raising=False)
    return home


class BdResult:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self) -> object:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"BdResult(rc={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr!r})"


class Bd:
    """Runs the installed `bd` entry point in a directory."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, *args: str, input: str | None = None, check: bool = True, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> BdResult:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        proc = subprocess.run([BD, *args], cwd=cwd or self.cwd, input=input, capture_output=True, text=True,
                              env=full_env, timeout=120)
        result = BdResult(proc)
        # never a traceback, whatever the input (engineering standard: one clear line)
        assert "Traceback (most recent call last)" not in proc.stderr, result
        if check and proc.returncode != 0:
            raise AssertionError(f"bd {' '.join(args)} failed: {result!r}")
        return result

    def json(self, *args: str, **kw: object) -> object:
        return self(*args, "--json", **kw).json()  # type: ignore[arg-type]


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


@pytest.fixture
def bd(repo: Path) -> Iterator[Bd]:
    """`bd` in a git repo initialised with prefix `test`.

    With ``BD_TEST_DAEMON=1`` a daemon serves the workspace, so every command of the
    test goes through it (the CLI end-to-end tests run in both modes that way).
    """
    runner = Bd(repo)
    runner("init", "--prefix", "test", "--quiet")
    if os.environ.get("BD_TEST_DAEMON") == "1":
        runner("daemon", "start")
        try:
            yield runner
        finally:
            runner("daemon", "stop", check=False)
    else:
        yield runner


def daemon_processes(under: Path) -> list[tuple[int, str]]:
    """(pid, command line) of every `bd` daemon process serving a workspace below ``under``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or b"beads.daemon.process" not in argv:
            continue
        text = " ".join(a.decode(errors="replace") for a in argv if a)
        if str(under) in text:
            found.append((int(entry.name), text))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_daemon_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole session, no daemon started by a test may still run (lessons C)."""
    yield
    base = tmp_path_factory.getbasetemp()
    left = daemon_processes(base)
    for pid, _ in left:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert left == [], f"daemon processes left running after the tests: {left}"


@pytest.fixture
def tracker(tmp_path: Path):  # noqa: ANN201
    """A library Tracker on a real SQLite file with prefix `test`."""
    import beads

    t = beads.init(str(tmp_path / "lib"), prefix="test", actor="tester") if (tmp_path / "lib").mkdir() is None else None
    yield t
    t.disconnect()
