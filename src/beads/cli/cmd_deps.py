"""Dependency commands: dep add/remove/list/tree/cycles, relate/unrelate, duplicate, supersede.

``bd dep add A B`` means A depends on (is blocked by) B. The graph rules (no
self-edges, no cycles, hierarchy guards) are enforced by ``beads.core.graph``;
this module parses, calls one method and renders.
"""

from __future__ import annotations

from beads.cli.flags import int_arg
from beads.cli.main import new_subparser
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"dep": _register_dep, "relate": _register_relate, "unrelate": _register_unrelate,
     "duplicate": _register_duplicate, "supersede": _register_supersede}[name](sub)


def _usage(ctx: Context, parser: argparse.ArgumentParser) -> int:
    ctx.stderr.write(parser.format_help())
    return 1


# -- dep --------------------------------------------------------------------------------------


def _register_dep(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "dep", "Manage dependencies")
    actions = p.add_subparsers(dest="action", metavar="<action>")
    a = new_subparser(actions, "add", "Add a dependency: <issue> depends on <depends-on>")
    a.add_argument("issue_id", metavar="issue-id")
    a.add_argument("depends_on", nargs="?", metavar="depends-on-id")
    a.add_argument("-t", "--type", dest="dep_type", default="blocks",
                   help="dependency type (blocks, parent-child, related, discovered-from, conditional-blocks, "
                        "waits-for, relates-to, duplicates, supersedes, ...; default blocks)")
    a.add_argument("--blocked-by", "--depends-on", dest="blocked_by", help="the issue this one depends on")
    a.set_defaults(run=run_dep_add)
    r = new_subparser(actions, "remove", "Remove a dependency", aliases=("rm",))
    r.add_argument("issue_id", metavar="issue-id")
    r.add_argument("depends_on", metavar="depends-on-id")
    r.add_argument("-t", "--type", dest="dep_type", help="remove only the edge of this type")
    r.set_defaults(run=run_dep_remove)
    li = new_subparser(actions, "list", "List what an issue depends on (or, with --direction up, its dependents)")
    li.add_argument("issue_id", metavar="issue-id")
    li.add_argument("--direction", default="down", choices=("down", "up"), help="down (default) or up")
    li.add_argument("-t", "--type", dest="dep_type", help="only this dependency type")
    li.set_defaults(run=run_dep_list)
    t = new_subparser(actions, "tree", "Show the dependency tree of an issue")
    t.add_argument("issue_id", metavar="issue-id")
    t.add_argument("--direction", help="down (what it depends on, default), up (its dependents) or both")
    t.add_argument("--reverse", action="store_true", help="same as --direction up (deprecated)")
    t.add_argument("-d", "--max-depth", type=int_arg(), default=50, help="maximum depth (default 50)")
    t.add_argument("--show-all-paths", action="store_true", help="do not deduplicate nodes reached twice")
    t.add_argument("--status", help="only nodes with this status (and their ancestors)")
    t.add_argument("--format", help="'mermaid' for a Mermaid.js flowchart")
    t.set_defaults(run=run_dep_tree)
    c = new_subparser(actions, "cycles", "Detect dependency cycles")
    c.set_defaults(run=run_dep_cycles)
    p.set_defaults(run=lambda ctx: _usage(ctx, p))


def run_dep_add(ctx: Context) -> int:
    args = ctx.args
    if args.blocked_by and args.depends_on:
        raise InvalidInput("cannot use both positional depends-on-id and --blocked-by/--depends-on flag")
    target = args.blocked_by or args.depends_on
    if not target:
        raise InvalidInput("requires 2 arg(s), only received 1 (or use --blocked-by/--depends-on flag)")
    tracker = ctx.writer("dep add")
    dep = tracker.add_dependency(args.issue_id, target, args.dep_type)
    _warn_cycles(ctx)
    if ctx.json:
        # Keys in the order Go's encoder writes a map: sorted.
        ctx.emit({"depends_on_id": dep["depends_on_id"], "issue_id": dep["issue_id"], "status": "added",
                  "type": dep["type"]})
    else:
        ctx.out(f"✓ Added dependency: {dep['issue_id']} depends on {dep['depends_on_id']} ({dep['type']})")
    return 0


