"""``bd defer`` / ``bd undefer``: put issues on ice (status ``deferred``, optionally until a date).

A deferred issue leaves ``bd ready`` but stays in ``bd list``; ``--until`` takes any date
form ``beads.whenparse`` accepts (``+2w``, ``next monday``, ``2026-01-15``…). ``undefer``
reopens and clears the date. JSON: the changed issues (an array), as the original.
"""

from __future__ import annotations

from beads.cli.main import new_subparser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    if name == "defer":
        p = new_subparser(sub, "defer", "Defer issues for later (hidden from ready; optionally until a date)")
        p.add_argument("ids", nargs="+", metavar="id")
        p.add_argument("--until", help="defer until this time (+1h, +2w, tomorrow, next monday, 2026-01-15, RFC3339)")
        p.set_defaults(run=run_defer)
    else:
        p = new_subparser(sub, "undefer", "Undefer issues: back to open, defer date cleared")
        p.add_argument("ids", nargs="+", metavar="id")
        p.set_defaults(run=run_undefer)


def run_defer(ctx: Context) -> int:
    from beads.errors import InvalidInput

    changes: dict[str, Any] = {"status": "deferred"}
    if ctx.args.until:
        from beads.timefmt import parse_user_time

        try:
            changes["defer_until"] = parse_user_time(ctx.args.until)
        except InvalidInput as exc:
            raise InvalidInput(f"invalid --until: {exc.message}") from None
    return _each(ctx, "defer", changes, lambda issue: f"* Deferred {issue['id']}"
                 + (f" until {issue['defer_until']}" if issue.get("defer_until") else ""))


def run_undefer(ctx: Context) -> int:
    return _each(ctx, "undefer", {"status": "open", "defer_until": None},
                 lambda issue: f"* Undeferred {issue['id']} (now open)")


def _each(ctx: Context, operation: str, changes: dict[str, Any], text: Any) -> int:
    from beads.cli.cmd_issues import finish_each, for_each_id

    tracker = ctx.writer(operation)

    def apply(issue_id: str) -> dict[str, Any]:
        issue = tracker.update(issue_id, **changes)
        return tracker.issues_json([issue["id"]])[0]

    done, failures = for_each_id(ctx, ctx.args.ids, apply, operation + "ring", text)
    return finish_each(ctx, done, failures, done)
