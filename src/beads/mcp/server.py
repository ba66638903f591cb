"""``bd mcp``: the tools of ``beads.mcp.tools`` served over stdio with the official MCP SDK.

The SDK's low-level server is used so that the tool list carries exactly our compact
schemas (the lazy-discovery tools give the details). A tool that fails — bad
arguments, an unknown issue, a cycle — answers ``isError`` with one line of text, and
the server goes on serving. Calls run one at a time on the event loop's thread: each is
a few milliseconds of SQLite work through the write barrier.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import mcp.types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server

from beads import __version__
from beads.errors import BdError
from beads.mcp.tools import INSTRUCTIONS, QUICKSTART, TOOLS, Service, input_schema

QUICKSTART_URI = "beads://quickstart"


def tool_list(full: bool = False) -> list[types.Tool]:
    return [types.Tool(name=name, description=desc, input_schema=input_schema(name, full=full))
            for name, (desc, _, _) in TOOLS.items()]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def build(service: Service, full_schemas: bool = False) -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tool_list(full_schemas))

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            result = service.call(params.name, params.arguments)
        except BdError as exc:
            text = exc.message + (f" ({exc.hint})" if exc.hint else "")
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
        except Exception as exc:  # noqa: BLE001 - one failed call must not end the session
            return types.CallToolResult(content=[types.TextContent(type="text", text=f"internal error: {exc}")],
                                        is_error=True)
        return types.CallToolResult(content=[types.TextContent(type="text", text=_text(result))])

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[types.Resource(
            name="Beads Quickstart Guide", uri=QUICKSTART_URI, mime_type="text/markdown")])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        if str(params.uri) != QUICKSTART_URI:
            from mcp.shared.exceptions import MCPError

            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource {params.uri}")
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=QUICKSTART_URI, text=QUICKSTART, mime_type="text/markdown")])

    return Server("beads", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool, on_list_resources=list_resources, on_read_resource=read_resource)


async def serve(service: Service, full_schemas: bool = False) -> None:
    server = build(service, full_schemas)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main(root: str | None = None, actor: str | None = None, full_schemas: bool = False) -> int:
    import anyio

    try:
        anyio.run(serve, Service(root=root, actor=actor), full_schemas)
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()
    return 0
