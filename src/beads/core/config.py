"""Project configuration from ``config.yaml`` and ``BD_*`` environment variables (spec §8.9).

The YAML parser is imported only when the file holds a setting: the file ``bd init``
writes is all comments, and reading it must not cost a PyYAML import on every run.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# keys stored in config.yaml rather than in the database's config table
YAML_ONLY_KEYS = frozenset((
    "no-db", "no-daemon", "no-auto-flush", "no-auto-import", "json", "auto-start-daemon", "db", "actor",
    "identity", "flush-debounce", "lock-timeout", "remote-sync-interval", "git.author", "git.no-gpg-sign",
    "no-push", "no-git-ops", "sync-branch", "sync.branch", "sync.remote", "routing.mode", "routing.default",
    "routing.maintainer", "routing.contributor", "create.require-description", "directory.labels",
    "external_projects", "issue-prefix", "tombstone.ttl_days",
))


def is_yaml_key(key: str) -> bool:
    return key in YAML_ONLY_KEYS or key.startswith(("sync.", "routing.", "repos.", "git.", "daemon."))


def load_yaml(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return {}
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        return {}
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from beads.errors import InvalidInput

        raise InvalidInput(f"cannot parse {path}: {exc}")
    return _flatten(data) if isinstance(data, dict) else {}


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in ("directory.labels", "external_projects"):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def env_value(key: str) -> str | None:
    """``BD_<KEY>`` with '-' and '.' turned into '_' (spec §6.1)."""
    return os.environ.get("BD_" + key.upper().replace("-", "_").replace(".", "_"))


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def set_yaml_value(path: str, key: str, value: str | None) -> None:
    """Set (or with None remove) a top-level ``key: value`` line, keeping comments intact."""
    from beads.core.setup import atomic_write

    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    import json

    rendered = None if value is None else f"{key}: {json.dumps(value) if _needs_quotes(value) else value}"
    out: list[str] = []
    done = False
    for line in lines:
        stripped = line.split("#", 1)[0].rstrip()
        if not line.startswith((" ", "\t", "#")) and stripped.partition(":")[0].strip() == key:
            if rendered is not None and not done:
                out.append(rendered)
            done = True
            continue
        out.append(line)
    if rendered is not None and not done:
        out.append(rendered)
    atomic_write(path, "\n".join(out) + "\n")


def _needs_quotes(value: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "false", "yes", "no", "on", "off", "null", "~", ""):
        return low == ""
    return any(c in value for c in ":#{}[],&*!|>'\"%@`") or value != value.strip()
