"""Commands that create and change issues: create, q, show, update, close, reopen, delete."""

from __future__ import annotations

import sys

from beads.cli.main import new_subparser
from beads.errors import BdError, InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"create": _register_create, "q": _register_q, "show": _register_show, "update": _register_update,
     "close": _register_close, "reopen": _register_reopen, "delete": _register_delete}[name](sub)


def _read_text(value: str | None, file_path: str | None = None) -> str | None:
    """A text flag value; '-' reads stdin; a file flag reads the file."""
    if file_path:
        if file_path == "-":
            return sys.stdin.read()
        try:
            with open(file_path, encoding="utf-8") as fh:
                return fh.read()
        except OSError as exc:
            raise InvalidInput(f"cannot read {file_path}: {exc.strerror}")
    if value == "-":
        return sys.stdin.read()
    return value


def _labels(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


# -- create -------------------------------------------------------------------------------


def _register_create(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "create", "Create a new issue (or several from a markdown file)", aliases=("new",))
    p.add_argument("title_arg", nargs="?", metavar="title")
    p.add_argument("--title", dest="title_flag")
    p.add_argument("-f", "--file", help="create issues in bulk from a markdown file")
    p.add_argument("-d", "--description", "--body", dest="description")
    p.add_argument("--body-file", "--description-file", dest="body_file")
    p.add_argument("--design")
    p.add_argument("--acceptance", "--acceptance-criteria", dest="acceptance")
    p.add_argument("--notes")
    p.add_argument("-p", "--priority", default="2")
    p.add_argument("-t", "--type", dest="issue_type", default="task")
    p.add_argument("-a", "--assignee", default="")
    p.add_argument("--external-ref")
    p.add_argument("-l", "--labels", "--label", action="append", dest="labels")
    p.add_argument("--id", dest="explicit_id")
    p.add_argument("--parent")
    p.add_argument("--deps", action="append", help="dependencies as type:id,id (bare id = blocks)")
    p.add_argument("-e", "--estimate", type=int)
    p.add_argument("--force", action="store_true", help="accept an explicit ID with another prefix")
    p.add_argument("--ephemeral", action="store_true")
    p.add_argument("--silent", action="store_true", help="print only the new issue ID")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(run=run_create)


def create_fields(args: argparse.Namespace) -> dict[str, Any]:
    description = _read_text(args.description, args.body_file) or ""
    deps: list[str] = []
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
    quiet = args.silent or ctx.quiet
    if not quiet and not ctx.json:
        if title.lower().startswith("test"):
            ctx.warn(f"creating issue with 'Test' prefix in production database.\n"
                     f"  For testing, consider using: BEADS_DB=/tmp/test.db ./bd create \"{title}\"")
    if args.dry_run:
        preview = {"title": title, **{k: v for k, v in fields.items() if v not in (None, "", [], False)}}
        if ctx.json:
            ctx.emit(preview)
        else:
            ctx.out(f"Would create issue: {title}")
        return 0
    tracker = ctx.writer("create")
    issue = tracker.create(title, **fields)
    from beads.core.views import wire

    if ctx.json:
        ctx.emit(wire(issue))
    elif args.silent:
        ctx.out(issue["id"])
    else:
        ctx.out(f"✓ Created issue: {issue['id']}")
        ctx.out(f"  Title: {issue['title']}")
        ctx.out(f"  Priority: P{issue['priority']}")
        ctx.out(f"  Status: {issue['status']}")
    return 0


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
    p.set_defaults(run=run_show)


def run_show(ctx: Context) -> int:
    from beads.cli.render import issue_details
    from beads.errors import NotFound

    tracker = ctx.tracker()
    results = []
    failures = 0
    for raw in ctx.args.ids:
        try:
            results.append(tracker.show(raw))
        except NotFound:
            failures += 1
            ctx.err(f"Issue {raw} not found")
        except BdError as exc:
            failures += 1
            ctx.err(f"Error fetching {raw}: {exc.message}")
    if ctx.json:
        if results:
            ctx.emit(results)
    elif results:
        ctx.out("\n\n".join(issue_details(r) for r in results))
    return 1 if failures and not results else 0


# -- update / close / reopen ------------------------------------------------------------


def _register_update(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "update", "Update one or more issues")
    p.add_argument("ids", nargs="+", metavar="id")
    p.add_argument("-s", "--status")
    p.add_argument("-p", "--priority")
    p.add_argument("--title")
    p.add_argument("-t", "--type", dest="issue_type")
    p.add_argument("-a", "--assignee")
    p.add_argument("-d", "--description", "--body", dest="description")
    p.add_argument("--body-file", "--description-file", dest="body_file")
    p.add_argument("--design")
    p.add_argument("--notes")
    p.add_argument("--acceptance", "--acceptance-criteria", dest="acceptance")
    p.add_argument("--external-ref")
    p.add_argument("-e", "--estimate", type=int)
    p.add_argument("--add-label", action="append", dest="add_labels")
    p.add_argument("--remove-label", action="append", dest="remove_labels")
    p.add_argument("--set-labels", action="append", dest="set_labels")
    p.add_argument("--parent", help="new parent ID ('' removes the parent)")
    p.add_argument("--claim", action="store_true", help="assign to yourself and mark in_progress (atomic)")
    p.add_argument("--due")
    p.add_argument("--defer")
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
    if args.session and changes.get("status") == "closed":
        changes["closed_by_session"] = args.session
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
        if args.claim:
            tracker.claim(issue_id)
        if changes or extras:
            return tracker.update(issue_id, **extras, **changes)
        return tracker.get(issue_id)

    return _for_each(ctx, args.ids, apply, "updating", lambda i: f"✓ Updated issue: {i['id']}")


def _for_each(ctx: Context, raw_ids: list[str], action: Any, verb: str, text: Any) -> int:
    """Run ``action`` per ID; report per-ID failures and continue (spec §6.2).

    Exit status is non-zero only when every requested ID failed (lessons J).
    """
    from beads.core.views import wire

    tracker = ctx.tracker()
    done: list[dict[str, Any]] = []
    for raw in raw_ids:
        try:
            issue = action(raw)
        except BdError as exc:
            if len(raw_ids) == 1:
                raise
            ctx.err(f"Error {verb} {raw}: {exc.message}")
            continue
        done.append(issue)
        if not ctx.json:
            ctx.out(text(issue))
    if ctx.json and done:
        labels = tracker.store.labels_for([i["id"] for i in done])
        ctx.emit([wire(i, labels.get(i["id"], [])) for i in done])
    return 0 if done else 1


def _register_close(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "close", "Close one or more issues")
    p.add_argument("ids", nargs="+", metavar="id")
    p.add_argument("-r", "--reason", "--resolution", dest="reason", default="Closed")
    p.add_argument("-f", "--force", action="store_true", help="close pinned issues too")
    p.add_argument("--suggest-next", action="store_true", help="show issues this close unblocked")
    p.add_argument("--session")
    p.add_argument("--no-auto", action="store_true", help=argparse_suppress())
    p.set_defaults(run=run_close)


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


def run_close(ctx: Context) -> int:
    args = ctx.args
    tracker = ctx.writer("close")
    if not args.suggest_next:
        return _for_each(ctx, args.ids, lambda i: tracker.close(i, args.reason, force=args.force,
                                                                session=args.session),
                         "closing", lambda i: f"✓ Closed {i['id']}: {i.get('close_reason', '')}")
    from beads.core.views import wire

    closed: list[dict[str, Any]] = []
    unblocked: list[dict[str, Any]] = []
    for raw in args.ids:
        try:
            issue = tracker.close(raw, args.reason, force=args.force, session=args.session)
        except BdError as exc:
            if len(args.ids) == 1:
                raise
            ctx.err(f"Error closing {raw}: {exc.message}")
            continue
        closed.append(wire(issue, tracker.store.labels_of(issue["id"])))
        unblocked.extend(tracker.unblocked_by(issue["id"]))
        if not ctx.json:
            ctx.out(f"✓ Closed {issue['id']}: {issue.get('close_reason', '')}")
    if ctx.json:
        ctx.emit({"closed": closed, "unblocked": unblocked} if unblocked else closed)
    elif unblocked:
        ctx.out("")
        ctx.out("Newly unblocked:")
        for item in unblocked:
            ctx.out(f"  {item['id']} [P{item['priority']}] {item['title']}")
    return 0 if closed else 1


def _register_reopen(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "reopen", "Reopen closed issues")
    p.add_argument("ids", nargs="+", metavar="id")
    p.add_argument("-r", "--reason")
    p.set_defaults(run=run_reopen)


def run_reopen(ctx: Context) -> int:
    args = ctx.args
    tracker = ctx.writer("reopen")
    return _for_each(ctx, args.ids, lambda i: tracker.reopen(i, args.reason), "reopening",
                     lambda i: f"✓ Reopened {i['id']}")


# -- delete ----------------------------------------------------------------------------------


def _register_delete(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "delete", "Delete issues (tombstone; preview unless --force)")
    p.add_argument("ids", nargs="*", metavar="id")
    p.add_argument("-f", "--force", action="store_true", help="actually delete (default: preview)")
    p.add_argument("--from-file", help="read IDs from a file, one per line")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--cascade", action="store_true", help="also delete issues that depend on these")
    p.add_argument("--hard", action="store_true", help="remove rows permanently instead of tombstoning")
    p.add_argument("--reason")
    p.set_defaults(run=run_delete)


def run_delete(ctx: Context) -> int:
    from beads.cli.delete import run_delete as impl

    return impl(ctx)
