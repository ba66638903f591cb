"""docs/CLI.md is generated from the argparse definitions and must match them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_matches_the_argparse_definitions() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_command_in_the_table_is_documented() -> None:
    from beads.cli.commands import COMMANDS

    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"### `bd {name}`" in text, name
