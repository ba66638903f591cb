"""Commands that show the shape of the work: ``bd graph`` and ``bd triage``.

The graph is loaded and analysed in ``beads.core.insight`` / ``beads.core.analysis``;
this module only draws it (ASCII boxes by layer, a compact tree, DOT, Mermaid) or prints
the triage report (docs/GRAPH.md).
"""

from __future__ import annotations

from beads.cli.main import new_subparser
from beads.cli.render import visible
from beads.errors import InvalidInput

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Iterator
    from typing import Any

    from beads.cli.context import Context
    from beads.cli.style import Painter

FORMATS = ("ascii", "dot", "mermaid", "json")


def register(sub: argparse._SubParsersAction, name: str) -> None:
    {"graph": _register_graph, "triage": _register_triage}[name](sub)


# -- graph ------------------------------------------------------------------------------------


def _register_graph(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "graph", "Display the dependency graph of an issue (or of all open issues)")
    p.add_argument("issue_id", nargs="?", metavar="issue-id")
    p.add_argument("--all", action="store_true", help="every open issue, one graph per connected group")
    p.add_argument("--compact", action="store_true", help="tree format, one line per issue")
    p.add_argument("--box", action="store_true", help="ASCII boxes by layer (the default)")
    p.add_argument("--format", default="ascii", help="ascii (default), dot (Graphviz), mermaid or json")
    p.set_defaults(run=run_graph)


def run_graph(ctx: Context) -> int:
    from beads.core import insight

    args = ctx.args
    if args.all and args.issue_id:
        raise InvalidInput("cannot specify issue ID with --all flag")
    if not args.all and not args.issue_id:
        raise InvalidInput("issue ID required (or use --all for all open issues)")
    fmt = "json" if ctx.json else (args.format or "ascii").lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"invalid --format {args.format!r} (use ascii, dot, mermaid or json)")
    tracker = ctx.tracker()
    graphs = insight.iter_graph_all(tracker) if args.all else iter([insight.graph_of(tracker, args.issue_id)])
    if fmt == "json":
        if args.all:  # an array written as its graphs are read, never all at once
            ctx.emit_chunks(insight.graphs_json_chunks(tracker, graphs))
        else:
            ctx.emit(insight.graphs_json(tracker, list(graphs))[0])
        return 0
    first = next(graphs, None)
    if first is None:
        ctx.out("No open issues found")
        return 0
    import itertools

    from beads.cli import style

    # drawn and written a graph at a time: 30,000 groups' boxes never sit in memory together
    graphs = itertools.chain([first], graphs)
    if fmt == "dot":
        style.write_all(ctx, dot_lines(graphs))
    elif fmt == "mermaid":
        style.write_all(ctx, mermaid_lines(graphs))
    else:
        style.write_all(ctx, ascii_lines(style.painter(ctx), graphs, compact=args.compact))
    return 0


def ascii_lines(p: Painter, graphs: Iterable[dict[str, Any]], *, compact: bool) -> Iterator[str]:
    for n, graph in enumerate(graphs):
        if n:
            yield "─" * 60
        yield from compact_lines(p, graph) if compact else box_lines(p, graph)


def _node(graph: dict[str, Any], issue_id: str) -> dict[str, Any]:
    return graph["nodes"][issue_id]


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def box_lines(p: Painter, graph: dict[str, Any]) -> list[str]:
    """The original's default view: one box per issue, layer by layer (layer 0 can start now)."""
    ids, root = graph["ids"], graph["root"]
    blocks: dict[str, int] = {}
    needs: dict[str, int] = {}
    for a, b, dep_type in graph["edges"]:
        if dep_type == "blocks" and b != root:  # "needs: the root" is what the whole graph says
            blocks[b] = blocks.get(b, 0) + 1
            needs[a] = needs.get(a, 0) + 1
    titles = {i: visible(_truncate(_node(graph, i)["title"], 30)) for i in ids}
    dep_text = max((len(f"blocks:{blocks.get(i, 0)} needs:{needs.get(i, 0)}") for i in ids if i in blocks or i in needs),
                   default=0)
    width = max(max(len(t) for t in titles.values()) + 4, max(len(visible(i)) for i in ids) + 2, dep_text + 2, 14)
    lines = ["", f"{p.accent('📊')} Dependency graph for {visible(root)}:", "",
             "  Status: ○ open  ◐ in_progress  ● blocked  ✓ closed", ""]
    for n, row in enumerate(graph["layers"]):
        lines.append(f"  Layer {n}" + (" (ready)" if n == 0 else ""))
        for issue_id in row:
            node = _node(graph, issue_id)
            status = node["status"]
            title = titles[issue_id].ljust(width - 4)
            lines.append("  ┌" + "─" * width + "┐")
            lines.append(f"  │ {p.status_icon(status)} {title if status == 'open' else p.status_text(status, title)} │")
            lines.append(f"  │ {p.muted(visible(issue_id).ljust(width - 2))} │")
            parts = [(f"blocks:{blocks[issue_id]}", "blocked")] if blocks.get(issue_id) else []
            if needs.get(issue_id):
                parts.append((f"needs:{needs[issue_id]}", "muted"))
            if parts:
                plain = " ".join(text for text, _ in parts)
                styled = " ".join(p.paint(text, colour) for text, colour in parts)
                lines.append(f"  │ {styled}{' ' * max(width - 2 - len(plain), 0)} │")
            lines.append("  └" + "─" * width + "┘")
        if n < len(graph["layers"]) - 1:
            lines += ["      │", "      ▼"]
        lines.append("")
    blocking = sum(1 for e in graph["edges"] if e[2] == "blocks")
    if blocking:
        lines.append(f"  Dependencies: {blocking} blocking relationships")
    lines += [f"  Total: {len(ids)} issues across {len(graph['layers'])} layers", ""]
    return lines


