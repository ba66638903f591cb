"""Commands that find issues: list, search, count, stale.

Each builds one ``IssueFilter`` from its flags, makes one Tracker call and renders
the result; ``bd list --json`` is on the hot path, so nothing here is imported
before the command runs.
"""

from __future__ import annotations

from beads.cli.flags import MAX_DAYS, bool_flag, int_arg, split_values
from beads.cli.main import new_subparser
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context
    from beads.query import IssueFilter

DEFAULT_LIMIT = 50
_GROUPS = ("status", "priority", "type", "assignee", "label")
_DATE_FLAGS = ("created_after", "created_before", "updated_after", "updated_before", "closed_after",
               "closed_before", "due_after", "due_before", "defer_after", "defer_before")


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"list": _register_list, "search": _register_search, "count": _register_count,
     "stale": _register_stale}[name](sub)


# -- shared flags -----------------------------------------------------------------------------


values = split_values


def _add_basic_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("-s", "--status", help="filter by status (comma-separated; 'all' = any status)")
    p.add_argument("-a", "--assignee", help="filter by assignee")
    p.add_argument("-t", "--type", dest="issue_type", help="filter by type (comma-separated)")
    p.add_argument("-l", "--label", action="append", dest="labels", help="must have ALL these labels (repeatable)")
    p.add_argument("--label-any", action="append", dest="labels_any", help="must have AT LEAST ONE of these labels")


def _add_date_filters(p: argparse.ArgumentParser) -> None:
    for flag in _DATE_FLAGS:
        what, when = flag.split("_")
        verb = {"due": "due", "defer": "deferred"}.get(what, what)
        p.add_argument(f"--{what}-{when}", dest=flag, metavar="DATE",
                       help=f"issues {verb} {when} DATE (YYYY-MM-DD, RFC3339, +6h, tomorrow, next monday)")


def _add_priority_range(p: argparse.ArgumentParser) -> None:
    p.add_argument("--priority-min", help="minimum priority (inclusive, 0-4 or P0-P4)")
    p.add_argument("--priority-max", help="maximum priority (inclusive, 0-4 or P0-P4)")


def _add_pattern_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("-p", "--priority", help="filter by priority (0-4 or P0-P4)")
    p.add_argument("--title", help="title contains this text (case-insensitive)")
    p.add_argument("--id", dest="ids", help="only these issue IDs (comma-separated)")
    p.add_argument("--title-contains", help="title contains this text")
    p.add_argument("--desc-contains", help="description contains this text")
    p.add_argument("--notes-contains", help="notes contain this text")
    p.add_argument("--empty-description", action="store_true", help="only issues with no description")
    p.add_argument("--no-assignee", action="store_true", help="only unassigned issues")
    p.add_argument("--no-labels", action="store_true", help="only issues without labels")


