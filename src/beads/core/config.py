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
    """The settings in ``config.yaml`` ({} when absent); ``InvalidInput`` in one line when unusable."""
    from beads.errors import InvalidInput

    text = read_yaml_text(path)
    if text is None:
        return {}
    simple = parse_flat_yaml(text)
    if simple is not None:
        return simple
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InvalidInput(f"cannot parse {path}: {problem}{where}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else "a single value"
        raise InvalidInput(f"cannot use {path}: it must hold 'key: value' settings, not {what}")
    return _flatten(data)


def read_yaml_text(path: str) -> str | None:
    """``config.yaml``'s text, None when absent; a directory, FIFO or binary file is an error."""
    from beads.errors import InvalidInput
    from beads.fileio import open_regular

    try:
        with open_regular(path) as fh:
            data = fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"cannot read {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                           f"{exc.start})") from None


_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def parse_flat_yaml(text: str) -> dict[str, Any] | None:
    """Parse a file of top-level ``key: scalar`` lines the way PyYAML would, or return None.

    Every ``bd`` run reads config.yaml, and PyYAML costs milliseconds to import; the files
    ``bd init`` and ``bd config set`` write are flat, so only anything richer (nesting,
    lists, anchors, escapes, multi-line values) falls back to PyYAML.
    """
    out: dict[str, Any] = {}
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[0] in " \t-" or stripped in ("---", "..."):
            return None
        key, sep, rest = raw.partition(":")
        key = key.strip()
        if not sep or not key or key[0] in "\"'?&*!|>%@`{[" or (rest and rest[0] not in " \t"):
            return None
        value = rest.strip()
        if not value or value[0] in "[{&*!|>%@`":
            return None
        if value[0] in "\"'":
            end = value.find(value[0], 1)
            tail = value[end + 1:].strip() if end != -1 else ""
            inner = value[1:end] if end != -1 else ""
            if end == -1 or (tail and not tail.startswith("#")) or "\\" in inner or value[0] in inner:
                return None
            out[key] = inner
            continue
        value = value.split(" #", 1)[0].rstrip()
        if ": " in value or value.endswith(":"):
            return None
        low = value.lower()
        if low in _BOOLS:
            out[key] = _BOOLS[low]
        elif low in ("null", "~"):
            out[key] = None
        elif value.lstrip("+-").isdigit() and not (value.lstrip("+-").startswith("0") and len(value.lstrip("+-")) > 1):
            out[key] = int(value)
        elif value[0].isdigit() or value[0] in "+-.":
            return None  # floats, hex, octal, dates, times…: let PyYAML decide
        else:
            out[key] = value
    return out


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in ("directory.labels", "external_projects"):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def validate_key(key: str) -> str:
    """A config key: letters, digits and ``. _ - /`` (it becomes a YAML key or a table row)."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_./-]*", key):
        from beads.errors import InvalidInput

        raise InvalidInput(f"invalid config key {key!r}: use letters, digits, '.', '_', '-' or '/'")
    return key


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

    lines = (read_yaml_text(path) or "").splitlines()
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
    return any(c in value for c in ":#{}[],&*!|>'\"%@`") or value != value.strip() or not value.isprintable()
