"""A representative part of the CLI end-to-end suite, run again with every command going through a daemon.

``BD_TEST_DAEMON=1`` makes the ``bd`` fixture start a daemon on each test's workspace
(and stop it after), so the same assertions hold through the daemon. The whole
end-to-end suite runs that way too (``BD_TEST_DAEMON=1 pytest tests/e2e``) except
``test_readonly_filesystem.py``, whose read-only mount lives in the client's own mount
namespace and which reads ``issues.jsonl`` right after a write (the daemon exports after
the reply).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PART = ["tests/e2e/test_views.py", "tests/e2e/test_deps.py", "tests/e2e/test_labels_comments.py"]


def test_views_deps_labels_and_comments_pass_through_the_daemon(tmp_path: Path) -> None:
    env = dict(os.environ, BD_TEST_DAEMON="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "--basetemp", str(tmp_path / "inner"), *PART], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout
