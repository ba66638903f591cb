"""``bd setup <recipe>``: the files that wire bd into AI editors and agents.

Every recipe installs idempotently (a second run changes nothing), never clobbers what the
user wrote (settings files are merged key by key; instruction files we own carry a marker,
and a file without it is left alone; sections we add to shared files sit between markers),
and can ``check`` and ``remove`` what it added -- and only that.

* ``claude``: SessionStart and PreCompact hooks running ``bd prime`` in
  ``~/.claude/settings.json`` (``--project``: ``.claude/settings.local.json``);
* ``gemini``: SessionStart and PreCompress hooks in ``~/.gemini/settings.json`` (``--project``:
  ``.gemini/settings.json``);
* ``cursor``: ``.cursor/rules/beads.mdc``;
* ``aider``: ``.aider/BEADS.md`` and a ``read:`` entry in ``.aider.conf.yml``;
* ``codex``, ``factory``: a marked section in the project's ``AGENTS.md``.
"""

from __future__ import annotations

import json
import os

from beads.cli import agent_docs as docs
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RECIPES = ("claude", "cursor", "aider", "gemini", "codex", "factory")
_HOOK_EVENTS = {"claude": ("SessionStart", "PreCompact"), "gemini": ("SessionStart", "PreCompress")}
_SETTINGS_DIR = {"claude": ".claude", "gemini": ".gemini"}


class Result:
    """What a recipe did: lines for people, and the JSON fields."""

    def __init__(self, recipe: str, action: str) -> None:
        self.recipe, self.action = recipe, action
        self.lines: list[str] = []
        self.paths: list[str] = []
        self.changed = False
        self.installed = False

    def to_json(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "action": self.action, "installed": self.installed, "changed": self.changed,
                "paths": self.paths}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _write(path: str, text: str) -> None:
    from beads.core.setup import atomic_write

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write(path, text)


# -- settings files with hooks (claude, gemini) ---------------------------------------------------


def settings_path(recipe: str, project: bool, home: str, cwd: str) -> str:
    base = cwd if project else home
    name = "settings.local.json" if (recipe == "claude" and project) else "settings.json"
    return os.path.join(base, _SETTINGS_DIR[recipe], name)


def _load_settings(path: str) -> dict[str, Any]:
    text = _read(path)
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{path} is not valid JSON ({exc}); not touching it",
                           hint="fix the file by hand, then run bd setup again")
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} does not hold a JSON object; not touching it")
    return data


def _is_ours(command: Any) -> bool:
    return isinstance(command, str) and (command == "bd prime" or command.startswith("bd prime "))


def _has_hook(entries: Any) -> bool:
    for entry in entries if isinstance(entries, list) else ():
        for hook in entry.get("hooks", ()) if isinstance(entry, dict) else ():
            if isinstance(hook, dict) and _is_ours(hook.get("command")):
                return True
    return False


def hooks_installed(path: str) -> bool:
    try:
        settings = _load_settings(path)
    except InvalidInput:
        return False
    hooks = settings.get("hooks")
    return isinstance(hooks, dict) and all(_has_hook(hooks.get(e)) for e in ("SessionStart",))