def compact_lines(p: Painter, graph: dict[str, Any]) -> list[str]:
    """``--compact``: one line per issue under its layer, children of a parent nested under it."""
    ids = graph["ids"]
    children: dict[str, list[str]] = {}
    for a, b, dep_type in graph["edges"]:
        if dep_type == "parent-child":
            children.setdefault(b, []).append(a)
    for kids in children.values():
        kids.sort(key=lambda k: (_node(graph, k)["priority"], k))
    lines = ["", f"{p.accent('📊')} Dependency graph for {visible(graph['root'])} ({len(ids)} issues, "
             f"{len(graph['layers'])} layers)", "", "  Status: ○ open  ◐ in_progress  ● blocked  ✓ closed  ❄ deferred",
             ""]

    def line(issue_id: str) -> str:
        node = _node(graph, issue_id)
        return p.pretty_issue({**node, "title": _truncate(node["title"], 50)})

    for n, row in enumerate(graph["layers"]):
        lines.append("  " + p.accent(f"LAYER {n}" + (" (ready)" if n == 0 else "")))
        for k, issue_id in enumerate(row):
            last = k == len(row) - 1
            lines.append(f"  {'└── ' if last else '├── '}{line(issue_id)}")
            shown = {issue_id}
            stack: list[tuple[list[str], int, str]] = [(children.get(issue_id, []), 0, "    " if last else "│   ")]
            while stack:
                kids, j, prefix = stack.pop()
                if j >= len(kids):
                    continue
                stack.append((kids, j + 1, prefix))
                kid = kids[j]
                if kid in shown:
                    continue
                shown.add(kid)
                end = j == len(kids) - 1
                lines.append(f"  {prefix}{'└── ' if end else '├── '}{line(kid)}")
                stack.append((children.get(kid, []), 0, prefix + ("    " if end else "│   ")))
        lines.append("")
    return lines


_DOT_FILL = {"closed": "lightgray", "in_progress": "lightyellow", "blocked": "lightcoral", "deferred": "lightblue"}
_DOT_EDGE = {"blocks": 'color="red"', "parent-child": 'color="blue", style="dashed", arrowhead="none"'}