def _warn_cycles(ctx: Context) -> None:
    """Cycles cannot be added here, but an import can bring them in: say so, as the original does."""
    cycles = ctx.tracker().cycles_after_add()
    if not cycles or ctx.quiet:
        return
    paths = "\n".join("  " + " → ".join([*c, c[0]]) for c in cycles)
    ctx.err(f"\n⚠ Warning: Dependency cycle detected!\nThis can hide issues from the ready work list and cause "
            f"confusion.\n\nCycle path:\n{paths}\n\nRun 'bd dep cycles' for detailed analysis.\n")


def run_dep_remove(ctx: Context) -> int:
    args = ctx.args
    tracker = ctx.writer("dep remove")
    src = tracker.resolve_id(args.issue_id)
    dst = args.depends_on if args.depends_on.startswith("external:") else tracker.resolve_id(args.depends_on)
    tracker.remove_dependency(src, dst, args.dep_type)
    if ctx.json:
        ctx.emit({"depends_on_id": dst, "issue_id": src, "status": "removed"})
    else:
        ctx.out(f"✓ Removed dependency: {src} no longer depends on {dst}")
    return 0


def run_dep_list(ctx: Context) -> int:
    args = ctx.args
    shown = ctx.tracker().show(args.issue_id)
    key = "dependents" if args.direction == "up" else "dependencies"
    items = [i for i in shown.get(key, []) if not args.dep_type or i["dependency_type"] == args.dep_type]
    if ctx.json:
        ctx.emit(items)
        return 0
    real = shown["id"]
    if not items:
        if args.direction == "up":
            ctx.out(f"\nNo issues depend on {real}" + (f" with type '{args.dep_type}'" if args.dep_type else ""))
        else:
            ctx.out(f"\n{real} has no dependencies" + (f" of type '{args.dep_type}'" if args.dep_type else ""))
        return 0
    head = f"\n📋 Issues that depend on {real}:\n" if args.direction == "up" else f"\n📋 {real} depends on:\n"
    lines = [head] + [f"  {i['id']}: {i.get('title', '')} [P{i.get('priority', 0)}] ({i.get('status', '')}) "
                      f"via {i['dependency_type']}" for i in items]
    ctx.out("\n".join(lines) + "\n")
    return 0


def run_dep_tree(ctx: Context) -> int:
    from beads.core.views import wire

    args = ctx.args
    direction = args.direction or ("up" if args.reverse else "down")
    nodes = ctx.tracker().dep_tree(args.issue_id, direction=direction, max_depth=args.max_depth,
                                   show_all_paths=args.show_all_paths, status=args.status or None)
    tree = [{**wire(n["issue"]), "depth": n["depth"], "parent_id": n["parent_id"], "truncated": n["truncated"]}
            for n in nodes]
    if args.format == "mermaid":
        ctx.out(_mermaid(tree, args.issue_id))
        return 0
    if args.format:
        raise InvalidInput(f"unknown format {args.format!r} (supported: mermaid)")
    if ctx.json:
        ctx.emit(tree)
        return 0
    root = tree[0]["id"] if tree else args.issue_id
    if not tree:
        what = {"up": "no dependents", "both": "no dependencies or dependents"}.get(direction, "no dependencies")
        ctx.out(f"\n{root} has {what}")
        return 0
    title = {"up": "Dependent tree", "both": "Full dependency graph"}.get(direction, "Dependency tree")
    ctx.out(f"\n🌲 {title} for {root}:\n")
    ready = ctx.tracker().is_ready(root)
    ctx.out("\n".join(_tree_lines(tree, args.max_depth, root_ready=ready)) + "\n")
    return 0


_STATUS_MARK = {"open": "☐", "in_progress": "◧", "blocked": "⚠", "deferred": "❄", "closed": "☑"}


def _mermaid(tree: list[dict[str, Any]], root_arg: str) -> str:
    lines = ["flowchart TD"]
    if not tree:
        lines.append(f'  {root_arg}["No dependencies"]')
        return "\n".join(lines)
    seen: set[str] = set()
    for node in tree:
        if node["id"] in seen:
            continue
        seen.add(node["id"])
        label = f"{_STATUS_MARK.get(node.get('status', ''), '?')} {node['id']}: {node.get('title', '')}"
        label = label.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'  {node["id"]}["{label}"]')
    lines.append("")
    lines += [f"  {n['parent_id']} --> {n['id']}" for n in tree if n["parent_id"] and n["parent_id"] != n["id"]]
    return "\n".join(lines)


