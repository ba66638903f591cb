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

README = """# Beads: issue tracking for this project

This directory holds the project's issues for `bd` (beads), a dependency-aware issue
tracker built for AI coding agents and the people working with them.

- `issues.jsonl`: the issues, one JSON object per line. It is tracked in git: commit it with
  your code, and merges bring other people's issues in.
- `config.yaml`, `metadata.json`: settings (tracked).
- `*.db`: a local SQLite cache built from the JSONL (ignored by git).

Everyday commands:

```
bd ready                     # work with no open blockers
bd create "Title" -p 1       # new issue (priority 0-4)
bd update <id> --claim       # take it: assignee = you, status in_progress
bd close <id> --reason "…"   # done
bd dep add <id> <blocker>    # <id> waits for <blocker>
bd sync                      # export, commit, pull, push
```

Add `--json` for machine-readable output. `bd help` lists every command.
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


def is_initialized(db_path: str) -> bool:
    """Whether ``db_path`` is a database ``bd init`` already set up (it has an issue prefix)."""
    if not os.path.isfile(db_path):
        return False
    store = SqliteStore(db_path, readonly=True, create=False)
    try:
        return bool(store.get_config("issue_prefix"))
    finally:
        store.close()


def init_external_db(db_path: str, prefix: str, project_dir: str) -> Workspace:
    """``bd init`` with ``--db``/``BEADS_DB`` naming a database outside ``./.beads``: only the database
    is created there (as the original does); the workspace is the database's directory."""
    db_path = os.path.abspath(db_path)
    prefix = validate_prefix(prefix)
    os.makedirs(os.path.dirname(db_path), exist_ok=True)
    workspace = Workspace(os.path.dirname(db_path), db_path)
    _init_database(workspace.db_path, prefix, os.path.abspath(project_dir))
    return workspace


def init_no_db(project_dir: str, prefix: str | None = None) -> Workspace:
    """``bd init --no-db``: ``.beads/`` with an empty JSONL and ``no-db: true``, and no database."""
    project_dir = os.path.abspath(project_dir)
    prefix = validate_prefix(prefix or default_prefix(project_dir))
    beads_dir = _write_files(project_dir)
    from beads.core.config import load_yaml, set_yaml_value

    config_yaml = os.path.join(beads_dir, "config.yaml")
    if str(load_yaml(config_yaml).get("no-db", "")).lower() != "true":
        set_yaml_value(config_yaml, "no-db", "true")
    if not load_yaml(config_yaml).get("issue-prefix"):
        set_yaml_value(config_yaml, "issue-prefix", prefix)
    jsonl = os.path.join(beads_dir, DEFAULT_JSONL)
    if not os.path.exists(jsonl):
        atomic_write(jsonl, "", 0o644)
    return Workspace(beads_dir)


def _write_files(project_dir: str) -> str:
    beads_dir = os.path.join(project_dir, BEADS_DIRNAME)
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
    readme = os.path.join(beads_dir, "README.md")
    if not os.path.exists(readme):
        atomic_write(readme, README)
    return beads_dir


def init_workspace(project_dir: str, prefix: str | None = None) -> Workspace:
    """Create (or complete) ``<project_dir>/.beads`` and its database; idempotent."""
    project_dir = os.path.abspath(project_dir)
    prefix = validate_prefix(prefix or default_prefix(project_dir))  # before anything is created
    workspace = Workspace(_write_files(project_dir))
    _init_database(workspace.db_path, prefix, project_dir)
    return workspace


def _init_database(db_path: str, prefix: str, project_dir: str) -> None:
    store = SqliteStore(db_path)
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