def _q(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def dot_lines(graphs: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Graphviz: one cluster per graph, blockers above what they block (edges point to the blocked)."""
    yield from ("digraph beads {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fillcolor="white"];')
    for n, graph in enumerate(graphs):
        lines = [f"  subgraph cluster_{n} {{"]
        lines.append(f"    label={_q(graph['root'])};")
        for issue_id in graph["ids"]:
            node = _node(graph, issue_id)
            label = f"{issue_id}\n{_truncate(node['title'], 40)}\nP{node['priority']} {node['status']}"
            lines.append(f"    {_q(issue_id)} [label={_q(label)}, "
                         f"fillcolor={_q(_DOT_FILL.get(node['status'], 'white'))}];")
        lines.append("  }")
        for a, b, dep_type in graph["edges"]:
            attrs = _DOT_EDGE.get(dep_type, f'color="gray", style="dotted", label={_q(dep_type)}')
            lines.append(f"  {_q(b)} -> {_q(a)} [{attrs}];")
        yield from lines
    yield "}"


def mermaid_lines(graphs: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Mermaid flowchart: nodes ``id["○ id: title"]``, ``blocker --> blocked``, ``parent -.- child``."""
    from beads.cli.style import STATUS_ICONS

    names: dict[str, str] = {}

    def name(issue_id: str) -> str:
        if issue_id not in names:
            names[issue_id] = f"n{len(names)}"
        return names[issue_id]

    yield "flowchart TD"
    for graph in graphs:
        lines: list[str] = []
        for issue_id in graph["ids"]:
            node = _node(graph, issue_id)
            text = f"{STATUS_ICONS.get(node['status'], '?')} {issue_id}: {_truncate(node['title'], 40)}"
            text = text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            lines.append(f'  {name(issue_id)}["{visible(text)}"]')
        for a, b, dep_type in graph["edges"]:
            arrow = "-.-" if dep_type == "parent-child" else "-->" if dep_type == "blocks" else f"-.->|{dep_type}|"
            lines.append(f"  {name(b)} {arrow} {name(a)}")
        yield from lines


# -- triage -----------------------------------------------------------------------------------


def _register_triage(sub: argparse._SubParsersAction) -> None:
    p = new_subparser(sub, "triage", "What to work on next, and why (ranked from the dependency graph)")
    p.add_argument("--brief", action="store_true", help="a summary that fits in 2 KB (for agents)")
    p.add_argument("-n", "--limit", type=int, default=10, help="recommendations shown in text (default 10)")
    p.set_defaults(run=run_triage)


def run_triage(ctx: Context) -> int:
    from beads.core import insight, triage

    report = insight.triage(ctx.tracker())
    if ctx.args.brief:
        if ctx.json:
            doc = triage.brief(report)
            ctx.emit(doc)
        else:
            doc = triage.brief(report, size=lambda d: len("\n".join(brief_lines(d)).encode()) + 1)
            ctx.out("\n".join(brief_lines(doc)))
        return 0
    if ctx.json:
        ctx.emit(report)
        return 0
    from beads.cli import style

    style.write(ctx, report_lines(style.painter(ctx), report, max(ctx.args.limit, 0)))
    return 0


def brief_lines(doc: dict[str, Any]) -> list[str]:
    """Plain text of the brief document (at most ~2 KB: the document itself is capped)."""
    lines = [f"Triage: {doc['ready']} ready, {doc['blocked']} blocked, {doc['in_progress']} in progress, "
             f"{doc['open']} open"]
    for n, item in enumerate(doc["next"], 1):
        lines.append(f"{n}. {item['id']} {item['title']} ({item['why']})")
    if doc["quick_wins"]:
        lines.append("Quick wins: " + ", ".join(doc["quick_wins"]))
    if doc["blockers"]:
        lines.append("Top blockers: " + ", ".join(f"{b['id']} ({b['unblocks']})" for b in doc["blockers"]))
    lines.append(f"Tracks: {doc['tracks']}; cycles: {doc['cycles']}; orphans: {doc['orphans']}")
    return lines


def report_lines(p: Painter, report: dict[str, Any], limit: int) -> list[str]:
    s = report["summary"]
    lines = ["", f"{p.accent('🎯')} Triage: {s['ready']} ready, {s['blocked']} blocked, {s['in_progress']} in progress "
             f"({s['open_issues']} open, {s['closed']} closed)", ""]
    recs = report["recommendations"]
    if not recs:
        lines.append("No ready work.")
    for r in recs[:limit]:
        lines.append(f"{r['rank']:>2}. {p.status_icon(r['status'])} {visible(r['id'])} {p.priority(r['priority'])} "
                     f"{visible(r['title'])}")
        score = p.muted(f"score {r['score']:.4f}")
        lines.append(f"    {score} unblocks {r['unblocks']}, depth {r['depth']}, importance {r['pagerank']:.6f}: "
                     f"{visible(r['reason'])}")
    if len(recs) > limit:
        lines.append(p.muted(f"    … {len(recs) - limit} more (bd triage --json for all)"))
    sections = [
        ("Quick wins", [f"{visible(w['id'])}: {visible(w['title'])} ({w['reason']})" for w in report["quick_wins"]]),
        ("Top blockers", [f"{visible(b['id'])}: {visible(b['title'])} (unblocks {b['unblocks']}"
                          + ("" if b["ready"] else ", itself blocked") + ")" for b in report["top_blockers"]]),
        ("Parallel tracks", [f"track {t['track']}: start with {visible(t['lead'])} ({t['ready_count']} ready of "
                             f"{t['size']})" for t in report["parallel_tracks"][:limit]]),
    ]
    warnings = report["warnings"]
    health = [("cycle: " + " → ".join(visible(i) for i in c)) for c in warnings["cycles"]]
    health += [f"orphan: {visible(o['id'])} ({o['reason']}: {visible(o['other'])})" for o in warnings["orphans"]]
    sections.append(("Warnings", health))
    for title, items in sections:
        if items:
            heading = p.paint(title, "warn", bold=True) if title == "Warnings" else p.bold(title)
            lines += ["", heading, *(f"  {i}" for i in items)]
    lines.append("")
    return lines