def _tree_lines(tree: list[dict[str, Any]], max_depth: int, *, root_ready: bool = False) -> list[str]:
    """Box-drawing rendering; a node reached twice prints ``(shown above)``."""
    children: dict[str, list[dict[str, Any]]] = {}
    for node in tree[1:]:
        children.setdefault(node["parent_id"], []).append(node)
    lines: list[str] = []
    seen: set[str] = set()
    stack: list[tuple[dict[str, Any], str, str]] = [(tree[0], "", "")]
    while stack:
        node, prefix, branch = stack.pop()
        if node["id"] in seen:
            lines.append(f"{prefix}{branch}{node['id']} (shown above)")
            continue
        seen.add(node["id"])
        kids = children.get(node["id"], [])
        line = f"{node['id']}: {node.get('title', '')} [P{node.get('priority', 0)}] ({node.get('status', '')})"
        if node["id"].startswith("external:"):
            line = f"{node.get('title', node['id'])} (external)"
        elif node["depth"] == 0 and root_ready:  # what `bd ready` would offer (the original: any open root)
            line += " [READY]"
        if node["truncated"] or (node["depth"] == max_depth and kids):
            line += " …"
        lines.append(f"{prefix}{branch}{line}")
        child_prefix = prefix + ("" if not branch else ("    " if branch.startswith("└") else "│   "))
        for n, kid in reversed(list(enumerate(kids))):
            stack.append((kid, child_prefix, "└── " if n == len(kids) - 1 else "├── "))
    return lines


def run_dep_cycles(ctx: Context) -> int:
    from beads.core.views import wire

    cycles = ctx.tracker().cycle_issues()
    if ctx.json:
        ctx.emit([[wire(i) for i in cycle] for cycle in cycles])
        return 0
    if not cycles:
        ctx.out("\n✓ No dependency cycles detected\n")
        return 0
    lines = [f"\n⚠ Found {len(cycles)} dependency cycles:\n"]
    for n, cycle in enumerate(cycles, 1):
        lines.append(f"{n}. Cycle involving:")
        lines += [f"   - {i['id']}: {i.get('title', '')}" for i in cycle]
        lines.append("")
    ctx.out("\n".join(lines))
    return 0


# -- relate / unrelate -----------------------------------------------------------------------


def _register_relate(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "relate", "Create a bidirectional relates-to link between two issues")
    p.add_argument("id1")
    p.add_argument("id2")
    p.set_defaults(run=run_relate)


def _register_unrelate(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "unrelate", "Remove the relates-to link between two issues")
    p.add_argument("id1")
    p.add_argument("id2")
    p.set_defaults(run=run_unrelate)


def run_relate(ctx: Context) -> int:
    a, b = ctx.writer("relate").relate(ctx.args.id1, ctx.args.id2)
    if ctx.json:
        ctx.emit({"id1": a, "id2": b, "related": True})
    else:
        ctx.out(f"✓ Linked {a} ↔ {b}")
    return 0


def run_unrelate(ctx: Context) -> int:
    a, b = ctx.writer("unrelate").unrelate(ctx.args.id1, ctx.args.id2)
    if ctx.json:
        ctx.emit({"id1": a, "id2": b, "unrelated": True})
    else:
        ctx.out(f"✓ Unlinked {a} ↔ {b}")
    return 0


# -- duplicate / supersede -------------------------------------------------------------------


def _register_duplicate(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "duplicate", "Mark an issue as a duplicate of another and close it")
    p.add_argument("issue_id", metavar="id")
    p.add_argument("--of", required=True, dest="canonical", help="the canonical issue (required)")
    p.set_defaults(run=run_duplicate)


def _register_supersede(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "supersede", "Mark an issue as superseded by a newer one and close it")
    p.add_argument("issue_id", metavar="id")
    p.add_argument("--with", required=True, dest="replacement", help="the replacement issue (required)")
    p.set_defaults(run=run_supersede)


def run_duplicate(ctx: Context) -> int:
    dup, canonical = ctx.writer("duplicate").mark_duplicate(ctx.args.issue_id, ctx.args.canonical)
    if ctx.json:
        ctx.emit({"canonical": canonical, "duplicate": dup, "status": "closed"})
    else:
        ctx.out(f"✓ Marked {dup} as duplicate of {canonical} (closed)")
    return 0


def run_supersede(ctx: Context) -> int:
    old, new = ctx.writer("supersede").mark_superseded(ctx.args.issue_id, ctx.args.replacement)
    if ctx.json:
        ctx.emit({"replacement": new, "status": "closed", "superseded": old})
    else:
        ctx.out(f"✓ Marked {old} as superseded by {new} (closed)")
    return 0
