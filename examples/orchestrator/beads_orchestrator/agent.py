"""Running the agent command once: issue JSON in, exit status and JSON lines out.

The protocol, on the command's stdout (any other line is free text):

* ``{"type": "summary", "text": "..."}``: the summary closing the issue (default: the last
  free-text line);
* ``{"type": "discovered", "title": "...", ...}``: new work found on the way (any field of
  ``Tracker.create``: ``description``, ``priority``, ``issue_type``, ``labels``);
* ``{"type": "artifact", "path": "...", "metadata": {...}}``: a file the attempt produced;
* ``{"type": "blocker", "signature": "..."}``: on failure, what blocks it (default: the
  exit status and the last line of stderr, with numbers and hex normalised away).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Any

# Variables an agent needs to run at all; everything else must be asked for (--pass-env).
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
OUTPUT_LIMIT = 64_000


@dataclass
class AgentResult:
    exit_code: int | None
    timed_out: bool
    stdout: str
    stderr: str
    summary: str = ""
    discovered: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    signature: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def output(self) -> str:
        text = self.stdout + (("\n--- stderr ---\n" + self.stderr) if self.stderr else "")
        return text[-OUTPUT_LIMIT:]


def clean_env(extra: dict[str, str], pass_env: list[str]) -> dict[str, str]:
    env = {name: os.environ[name] for name in (*BASE_ENV, *pass_env) if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(extra)
    return env


def run_agent(cmd: str, payload: dict[str, Any], *, cwd: str, timeout: float, env: dict[str, str]) -> AgentResult:
    try:
        proc = subprocess.run(shlex.split(cmd), input=json.dumps(payload), capture_output=True, text=True,
                              cwd=cwd, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        result = AgentResult(None, True, _text(err.stdout), _text(err.stderr))
        parse_output(result)
        result.signature = f"timeout after {timeout:g}s"
        return result
    except OSError as err:
        return AgentResult(127, False, "", str(err), signature=f"exit 127: {normalise(str(err))}")
    result = AgentResult(proc.returncode, False, proc.stdout, proc.stderr)
    parse_output(result)
    return result


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def parse_output(result: AgentResult) -> None:
    free: list[str] = []
    for line in result.stdout.splitlines():
        message = _json_line(line)
        kind = message.get("type") if message else None
        if kind == "summary":
            result.summary = str(message.get("text", ""))
        elif kind == "discovered":
            result.discovered.append({k: v for k, v in message.items() if k != "type"})
        elif kind == "artifact":
            result.artifacts.append({"path": str(message.get("path", "")), "metadata": message.get("metadata") or {}})
        elif kind == "blocker":
            result.signature = str(message.get("signature", ""))[:200] or None
        elif line.strip():
            free.append(line.strip())
    if not result.summary:
        result.summary = free[-1] if free else ("Done" if result.ok else "")
    if not result.ok and result.signature is None:
        last = [line for line in result.stderr.splitlines() if line.strip()] or free or [""]
        result.signature = f"exit {result.exit_code}: {normalise(last[-1])}"


def _json_line(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def normalise(text: str) -> str:
    """The stable part of an error line: numbers, hex and paths' variable parts masked."""
    text = re.sub(r"0x[0-9a-fA-F]+|\b[0-9a-f]{7,}\b", "<hex>", text)
    text = re.sub(r"\d+", "<n>", text)
    return " ".join(text.split())[:160]
