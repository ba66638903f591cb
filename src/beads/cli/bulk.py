"""``bd create -f FILE.md``: many issues from one markdown file, in one transaction.

Format (the original's ``cmd/bd/markdown.go``): each ``## Title`` starts an issue;
text before its first ``###`` section is the description; sections ``### Priority``,
``Type``, ``Description``, ``Design``, ``Acceptance Criteria`` (or ``Acceptance``),
``Notes``, ``Assignee``, ``Labels`` and ``Dependencies`` (or ``Deps``) set fields;
other sections are ignored. Labels and dependencies are separated by commas, spaces
or newlines; a dependency is ``type:id`` or a bare ID (``blocks``).

Unlike the original, which created issue by issue and skipped failures, the whole
file is applied atomically: if one issue cannot be created, none is.
"""

from __future__ import annotations

import os
import re

from beads.errors import BdError, InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.cli.context import Context

_H2 = re.compile(r"^##\s+(.+)$")
_H3 = re.compile(r"^###\s+(.+)$")
_SECTION_FIELDS = {
    "description": "description",
    "design": "design",
    "acceptance criteria": "acceptance_criteria",
    "acceptance": "acceptance_criteria",
    "notes": "notes",
}


def create_from_markdown(ctx: Context, path: str) -> int:
    text = _read_markdown(path)
    specs = parse_markdown(text, ctx.tracker().custom_types(), warn=ctx.warn)
    if not specs:
        raise InvalidInput(f"no issues found in {path} (expected '## Issue Title' headings)")
    if getattr(ctx.args, "dry_run", False):
        if ctx.json:
            ctx.emit(specs)
        else:
            ctx.out(f"Would create {len(specs)} issues from {path}:")
            for spec in specs:
                ctx.out(f"  {spec['title']} [P{spec['priority']}, {spec['issue_type']}]")
        return 0
    tracker = ctx.writer("create")
    try:
        created = tracker.create_many(specs)
    except BdError as exc:
        if exc.hint is None:
            exc.hint = f"nothing was created: the issues in {path} are created together or not at all"
        raise
    from beads.core.views import wire

    if ctx.json:
        ctx.emit([wire(issue) for issue in created])
        return 0
    ctx.out(f"✓ Created {len(created)} issues from {path}:")
    for issue in created:
        ctx.out(f"  {issue['id']}: {issue['title']} [P{issue['priority']}, {issue['issue_type']}]")
    return 0


def _read_markdown(path: str) -> str:
    if os.path.splitext(path)[1].lower() not in (".md", ".markdown"):
        raise InvalidInput(f"invalid file type for {path}: only .md and .markdown files are supported")
    from beads.cli.flags import read_file_arg

    return read_file_arg(path)


def parse_markdown(text: str, custom_types: list[str] | None = None, warn: Any = None) -> list[dict[str, Any]]:
    """Issue specs (``Tracker.create_many`` input) from the markdown text, in file order."""
    specs: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    section: str | None = None
    lines: list[str] = []

    def finish_block() -> None:
        if current is None:
            return
        content = "\n".join(lines).strip()
        if section is None:
            if content and not current.get("description"):
                current["description"] = content
        elif content:
            _apply_section(current, section, content, custom_types or [], warn)

    for line in text.splitlines():
        h2 = _H2.match(line)
        if h2:
            finish_block()
            current = {"title": h2.group(1).strip(), "priority": 2, "issue_type": "task"}
            specs.append(current)
            section, lines = None, []
            continue
        h3 = _H3.match(line)
        if h3 and current is not None:
            finish_block()
            section, lines = h3.group(1).strip().lower(), []
            continue
        lines.append(line)
    finish_block()
    return specs


def _apply_section(spec: dict[str, Any], section: str, content: str, custom_types: list[str], warn: Any) -> None:
    from beads import model

    if section in _SECTION_FIELDS:
        spec[_SECTION_FIELDS[section]] = content
    elif section == "priority":
        try:
            spec["priority"] = model.parse_priority(content)
        except InvalidInput:
            _warn(warn, f"invalid priority '{content}' in '{spec['title']}', using default P2")
    elif section == "type":
        if content in model.ISSUE_TYPES or content in custom_types:
            spec["issue_type"] = content
        else:
            _warn(warn, f"invalid issue type '{content}' in '{spec['title']}', using default 'task'")
    elif section == "assignee":
        spec["assignee"] = content
    elif section == "labels":
        spec["labels"] = _split_list(content)
    elif section in ("dependencies", "deps"):
        spec["dependencies"] = _split_list(content)


def _split_list(content: str) -> list[str]:
    return [item for item in re.split(r"[,\s]+", content) if item]


def _warn(warn: Any, message: str) -> None:
    if warn is not None:
        warn(message)
