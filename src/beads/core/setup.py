"""Creating a workspace: the ``.beads/`` directory and its files (spec §1, §7.10).

Every file is written through a temp file and a rename, so an interrupted
``bd init`` never leaves a half-written ``metadata.json`` or ``.gitignore``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid

from beads import __version__
from beads.core.workspace import BEADS_DIRNAME, DEFAULT_DB, DEFAULT_JSONL, Workspace
from beads.errors import InvalidInput
from beads.fileio import write_atomic
from beads.storage.sqlite.store import SqliteStore

GITIGNORE = """# SQLite databases
*.db
*.db?*
*.db-journal
*.db-wal
*.db-shm

# Daemon runtime files
daemon.lock
jsonl.lock
daemon.log
daemon.pid
bd.sock
sync-state.json
last-touched

# Local version tracking (prevents upgrade notification spam after git ops)
.local_version

# Legacy database files
db.sqlite
bd.db

# Merge artifacts (temporary files from 3-way merge)
beads.base.jsonl
beads.base.meta.json
beads.left.jsonl
beads.left.meta.json
beads.right.jsonl
beads.right.meta.json

# Keep JSONL exports and config (source of truth for git)
!issues.jsonl
!interactions.jsonl
!metadata.json
!config.json
"""

CONFIG_YAML = """# Beads Configuration File
# This file configures default behavior for all bd commands in this repository
# All settings can also be set via environment variables (BD_* prefix)
# or overridden with command-line flags

# Issue prefix for this repository (used by bd init)
# If not set, bd init will auto-detect from directory name
# Example: issue-prefix: "myproject" creates issues like "myproject-1", "myproject-2", etc.
# issue-prefix: ""

# Use no-db mode: load from JSONL, no SQLite, write back after each command
# no-db: false

# Disable daemon for RPC communication (forces direct database access)
# no-daemon: false

# Disable auto-flush of database to JSONL after mutations
# no-auto-flush: false

# Disable auto-import from JSONL when it's newer than database
# no-auto-import: false

# Enable JSON output by default
# json: false

# Default actor for audit trails (overridden by BD_ACTOR or --actor)
# actor: ""

# Debounce interval for auto-flush (can also use BEADS_FLUSH_DEBOUNCE)
# flush-debounce: "5s"
"""

_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def atomic_write(path: str, text: str, mode: int = 0o666) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory and a rename."""
    write_atomic(path, text, mode)


def default_prefix(project_dir: str) -> str:
    name = os.path.basename(os.path.abspath(project_dir)) or "bd"
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_").lower()
    return name or "bd"


def validate_prefix(prefix: str) -> str:
    prefix = prefix.strip().rstrip("-")
    if not prefix or not _PREFIX_RE.match(prefix):
        raise InvalidInput(f"invalid prefix {prefix!r}: use letters, digits, '-', '_' or '.'")
    return prefix


def init_workspace(project_dir: str, prefix: str | None = None) -> Workspace:
    """Create (or complete) ``<project_dir>/.beads`` and its database; idempotent."""
    project_dir = os.path.abspath(project_dir)
    beads_dir = os.path.join(project_dir, BEADS_DIRNAME)
    prefix = validate_prefix(prefix or default_prefix(project_dir))  # before anything is created
    os.makedirs(beads_dir, exist_ok=True)
    gitignore = os.path.join(beads_dir, ".gitignore")
    if not os.path.exists(gitignore):
        atomic_write(gitignore, GITIGNORE)
    metadata_path = os.path.join(beads_dir, "metadata.json")
    if not os.path.exists(metadata_path):
        atomic_write(metadata_path, json.dumps({"database": DEFAULT_DB, "jsonl_export": DEFAULT_JSONL},
                                               indent=2) + "\n")
    config_yaml = os.path.join(beads_dir, "config.yaml")
    if not os.path.exists(config_yaml):
        atomic_write(config_yaml, CONFIG_YAML)
    interactions = os.path.join(beads_dir, "interactions.jsonl")
    if not os.path.exists(interactions):
        atomic_write(interactions, "")
    workspace = Workspace(beads_dir)
    store = SqliteStore(workspace.db_path)
    try:
        with store.transaction():
            if not store.get_config("issue_prefix"):
                store.set_config("issue_prefix", prefix)
            store.set_metadata("bd_version", __version__)
            if not store.get_metadata("repo_id"):
                store.set_metadata("repo_id", hashlib.sha256(project_dir.encode()).hexdigest()[:16])
            if not store.get_metadata("clone_id"):
                store.set_metadata("clone_id", uuid.uuid4().hex[:16])
    finally:
        store.close()
    return workspace
