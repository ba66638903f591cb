"""Labels and comments: ``label add|remove|list|list-all``, ``comments [add]``, ``comment``.

JSON shapes follow the original (spec §7.1): label add/remove print one status object
per issue, ``label list`` a bare array of names, ``list-all`` ``{label, count}``
objects sorted by name, ``comments`` an array of Comment objects and ``comment`` the
new Comment. beads-ui calls ``bd comment ID TEXT --author NAME`` and
``bd comments ID --json``.
"""

from __future__ import annotations

from beads.cli.flags import read_file_arg
from beads.cli.main import new_subparser
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"label": _register_label, "comments": _register_comments, "comment": _register_comment}[name](sub)


# -- label ----------------------------------------------------------------------------------


def _register_label(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "label", "Manage issue labels")
    p.set_defaults(run=_label_usage)
    actions = p.add_subparsers(dest="label_command", metavar="<subcommand>")
    for name, help_text, run in (("add", "Add a label to one or more issues", run_label_add),
                                 ("remove", "Remove a label from one or more issues", run_label_remove)):
        a = new_subparser(actions, name, help_text)
        a.add_argument("ids", nargs="+", metavar="id")
        a.add_argument("label")
        a.set_defaults(run=run)
    a = new_subparser(actions, "list", "List the labels of an issue")
    a.add_argument("id")
    a.set_defaults(run=run_label_list)
    a = new_subparser(actions, "list-all", "List every label in use, with how many issues carry it")
    a.set_defaults(run=run_label_list_all)


def _label_usage(ctx: Context) -> int:
    raise InvalidInput("missing subcommand", hint="usage: bd label add|remove <id...> <label> | list <id> | list-all")


def run_label_add(ctx: Context) -> int:
    return _change_labels(ctx, "added")


def run_label_remove(ctx: Context) -> int:
    return _change_labels(ctx, "removed")


def _change_labels(ctx: Context, status: str) -> int:
    from beads.cli.cmd_issues import finish_each, for_each_id

    label = ctx.args.label.strip()
    if not label:
        raise InvalidInput("label cannot be empty")
    tracker = ctx.writer("label add" if status == "added" else "label remove")
    change = tracker.add_label if status == "added" else tracker.remove_label

    def apply(raw: str) -> dict[str, Any]:
        issue_id = tracker.resolve_id(raw)
        change(issue_id, label)
        return {"status": status, "issue_id": issue_id, "label": label}

    verb, prep = ("Added", "to") if status == "added" else ("Removed", "from")
    done, failures = for_each_id(ctx, ctx.args.ids, apply,
                                 "adding label to" if status == "added" else "removing label from",
                                 lambda r: f"✓ {verb} label '{label}' {prep} {r['issue_id']}")
    return finish_each(ctx, done, failures, done)


def run_label_list(ctx: Context) -> int:
    tracker = ctx.tracker()
    issue_id = tracker.resolve_id(ctx.args.id)
    labels = tracker.labels(issue_id)
    if ctx.json:
        ctx.emit(labels)
    elif not labels:
        ctx.out(f"{issue_id} has no labels")
    else:
        ctx.out(f"🏷 Labels for {issue_id}:")
        for label in labels:
            ctx.out(f"  - {label}")
    return 0


def run_label_list_all(ctx: Context) -> int:
    counts = ctx.tracker().label_counts()
    if ctx.json:
        ctx.emit(counts)
        return 0
    if not counts:
        ctx.out("No labels found in database")
        return 0
    ctx.out(f"🏷 All labels ({len(counts)} unique):")
    width = max(len(c["label"]) for c in counts)
    for c in counts:
        ctx.out(f"  {c['label']:<{width}}  ({c['count']} issues)")
    return 0


# -- comments -------------------------------------------------------------------------------


def _add_comment_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", help="read the comment text from a file ('-' for stdin)")
    p.add_argument("-a", "--author", help="comment author (default: the actor)")


def _register_comments(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "comments", "View or add comments on an issue\n\n"
                                       "  bd comments <id>                 list comments\n"
                                       "  bd comments add <id> [text]      add a comment (or -f FILE)")
    p.add_argument("words", nargs="+", metavar="args", help="<id> to list, or: add <id> [text]")
    _add_comment_flags(p)
    p.set_defaults(run=run_comments)


def _register_comment(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "comment", "Add a comment to an issue (same as 'comments add')")
    p.add_argument("id")
    p.add_argument("text", nargs="*")
    _add_comment_flags(p)
    p.set_defaults(run=run_comment)


def run_comments(ctx: Context) -> int:
    words = ctx.args.words
    if words[0] == "add":  # IDs always contain '-', so "add" is never an issue ID
        if len(words) < 2:
            raise InvalidInput("issue ID required", hint="usage: bd comments add <id> [text] [-f FILE]")
        return _add_comment(ctx, words[1], words[2:])
    if len(words) > 1 or ctx.args.file:
        raise InvalidInput("too many arguments for listing comments",
                           hint="to add a comment use: bd comments add <id> <text>")
    tracker = ctx.tracker()
    issue_id = tracker.resolve_id(words[0])
    comments = tracker.comments(issue_id)
    if ctx.json:
        ctx.emit(comments)
    elif not comments:
        ctx.out(f"No comments on {issue_id}")
    else:
        ctx.out(f"Comments on {issue_id}:")
        for c in comments:
            ctx.out("")
            ctx.out(f"[{c['author']}] {c['text']} at {_short_time(c['created_at'])}")
    return 0


def run_comment(ctx: Context) -> int:
    return _add_comment(ctx, ctx.args.id, ctx.args.text)


def _add_comment(ctx: Context, raw_id: str, words: list[str]) -> int:
    path = ctx.args.file
    if path:
        if words:
            raise InvalidInput("give the comment text as an argument or with -f, not both")
        text = _read_file(path)
    elif words:
        text = " ".join(words)
    else:
        raise InvalidInput("comment text required (use -f to read from file)")
    tracker = ctx.writer("comment add")
    comment = tracker.add_comment(raw_id, text, author=ctx.args.author or None)
    if ctx.json:
        ctx.emit(comment)
    else:
        ctx.out(f"Comment added to {comment['issue_id']}")
    return 0


_read_file = read_file_arg


def _short_time(value: str | None) -> str:
    return (value or "")[:16].replace("T", " ")
