"""Helpers shared by the git-side tests (real git, the installed `bd`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BD = shutil.which("bd", path=os.path.dirname(sys.executable)) or "bd"
BD_DIR = os.path.dirname(os.path.abspath(BD))


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return proc


def run_bd(*args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    if env:
        full.update(env)
    return subprocess.run([BD, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full)


def bd_ok(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = run_bd(*args, cwd=cwd, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"bd {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def bd_json(*args: str, cwd: Path) -> object:
    return json.loads(bd_ok(*args, "--json", cwd=cwd).stdout)


def jsonl_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, records: list[dict] | str) -> Path:
    text = records if isinstance(records, str) else "".join(json.dumps(r) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")
    return path