def install_hooks(recipe: str, path: str, stealth: bool, res: Result) -> None:
    settings = _load_settings(path)
    hooks = settings.get("hooks")
    if hooks is None:
        hooks = settings["hooks"] = {}
    if not isinstance(hooks, dict):
        raise InvalidInput(f"{path}: \"hooks\" is not an object; not touching it")
    command = "bd prime --stealth" if stealth else "bd prime"
    for event in _HOOK_EVENTS[recipe]:
        entries = hooks.get(event)
        if entries is None:
            entries = hooks[event] = []
        if not isinstance(entries, list):
            raise InvalidInput(f"{path}: hooks.{event} is not a list; not touching it")
        if _has_hook(entries):
            res.lines.append(f"✓ {event} hook already registered")
            continue
        entries.append({"matcher": "", "hooks": [{"type": "command", "command": command}]})
        res.lines.append(f"✓ Registered {event} hook: {command}")
        res.changed = True
    if res.changed:
        _write(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    res.paths.append(path)
    res.installed = True


def remove_hooks(recipe: str, path: str, res: Result) -> None:
    if _read(path) is None:
        res.lines.append(f"No settings file at {path}")
        return
    settings = _load_settings(path)
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        res.lines.append("No bd hooks installed")
        return
    for event in list(hooks):
        entries = hooks[event]
        if not isinstance(entries, list):
            continue
        kept = []
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("hooks"), list):
                inner = [h for h in entry["hooks"] if not (isinstance(h, dict) and _is_ours(h.get("command")))]
                if len(inner) != len(entry["hooks"]):
                    res.changed = True
                    res.lines.append(f"✓ Removed the {event} hook")
                    if not inner:
                        continue
                    entry = {**entry, "hooks": inner}
            kept.append(entry)
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
    if not hooks:
        del settings["hooks"]
    if res.changed:
        _write(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
        res.paths.append(path)
    else:
        res.lines.append("No bd hooks installed")


# -- files we own (cursor, aider) --------------------------------------------------------------------


def _install_owned(path: str, text: str, marker: str, res: Result) -> None:
    current = _read(path)
    if current is not None and marker not in current:
        raise InvalidInput(f"{path} exists and was not written by bd setup; not overwriting it",
                           hint="move it aside (or merge the bd section into it by hand), then run bd setup again")
    if current != text:
        _write(path, text)
        res.changed = True
        res.lines.append(f"✓ Wrote {path}")
    else:
        res.lines.append(f"✓ {path} is up to date")
    res.paths.append(path)


def _remove_owned(path: str, marker: str, res: Result) -> None:
    current = _read(path)
    if current is None:
        return
    if marker not in current:
        res.lines.append(f"{path} was not written by bd setup: left alone")
        return
    os.unlink(path)
    res.changed = True
    res.paths.append(path)
    res.lines.append(f"✓ Removed {path}")


# -- marked sections in shared files (AGENTS.md, .aider.conf.yml) -------------------------------------


def _set_section(path: str, begin: str, end: str, body: str, res: Result) -> None:
    current = _read(path) or ""
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    if begin in current and end in current:
        start = current.index(begin)
        stop = current.index(end, start) + len(end)
        if current[stop:stop + 1] == "\n":
            stop += 1
        updated = current[:start] + block + current[stop:]
    else:
        sep = "" if not current else ("\n" if current.endswith("\n") else "\n\n")
        updated = current + sep + block
    if updated != current:
        _write(path, updated)
        res.changed = True
        res.lines.append(f"✓ Updated the bd section of {path}")
    else:
        res.lines.append(f"✓ {path} already has the bd section")
    res.paths.append(path)


def _drop_section(path: str, begin: str, end: str, res: Result) -> None:
    current = _read(path)
    if current is None or begin not in current or end not in current:
        res.lines.append(f"No bd section in {path}")
        return
    start = current.index(begin)
    stop = current.index(end, start) + len(end)
    if current[stop:stop + 1] == "\n":
        stop += 1
    updated = (current[:start].rstrip("\n") + "\n" + current[stop:]).strip("\n")
    res.changed = True
    res.paths.append(path)
    if updated.strip():
        _write(path, updated + "\n")
        res.lines.append(f"✓ Removed the bd section from {path}")
    else:
        os.unlink(path)
        res.lines.append(f"✓ Removed {path} (it held only the bd section)")


def _has_section(path: str, begin: str) -> bool:
    text = _read(path)
    return text is not None and begin in text


# -- the recipes ----------------------------------------------------------------------------------


def run(recipe: str, action: str, *, project: bool, stealth: bool, home: str, cwd: str) -> Result:
    if recipe not in RECIPES:
        raise InvalidInput(f"unknown recipe {recipe!r} (one of: {', '.join(RECIPES)})")
    res = Result(recipe, action)
    if recipe in _HOOK_EVENTS:
        paths = [settings_path(recipe, p, home, cwd) for p in ((project,) if action != "check" else (False, True))]
        if action == "install":
            install_hooks(recipe, paths[0], stealth, res)
            res.lines.append(f"Restart {'Claude Code' if recipe == 'claude' else 'Gemini CLI'} for the hooks to "
                             "take effect.")
        elif action == "remove":
            remove_hooks(recipe, paths[0], res)
        else:
            found = [p for p in paths if hooks_installed(p)]
            res.installed = bool(found)
            res.paths = found
            res.lines = [f"✓ bd hooks installed: {p}" for p in found] or [
                f"✗ No bd hooks in {' or '.join(paths)}", f"  Run: bd setup {recipe}"]
        return res
    if recipe == "cursor":
        path = os.path.join(cwd, ".cursor", "rules", "beads.mdc")
        marker = "bd setup cursor: managed file"
        if action == "install":
            _install_owned(path, docs.CURSOR_RULES, marker, res)
            res.installed = True
        elif action == "remove":
            _remove_owned(path, marker, res)
        else:
            res.installed = marker in (_read(path) or "")
            res.paths = [path] if res.installed else []
            res.lines = [f"✓ Cursor rules installed: {path}" if res.installed else "✗ Cursor rules not installed"]
        return res
    if recipe == "aider":
        return _aider(action, cwd, res)
    path = os.path.join(cwd, "AGENTS.md")  # codex and factory (Droid) both read AGENTS.md
    if action == "install":
        _set_section(path, docs.AGENTS_BEGIN, docs.AGENTS_END, docs.RULES, res)
        res.installed = True
    elif action == "remove":
        _drop_section(path, docs.AGENTS_BEGIN, docs.AGENTS_END, res)
    else:
        res.installed = _has_section(path, docs.AGENTS_BEGIN)
        res.paths = [path] if res.installed else []
        res.lines = [f"✓ bd section present in {path}" if res.installed else f"✗ No bd section in {path}"]
    return res


def _aider(action: str, cwd: str, res: Result) -> Result:
    instructions = os.path.join(cwd, ".aider", "BEADS.md")
    conf = os.path.join(cwd, ".aider.conf.yml")
    marker = "bd setup aider: managed file"
    rel = ".aider/BEADS.md"
    if action == "install":
        _install_owned(instructions, docs.AIDER_INSTRUCTIONS, marker, res)
        text = _read(conf) or ""
        outside = text
        if docs.AIDER_CONF_BEGIN in text and docs.AIDER_CONF_END in text:
            start = text.index(docs.AIDER_CONF_BEGIN)
            outside = text[:start] + text[text.index(docs.AIDER_CONF_END, start):]
        if any(line.startswith("read:") for line in outside.splitlines()):
            if rel not in outside:
                res.lines.append(f"! {conf} already has a 'read:' list: add {rel} to it by hand")
            res.paths.append(conf)
        else:
            _set_section(conf, docs.AIDER_CONF_BEGIN, docs.AIDER_CONF_END, f"read:\n  - {rel}", res)
        res.installed = True
    elif action == "remove":
        _drop_section(conf, docs.AIDER_CONF_BEGIN, docs.AIDER_CONF_END, res)
        _remove_owned(instructions, marker, res)
    else:
        res.installed = marker in (_read(instructions) or "") and rel in (_read(conf) or "")
        res.paths = [instructions, conf] if res.installed else []
        res.lines = [f"✓ Aider integration installed: {conf}" if res.installed
                     else "✗ Aider integration not installed"]
    return res
