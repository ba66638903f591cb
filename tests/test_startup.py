"""Start-up stays light (style.md "Start-up budget", lessons D): hot commands import no heavy module.

The check is deterministic: Python's own import profiler (``-X importtime``) lists every
module a real ``bd`` run imported; timings are left to ``bench/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BD = shutil.which("bd", path=str(Path(sys.executable).parent)) or "bd"
PYTHON = str(Path(BD).resolve().parent / "python") if os.path.isabs(BD) else sys.executable

HEAVY = ("asyncio", "click", "rich", "pydantic", "importlib.metadata", "mcp", "typing", "dataclasses", "yaml",
         "watchfiles")


def imported_modules(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines: ``import time: self | cumulative | <indent>name``."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def run_profiled(cmd: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    return proc, imported_modules(proc.stderr)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace with a few issues, labels and a blocking edge, made with the real ``bd``."""
    root = tmp_path_factory.mktemp("startup")
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HOME=str(home), BD_ACTOR="tester")
    env.pop("BEADS_DIR", None)
    env.pop("BEADS_DB", None)

    def bd(*args: str) -> str:
        proc = subprocess.run([BD, *args], cwd=root, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    subprocess.run(["git", "init", "-q"], cwd=root, check=True, timeout=60)
    bd("init", "--prefix", "st", "--quiet")
    first = bd("q", "First issue", "-l", "alpha")
    second = bd("q", "Second issue", "-p", "1")
    bd("dep", "add", second, first)
    return root, first


@pytest.mark.parametrize("args", [("list", "--json"), ("ready", "--json"), ("blocked", "--json"),
                                  ("status", "--json"), ("show", "{id}", "--json"), ("list",), ("ready",),
                                  ("prime",)])
def test_a_read_command_imports_no_heavy_module(workspace: tuple[Path, str], args: tuple[str, ...]) -> None:
    root, first = workspace
    argv = [a.format(id=first) for a in args]
    proc, modules = run_profiled([BD, *argv], root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sqlite3" in modules and "beads.cli.main" in modules, "the profiler output was not parsed"
    assert heavy_in(modules) == []
    if "--json" in argv:
        json.loads(proc.stdout)


@pytest.mark.parametrize("args", [("create", "Third issue", "-l", "beta", "--json"),
                                  ("update", "{id}", "--priority", "0", "--json"),
                                  ("close", "{id}", "--json")])
def test_a_write_command_imports_no_heavy_module(workspace: tuple[Path, str], args: tuple[str, ...]) -> None:
    root, first = workspace
    proc, modules = run_profiled([BD, *[a.format(id=first) for a in args]], root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert heavy_in(modules) == []


def test_the_cli_module_runs_with_python_dash_m_and_stays_light(workspace: tuple[Path, str]) -> None:
    root, _ = workspace
    proc = subprocess.run([PYTHON, "-X", "importtime", "-m", "beads.cli.main", "ready", "--json"], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert isinstance(json.loads(proc.stdout), list)
    assert heavy_in(imported_modules(proc.stderr)) == []


def test_the_import_list_parser_reads_importtime_output() -> None:
    sample = ("import time: self [us] | cumulative | imported package\n"
              "import time:       150 |        150 |   _typing\n"
              "import time:      2478 |       2630 | typing\n")
    assert imported_modules(sample) == {"_typing", "typing"}
    assert heavy_in({"typing", "asyncio.events", "json", "mcpx"}) == ["asyncio.events", "typing"]