def _add_ordering(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sort", help="sort by: priority, created, updated, closed, status, id, title, type, assignee")
    p.add_argument("-r", "--reverse", action="store_true", help="reverse the sort order")
    p.add_argument("--long", action="store_true", help="multi-line output per issue")


def build_filter(args: argparse.Namespace, **fields: Any) -> IssueFilter:
    """An IssueFilter from whichever of the shared flags this command defines."""
    from beads.model import parse_priority
    from beads.query import IssueFilter

    get = getattr
    status = get(args, "status", None)
    if status:
        fields["statuses"] = ["all"] if status == "all" else values([status])
    if get(args, "issue_type", None):
        from beads.model import normalize_issue_type

        fields["issue_types"] = [normalize_issue_type(t) for t in values([args.issue_type])]
    if get(args, "assignee", None):
        fields["assignee"] = args.assignee
    fields["labels"] = values(get(args, "labels", None))
    fields["labels_any"] = values(get(args, "labels_any", None))
    for flag in ("priority", "priority_min", "priority_max"):
        raw = get(args, flag, None)
        if raw is not None:
            try:
                fields[flag] = parse_priority(raw)
            except InvalidInput as exc:
                raise InvalidInput(f"parsing --{flag.replace('_', '-')}: {exc.message}") from None
    for flag in _DATE_FLAGS:
        raw = get(args, flag, None)
        if raw:
            from beads.timefmt import parse_user_time

            try:
                fields[flag] = parse_user_time(raw)
            except InvalidInput as exc:
                raise InvalidInput(f"parsing --{flag.replace('_', '-')}: {exc.message}") from None
    if get(args, "ids", None):
        fields["ids"] = values([args.ids])
    title = get(args, "title", None)
    fields["title_contains"] = get(args, "title_contains", None) or title
    fields["description_contains"] = get(args, "desc_contains", None)
    fields["notes_contains"] = get(args, "notes_contains", None)
    for flag in ("empty_description", "no_assignee", "no_labels", "reverse", "deferred", "overdue"):
        if get(args, flag, False):
            fields[flag] = True
    if get(args, "sort", None):
        fields["sort"] = args.sort
    return IssueFilter(**fields)


def _title_also(args: argparse.Namespace, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``--title`` and ``--title-contains`` together: both must match (the filter holds one)."""
    title = getattr(args, "title", None)
    if title and getattr(args, "title_contains", None):
        needle = title.lower()
        return [i for i in issues if needle in i.get("title", "").lower()]
    return issues


def _limit(value: int) -> int:
    if value < 0:
        raise InvalidInput("--limit must be >= 0")
    return value


def long_lines(issue: dict[str, Any], *, badge: bool = True) -> list[str]:
    """The ``--long`` block for one issue (v0.47: ``[● P1]`` in ``list``; ``search`` keeps ``[P1]``)."""
    priority = f"● P{issue.get('priority', 0)}" if badge else f"P{issue.get('priority', 0)}"
    pin = "📌 " if badge and issue.get("pinned") else ""
    lines = [f"{pin}{issue['id']} [{priority}] [{issue.get('issue_type', '')}] {issue.get('status', '')}",
             f"  {issue.get('title', '')}"]
    if issue.get("assignee"):
        lines.append(f"  Assignee: {issue['assignee']}")
    if issue.get("labels"):
        lines.append(f"  Labels: [{' '.join(issue['labels'])}]")
    lines.append("")
    return lines


# -- list -------------------------------------------------------------------------------------


def _register_list(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "list", "List issues")
    _add_basic_filters(p)
    _add_pattern_filters(p)
    _add_date_filters(p)
    _add_priority_range(p)
    _add_ordering(p)
    p.add_argument("-n", "--limit", type=int_arg(), default=None,
                   help="maximum issues (default 50, 20 in agent mode, 0 = all)")
    p.add_argument("--all", action="store_true", help="include closed issues")
    p.add_argument("--format", help="'digraph', 'dot' (Graphviz), or a template like '{{.IssueID}} {{.DependsOnID}}'")
    p.add_argument("--pinned", action="store_true", help="only pinned issues")
    p.add_argument("--no-pinned", action="store_true", help="exclude pinned issues")
    p.add_argument("--include-templates", action="store_true", help="include template issues")
    p.add_argument("--parent", "--filter-parent", dest="parent", help="only direct children of this issue")
    bool_flag(p, "--pretty", "tree format with status glyphs and priority badges")
    bool_flag(p, "--tree", "same as --pretty: hierarchical tree format")
    p.add_argument("--deferred", action="store_true", help="only issues with a defer date")
    p.add_argument("--overdue", action="store_true", help="only issues past their due date (not closed)")
    p.set_defaults(run=run_list)


def run_list(ctx: Context) -> int:
    args = ctx.args
    if args.pinned and args.no_pinned:
        raise InvalidInput("--pinned and --no-pinned are mutually exclusive")
    from beads.cli.render import AGENT_LIST_LIMIT, agent_mode

    agent = agent_mode()
    limit = _limit(args.limit if args.limit is not None else AGENT_LIST_LIMIT if agent else DEFAULT_LIMIT)
    filt = build_filter(args, limit=limit, exclude_closed=not (args.all or args.status),
                        include_templates=args.include_templates, parent_id=args.parent,
                        pinned=True if args.pinned else False if args.no_pinned else None)
    tracker = ctx.tracker()
    if ctx.json and not args.format:
        ctx.emit_chunks(_title_also(args, chunk) for chunk in tracker.list_chunks(filt))
        return 0
    if (args.pretty or args.tree) and not args.format:
        from beads.cli import style

        # only what a tree line shows: 100,000 whole issues would hold ~200 MB for nothing
        issues = [{k: i.get(k) for k in style.PRETTY_KEYS} for chunk in tracker.list_chunks(filt)
                  for i in _title_also(args, chunk)]
        style.write(ctx, style.pretty_list(style.painter(ctx), issues, tracker.edges_among([i["id"] for i in issues])))
        return 0
    issues = _title_also(args, tracker.list(filt))
    if args.format:
        _print_format(ctx, issues, args.format)
        return 0
    if ctx.json:
        ctx.emit(issues)
        return 0
    from beads.cli.render import issue_line

    if agent and not args.long:  # agent mode: one "ID: Title" line each, nothing else (as the original)
        if issues:
            ctx.out("\n".join(f"{i['id']}: {i.get('title', '')}" for i in issues))
        return 0
    if args.long:
        lines = [f"\nFound {len(issues)} issues:\n"]
        for issue in issues:
            lines.extend(long_lines(issue))
    else:
        lines = [issue_line(issue) for issue in issues]
    if lines:
        ctx.out("\n".join(lines))
    if limit and len(issues) == limit:
        ctx.info(f"\nShowing {limit} issues (use --limit 0 for all)")
    return 0


_DOT_FILL = {"closed": ("lightgray", "dimgray"), "in_progress": ("lightyellow", "black"),
             "blocked": ("lightcoral", "black")}
_DOT_EDGE = {"blocks": ("red", "bold"), "parent-child": ("blue", "solid"), "discovered-from": ("green", "dashed"),
             "related": ("gray", "dashed")}


def _print_format(ctx: Context, issues: list[dict[str, Any]], fmt: str) -> None:
    """``--format dot`` (Graphviz), ``digraph`` or a ``{{.Field}}`` template over the edges shown."""
    import json
    import re

    edges = ctx.tracker().edges_among([i["id"] for i in issues])
    lines: list[str] = []
    if fmt == "dot":
        lines += ["digraph dependencies {", "  rankdir=TB;", "  node [shape=box, style=rounded];", ""]
        for issue in issues:
            label = (f"{issue['id']}\n[{issue.get('issue_type', '')} P{issue.get('priority', 0)}]\n"
                     f"{issue.get('title', '')}\n({issue.get('status', '')})")
            fill, font = _DOT_FILL.get(issue.get("status", ""), ("white", "black"))
            lines.append(f"  {json.dumps(issue['id'], ensure_ascii=False)} [label={json.dumps(label, ensure_ascii=False)}"
                         f", style=\"rounded,filled\", fillcolor=\"{fill}\", fontcolor=\"{font}\"];")
        lines.append("")
        for dep in edges:
            color, style = _DOT_EDGE.get(dep["type"], ("black", "solid"))
            lines.append(f"  {json.dumps(dep['issue_id'])} -> {json.dumps(dep['depends_on_id'])} "
                         f"[label={json.dumps(dep['type'])}, color={color}, style={style}];")
        lines.append("}")
    else:
        template = "{{.IssueID}} {{.DependsOnID}}" if fmt == "digraph" else fmt
        known = {"IssueID": "issue_id", "DependsOnID": "depends_on_id", "Type": "type"}
        fields = re.findall(r"\{\{\s*\.(\w+)\s*\}\}", template)
        unknown = [f for f in fields if f not in known]
        if unknown or not fields:
            raise InvalidInput(f"invalid format template {fmt!r} (fields: .IssueID, .DependsOnID, .Type)")
        for dep in edges:
            lines.append(re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m, d=dep: str(d[known[m.group(1)]]), template))
    if lines:
        ctx.out("\n".join(lines))


# -- search -----------------------------------------------------------------------------------


def _register_search(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "search", "Search issues by text (title, description, ID)")
    p.add_argument("query_words", nargs="*", metavar="query")
    p.add_argument("--query", dest="query_flag", help="search query (instead of the positional argument)")
    _add_basic_filters(p)
    _add_date_filters(p)
    _add_priority_range(p)
    _add_ordering(p)
    p.add_argument("-n", "--limit", type=int_arg(), default=DEFAULT_LIMIT, help="maximum issues (default 50)")
    p.set_defaults(run=run_search)


def run_search(ctx: Context) -> int:
    args = ctx.args
    query = " ".join(args.query_words) if args.query_words else (args.query_flag or "")
    if not query.strip():
        raise InvalidInput("search query is required", hint="bd search <text> [filters]")
    filt = build_filter(args, limit=_limit(args.limit))
    issues = ctx.tracker().search(query, filt)
    if ctx.json:
        ctx.emit(issues)
        return 0
    if not issues:
        ctx.out(f"No issues found matching '{query}'")
        return 0
    from beads.cli.render import search_line

    if args.long:
        lines = [f"\nFound {len(issues)} issues matching '{query}':\n"]
        for issue in issues:
            lines.extend(long_lines(issue, badge=False))
    else:
        lines = [f"Found {len(issues)} issues matching '{query}':"] + [search_line(i) for i in issues]
    ctx.out("\n".join(lines))
    return 0


# -- count ------------------------------------------------------------------------------------


def _register_count(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "count", "Count issues matching filters")
    _add_basic_filters(p)
    _add_pattern_filters(p)
    _add_date_filters(p)
    _add_priority_range(p)
    for group in _GROUPS:
        p.add_argument(f"--by-{group}", action="store_true", help=f"group the count by {group}")
    p.set_defaults(run=run_count)


def run_count(ctx: Context) -> int:
    args = ctx.args
    groups = [g for g in _GROUPS if getattr(args, f"by_{g}")]
    if len(groups) > 1:
        raise InvalidInput("only one --by-* flag can be specified")
    title, contains = getattr(args, "title", None), getattr(args, "title_contains", None)
    if title and contains and title.lower() != contains.lower():
        # list can apply the second one to the page it prints; a count cannot
        raise InvalidInput("use either --title or --title-contains with count, not both")
    result = ctx.tracker().count(build_filter(args), groups[0] if groups else None)
    if ctx.json:
        ctx.emit(result)
    elif "count" in result:
        ctx.out(str(result["count"]))
    else:
        ctx.out(f"Total: {result['total']}\n")
        ctx.out("\n".join(f"{g['group']}: {g['count']}" for g in result["groups"]))
    return 0


# -- stale ------------------------------------------------------------------------------------


def _register_stale(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "stale", "Show issues not updated recently")
    p.add_argument("-d", "--days", type=int_arg(maximum=MAX_DAYS), default=30, help="not updated in this many days (default 30)")
    p.add_argument("-s", "--status", help="only this status (open, in_progress, blocked, deferred)")
    p.add_argument("-n", "--limit", type=int_arg(), default=DEFAULT_LIMIT, help="maximum issues (default 50)")
    p.set_defaults(run=run_stale)


def run_stale(ctx: Context) -> int:
    args = ctx.args
    issues = ctx.tracker().stale(args.days, args.status, _limit(args.limit))
    if ctx.json:
        ctx.emit(issues)
        return 0
    if not issues:
        ctx.out("\n✨ No stale issues found (all active)\n")
        return 0
    import time

    from beads.timefmt import to_ns

    now = time.time_ns()
    lines = [f"\n⏰ Stale issues ({len(issues)} not updated in {args.days}+ days):\n"]
    for n, issue in enumerate(issues, 1):
        updated = to_ns(issue.get("updated_at")) or now
        days = (now - updated) // (86_400 * 1_000_000_000)
        lines.append(f"{n}. [P{issue.get('priority', 0)}] {issue['id']}: {issue.get('title', '')}")
        lines.append(f"   Status: {issue.get('status', '')}, Last updated: {days} days ago")
        if issue.get("assignee"):
            lines.append(f"   Assignee: {issue['assignee']}")
        lines.append("")
    ctx.out("\n".join(lines))
    return 0
