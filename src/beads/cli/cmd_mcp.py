"""``bd mcp``: serve the tracker to MCP clients on stdio (needs the ``mcp`` extra)."""

from __future__ import annotations

from beads.cli.main import new_subparser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from beads.cli.context import Context


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = new_subparser(sub, "mcp", "Run an MCP server on stdio (tools: ready, list, show, create, claim, ...)")
    p.add_argument("--workspace-root", metavar="DIR",
                   help="default workspace (default: discovered from the current directory per call)")
    p.add_argument("--full-schemas", action="store_true",
                   help="list every parameter in the tool schemas (default: the common ones; "
                        "get_tool_info gives the rest)")
    p.set_defaults(run=run_mcp)


def run_mcp(ctx: Context) -> int:
    from beads.errors import BdError

    try:
        from beads.mcp.server import main
    except ImportError as exc:
        raise BdError(f"bd mcp needs the MCP SDK ({exc.name or exc}): pip install 'beads-py[mcp]'") from None
    actor = getattr(ctx.args, "actor", None)  # else resolved per workspace, as the CLI does
    return main(root=ctx.args.workspace_root, actor=actor, full_schemas=ctx.args.full_schemas)
