"""The whole CLI end-to-end suite, run again with every command going through a daemon.

``BD_TEST_DAEMON=1`` makes the ``bd`` fixture start a daemon on each test's workspace
(and stop it after), so the same assertions hold through the daemon. The tests of
``test_readonly_filesystem.py`` are direct mode's behaviour (a read-only mount exists
only in the client's own mount namespace): they stop that daemon and force direct mode.
``test_doctor.py`` stops it too (its tests seed daemon files and locks). About 4.5 minutes on 2
shared cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SUITE = ["tests/e2e"]


def test_the_end_to_end_suite_passes_through_the_daemon() -> None:
    env = dict(os.environ, BD_TEST_DAEMON="1")
    # a short base directory: some tests bind unix sockets of their own under it (108-byte limit)
    base = tempfile.mkdtemp(prefix="bd-e2e-")
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                               "--basetemp", os.path.join(base, "t"), *SUITE], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=1800)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout
