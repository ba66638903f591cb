"""Commands that create and change issues: create, q, show, update, close, reopen, delete."""

from __future__ import annotations

import os
import sys

from beads.cli.flags import int_arg, read_file_arg, split_values
from beads.cli.main import new_subparser
from beads.errors import BdError, InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context
    from beads.core.workspace import Workspace


_SUPPRESS = "==SUPPRESS=="  # argparse.SUPPRESS, without importing argparse at module load


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"create": _register_create, "q": _register_q, "show": _register_show, "update": _register_update,
     "close": _register_close, "reopen": _register_reopen, "delete": _register_delete}[name](sub)


def _read_text(value: str | None, file_path: str | None = None) -> str | None:
    """A text flag value; '-' reads stdin; a file flag reads the file."""
    if file_path:
        return read_file_arg(file_path)
    if value == "-":
        return sys.stdin.read()
    return value


_labels = split_values


# -- create -------------------------------------------------------------------------------


def _register_create(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "create", "Create a new issue (or several from a markdown file)", aliases=("new",))
    p.add_argument("title_arg", nargs="?", metavar="title", help="issue title (1-500 characters)")
    p.add_argument("--title", dest="title_flag", metavar="TITLE", help="title (alternative to the positional)")
    p.add_argument("-f", "--file", help="create issues in bulk from a markdown file")
    p.add_argument("-d", "--description", "--body", dest="description", metavar="TEXT",
                   help="description ('-' reads stdin)")
    p.add_argument("--body-file", "--description-file", dest="body_file", metavar="FILE",
                   help="read the description from FILE ('-' = stdin)")
    p.add_argument("--design", metavar="TEXT", help="design notes")
    p.add_argument("--acceptance", "--acceptance-criteria", dest="acceptance", metavar="TEXT",
                   help="acceptance criteria")
    p.add_argument("--notes", metavar="TEXT", help="notes")
    p.add_argument("-p", "--priority", default="2", help="priority 0-4 or P0-P4, 0 highest (default 2)")
    p.add_argument("-t", "--type", dest="issue_type", default="task", metavar="TYPE",
                   help="bug|feature|task|epic|chore|... (default task)")
    p.add_argument("-a", "--assignee", default="", help="assignee")
    p.add_argument("--external-ref", metavar="REF", help="external reference, e.g. gh-9 (unique)")
    p.add_argument("-l", "--labels", "--label", action="append", dest="labels", metavar="LABELS",
                   help="labels, comma-separated (repeatable)")
    p.add_argument("--id", dest="explicit_id", metavar="ID", help="explicit issue ID (prefix must match)")
    p.add_argument("--parent", metavar="ID", help="create as a child <parent>.N with a parent-child edge")
    p.add_argument("--deps", action="append", help="dependencies as type:id,id (bare id = blocks)")
    p.add_argument("--waits-for", help="spawner issue ID to wait for (adds a waits-for gate dependency)")
    p.add_argument("--waits-for-gate", default="all-children", help="all-children (default) or any-children")
    p.add_argument("--due", help="due date (YYYY-MM-DD or RFC3339)")
    p.add_argument("--defer", help="hide from 'bd ready' until this date (YYYY-MM-DD or RFC3339)")
    p.add_argument("-e", "--estimate", type=int_arg(), metavar="MINUTES", help="time estimate in minutes")
    p.add_argument("--force", action="store_true", help="accept an explicit ID with another prefix")
    p.add_argument("--ephemeral", action="store_true", help="local only: never exported to the JSONL")
    p.add_argument("--silent", action="store_true", help="print only the new issue ID")
    p.add_argument("--dry-run", action="store_true", help="show what would be created, change nothing")
    p.add_argument("--repo", metavar="PATH",
                   help="create the issue in the project at PATH (overrides routing.*, e.g. contributor mode)")
    p.set_defaults(run=run_create)


def create_fields(args: argparse.Namespace) -> dict[str, Any]:
    description = _read_text(args.description, args.body_file) or ""
    deps: list[Any] = []
    for value in args.deps or []:
        deps.extend(v.strip() for v in value.split(",") if v.strip())
    fields: dict[str, Any] = {
        "description": description,
        "design": args.design or "",
        "acceptance_criteria": args.acceptance or "",
        "notes": getattr(args, "notes", None) or "",
        "priority": args.priority,
        "issue_type": args.issue_type,
        "assignee": args.assignee or "",
        "labels": _labels(args.labels),
        "dependencies": deps,
        "parent": args.parent,
        "id": args.explicit_id,
        "force": args.force,
    }
    if args.external_ref:
        fields["external_ref"] = args.external_ref
    if args.estimate is not None:
        fields["estimated_minutes"] = args.estimate
    if getattr(args, "ephemeral", False):
        fields["ephemeral"] = True
    if getattr(args, "waits_for", None):
        gate = args.waits_for_gate or "all-children"
        if gate not in ("all-children", "any-children"):
            raise InvalidInput(f"invalid --waits-for-gate value '{gate}' (valid: all-children, any-children)")
        deps.append(("waits-for", args.waits_for, f'{{"gate":"{gate}"}}'))
    for flag, key in (("due", "due_at"), ("defer", "defer_until")):
        value = getattr(args, flag, None)
        if value:
            from beads.timefmt import parse_user_time

            fields[key] = parse_user_time(value)
    return fields


def run_create(ctx: Context) -> int:
    args = ctx.args
    if args.file:
        from beads.cli.bulk import create_from_markdown

        return create_from_markdown(ctx, args.file)
    title = args.title_arg
    if args.title_flag is not None:
        if title is not None and title != args.title_flag:
            raise InvalidInput(f"cannot specify different titles as both positional argument and --title flag "
                               f"(positional: {title!r}, flag: {args.title_flag!r})")
        title = args.title_flag
    if not title:
        raise InvalidInput("title is required (or use --file to create from markdown)")
    fields = create_fields(args)
    from beads.model import parse_priority

    fields["priority"] = parse_priority(fields["priority"])
    nudges = _description_nudges(ctx, title, fields["description"])
    routed = _routed(ctx)
    if routed is not None:
        from beads.cli.routed import create_routed

        return create_routed(ctx, routed, title, fields, nudges)
    if args.dry_run:
        preview = {"title": title, **{k: v for k, v in fields.items() if v not in (None, "", [], False)}}
        if ctx.json:
            ctx.emit(preview)
        else:
            ctx.out(f"Would create issue: {title}")
        return 0
    tracker = ctx.writer("create")
    issue = tracker.create(title, **fields)
    for nudge in nudges:  # after success, so that a failure prints only its error
        ctx.warn(nudge)
    report_created(ctx, issue)
    return 0


def report_created(ctx: Context, issue: Any, where: str | None = None) -> None:
    """What ``bd create`` prints: the issue (``--json``), its ID (``--silent``) or a summary."""
    from beads.core.views import wire

    if ctx.json:
        ctx.emit(wire(issue))
    elif ctx.args.silent:
        ctx.out(issue["id"])
    else:
        ctx.out(f"✓ Created issue: {issue['id']}")
        ctx.out(f"  Title: {issue['title']}")
        ctx.out(f"  Priority: P{issue['priority']}")
        ctx.out(f"  Status: {issue['status']}")
        if where is not None:
            ctx.out(f"  Repository: {where}")


def _routed(ctx: Context) -> Workspace | None:
    """The other project this issue goes to (``--repo``, or ``routing.*`` in config.yaml), or None."""
    override = getattr(ctx.args, "repo", None)
    settings = ctx.yaml_config()
    if not override and not any(k.startswith("routing.") for k in settings) and not _routing_env():
        return None
    from beads.sync.routing import routed_workspace

    keys = ("routing.mode", "routing.default", "routing.maintainer", "routing.contributor")
    return routed_workspace({k: ctx.setting(k) for k in keys}, ctx.workspace(), override)


def _routing_env() -> bool:
    return any(k.startswith("BD_ROUTING") for k in os.environ)


def _description_nudges(ctx: Context, title: str, description: str) -> list[str]:
    """The original's warnings for test titles and missing descriptions (config may require one)."""
    from beads.core.config import truthy

    nudges: list[str] = []
    low = title.lower()
    if low.startswith("test"):
        nudges.append("creating issue with 'Test' prefix in production database.\n"
                      "  For testing, consider using: BEADS_DB=/tmp/test.db bd create \"Test issue\"")
    if not description and "test" not in low:
        if truthy(ctx.setting("create.require-description", False)):
            raise InvalidInput("description is required (set create.require-description: false in config.yaml "
                               "to disable)")
        nudges.append("creating issue without description.\n"
                      "  Issues without descriptions lack context for future work.\n"
                      "  Consider adding --description=\"Why this issue exists and what needs to be done\"")
    return [] if ctx.args.silent or ctx.quiet else nudges


def _register_q(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "q", "Quick capture: create an issue and print only its ID")
    p.add_argument("title", nargs="+")
    p.add_argument("-p", "--priority", default="2")
    p.add_argument("-t", "--type", dest="issue_type", default="task")
    p.add_argument("-l", "--labels", "--label", action="append", dest="labels")
    p.set_defaults(run=run_q)


def run_q(ctx: Context) -> int:
    args = ctx.args
    from beads.model import parse_priority

    issue = ctx.writer("create").create(" ".join(args.title), priority=parse_priority(args.priority),
                                        issue_type=args.issue_type, labels=_labels(args.labels))
    ctx.out(issue["id"])
    return 0


# -- show ---------------------------------------------------------------------------------


def _register_show(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "show", "Show issue details")
    p.add_argument("ids", nargs="+", metavar="id")
    p.add_argument("--short", action="store_true", help="one compact line per issue")
    p.add_argument("--refs", action="store_true", help="issues that reference these issues, by link type")
    p.add_argument("--thread", action="store_true", help="the whole replies-to conversation of a message")
    p.add_argument("--include-dependents", action="store_true",
                   help="include dependents in JSON (they always are; accepted for tools that pass it)")
    p.set_defaults(run=run_show)


def run_show(ctx: Context) -> int:
    args = ctx.args
    if args.thread or args.refs or args.short:
        from beads.cli import show_views

        return show_views.run(ctx)
    tracker = ctx.tracker()
    results, failures = for_each_id(ctx, ctx.args.ids, tracker.show, "fetching", None)
    if results and not ctx.json:
        from beads.cli import show_views, style

        style.write(ctx, show_views.show_lines(style.painter(ctx), results))
    return finish_each(ctx, results, failures, results)


# -- multi-ID helpers (spec §6.2, lessons J) ------------------------------------------------


def for_each_id(ctx: Context, raw_ids: list[str], action: Any, verb: str,
                text: Any) -> tuple[list[Any], list[str]]:
    """Run ``action`` per ID; return the successes and the failure messages.

    With one ID a failure is the command's error. With several, each failure is
    reported on stderr (``Error <verb> <id>: …``) and the rest still run; ``text``
    (when given) renders each success on stdout as it happens, in text mode.
    """
    done: list[Any] = []
    failed: list[str] = []
    for raw in raw_ids:
        try:
            result = action(raw)
        except BdError as exc:
            if len(raw_ids) == 1:
                raise
            ctx.err(f"Error {verb} {raw}: {exc.message}")
            failed.append(f"{raw}: {exc.message}")
            continue
        done.append(result)
        if text is not None and not ctx.json:
            ctx.out(text(result))
    return done, failed


def finish_each(ctx: Context, done: list[Any], failures: list[str], payload: Any) -> int:
    """Print the JSON payload if anything succeeded; exit 1 only when every ID failed.

    With ``--json`` stdout always holds one document: the payload, or ``{"error"}``.
    """
    if done:
        if ctx.json:
            ctx.emit(payload)
        return 0
    if ctx.json:
        ctx.emit({"error": "; ".join(failures)})
    return 1


# -- update / close / reopen ------------------------------------------------------------


def _register_update(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "update", "Update one or more issues")
    p.add_argument("ids", nargs="+", metavar="id")
    p.add_argument("-s", "--status", help="open|in_progress|blocked|deferred|closed|... (not tombstone)")
    p.add_argument("-p", "--priority", help="priority 0-4 or P0-P4")
    p.add_argument("--title", help="new title")
    p.add_argument("-t", "--type", dest="issue_type", metavar="TYPE", help="new issue type")
    p.add_argument("-a", "--assignee", help="new assignee ('' clears)")
    p.add_argument("-d", "--description", "--body", dest="description", metavar="TEXT",
                   help="new description ('-' reads stdin)")
    p.add_argument("--body-file", "--description-file", dest="body_file", metavar="FILE",
                   help="read the description from FILE")
    p.add_argument("--design", metavar="TEXT", help="new design notes")
    p.add_argument("--notes", metavar="TEXT", help="new notes")
    p.add_argument("--acceptance", "--acceptance-criteria", dest="acceptance", metavar="TEXT",
                   help="new acceptance criteria")
    p.add_argument("--external-ref", metavar="REF", help="new external reference")
    p.add_argument("-e", "--estimate", type=int_arg(), metavar="MINUTES", help="time estimate in minutes")
    p.add_argument("--add-label", action="append", dest="add_labels", metavar="LABEL", help="add labels")
    p.add_argument("--remove-label", action="append", dest="remove_labels", metavar="LABEL",
                   help="remove labels")
    p.add_argument("--set-labels", action="append", dest="set_labels", metavar="LABELS",
                   help="replace all labels")
    p.add_argument("--parent", help="new parent ID ('' removes the parent)")
    p.add_argument("--claim", action="store_true", help="assign to yourself and mark in_progress (atomic)")
    p.add_argument("--due", help="due date (YYYY-MM-DD or RFC3339; '' clears)")
    p.add_argument("--defer", help="hide from ready until this date ('' clears)")
    p.add_argument("--session", help="session ID recorded when the update closes the issue")
    p.set_defaults(run=run_update)


def run_update(ctx: Context) -> int:
    args = ctx.args
    changes: dict[str, Any] = {}
    for attr, key in (("status", "status"), ("title", "title"), ("issue_type", "issue_type"),
                      ("assignee", "assignee"), ("design", "design"), ("notes", "notes"),
                      ("acceptance", "acceptance_criteria"), ("external_ref", "external_ref")):
        value = getattr(args, attr)
        if value is not None:
            changes[key] = value
    description = _read_text(args.description, args.body_file)
    if description is not None:
        changes["description"] = description
    if args.priority is not None:
        from beads.model import parse_priority

        changes["priority"] = parse_priority(args.priority)
    if args.estimate is not None:
        changes["estimated_minutes"] = args.estimate
    if args.due is not None:
        from beads.timefmt import parse_user_time

        changes["due_at"] = parse_user_time(args.due) if args.due else None
    if args.defer is not None:
        from beads.timefmt import parse_user_time

        changes["defer_until"] = parse_user_time(args.defer) if args.defer else None
    session = args.session or os.environ.get("CLAUDE_SESSION_ID")
    if session and changes.get("status") == "closed":
        changes["closed_by_session"] = session
    extras: dict[str, Any] = {}
    if args.add_labels:
        extras["add_labels"] = _labels(args.add_labels)
    if args.remove_labels:
        extras["remove_labels"] = _labels(args.remove_labels)
    if args.set_labels is not None:
        extras["set_labels"] = _labels(args.set_labels)
    if args.parent is not None:
        extras["parent"] = args.parent
    if not changes and not extras and not args.claim:
        ctx.out("No updates specified")
        return 0
    tracker = ctx.writer("update")

    def apply(issue_id: str) -> dict[str, Any]:
        with tracker.write():  # the claim and the edits land together or not at all
            if args.claim:
                tracker.claim(issue_id)
            if changes or extras:
                return tracker.update(issue_id, **extras, **changes)
            return tracker.get(issue_id)

    return _each_issue(ctx, args.ids, apply, "updating", lambda i: f"✓ Updated issue: {i['id']}")


def _each_issue(ctx: Context, raw_ids: list[str], action: Any, verb: str, text: Any) -> int:
    """``for_each_id`` for commands whose JSON is the array of changed issues (with labels)."""
    done, failures = for_each_id(ctx, raw_ids, action, verb, text)
    payload = ctx.tracker().issues_json([i["id"] for i in done]) if ctx.json and done else []
    return finish_each(ctx, done, failures, payload)


def _register_close(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "close", "Close one or more issues")
    p.add_argument("ids", nargs="+", metavar="id")
    p.add_argument("-r", "--reason", "--resolution", dest="reason", default="Closed")
    p.add_argument("-f", "--force", action="store_true", help="close pinned issues too")
    p.add_argument("--suggest-next", action="store_true", help="show issues this close unblocked")
    p.add_argument("--session")
    p.add_argument("--no-auto", action="store_true", help=_SUPPRESS)
    p.set_defaults(run=run_close)


def run_close(ctx: Context) -> int:
    args = ctx.args
    if args.suggest_next and len(args.ids) > 1:
        raise InvalidInput("--suggest-next only works when closing a single issue")
    tracker = ctx.writer("close")
    session = args.session or os.environ.get("CLAUDE_SESSION_ID") or None

    def close(raw: str) -> dict[str, Any]:
        return tracker.close(raw, args.reason, force=args.force, session=session)

    def text(issue: dict[str, Any]) -> str:
        return f"✓ Closed {issue['id']}: {issue.get('close_reason', '')}"

    if not args.suggest_next:
        return _each_issue(ctx, args.ids, close, "closing", text)
    issue = close(args.ids[0])
    unblocked = tracker.unblocked_by(issue["id"])
    if ctx.json:
        closed = tracker.issues_json([issue["id"]])
        ctx.emit({"closed": closed, "unblocked": unblocked} if unblocked else closed)
        return 0
    ctx.out(text(issue))
    if unblocked:
        ctx.out("")
        ctx.out("Newly unblocked:")
        for item in unblocked:
            ctx.out(f"  • {item['id']} \"{item['title']}\" (P{item['priority']})")
    return 0


def _register_reopen(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "reopen", "Reopen closed issues")
    p.add_argument("ids", nargs="+", metavar="id")
    p.add_argument("-r", "--reason")
    p.set_defaults(run=run_reopen)


def run_reopen(ctx: Context) -> int:
    args = ctx.args
    tracker = ctx.writer("reopen")
    suffix = f": {args.reason}" if args.reason else ""
    return _each_issue(ctx, args.ids, lambda i: tracker.reopen(i, args.reason), "reopening",
                       lambda i: f"↻ Reopened {i['id']}{suffix}")


# -- delete ----------------------------------------------------------------------------------


def _register_delete(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "delete", "Delete issues (tombstone; preview unless --force)")
    p.add_argument("ids", nargs="*", metavar="id")
    p.add_argument("-f", "--force", action="store_true", help="actually delete (default: preview)")
    p.add_argument("--from-file", help="read IDs from a file, one per line")
    p.add_argument("--dry-run", action="store_true", help="show what would be created, change nothing")
    p.add_argument("--cascade", action="store_true", help="also delete issues that depend on these")
    p.add_argument("--hard", action="store_true", help="remove rows permanently instead of tombstoning")
    p.add_argument("--reason")
    p.set_defaults(run=run_delete)


def run_delete(ctx: Context) -> int:
    from beads.cli.delete import run_delete as impl

    return impl(ctx)
