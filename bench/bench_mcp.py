"""``bd mcp`` figures (issue 8): the size of the tool list, and the latency of a ``ready`` call.

Usage::

    python bench/bench_mcp.py [--n 10000] [--calls 200]

1. bytes of the ``tools/list`` answer's tools, as compact JSON on the wire (default lazy
   schemas, and with ``--full-schemas``), and of ``discover_tools``; target < 3 KB;
2. a ``ready`` call in-process (``beads.mcp.tools.Service.call``: argument checks, the write
   barrier's open + auto-import check, the query, the compact shaping) on a copy of the cached
   ``--n``-issue workspace: median and p95 over ``--calls`` calls; target ≤ 5 ms;
3. the same call end to end from the MCP SDK's client through ``bd mcp`` over stdio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import workspace_gen  # noqa: E402


def bd_path() -> str:
    return shutil.which("bd", path=str(Path(sys.executable).parent)) or "bd"


def ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def tool_list_bytes() -> None:
    from beads.mcp.server import tool_list
    from beads.mcp.tools import Service

    for full in (False, True):
        tools = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tool_list(full)]
        label = "full schemas" if full else "lazy (default)"
        print(f"tools/list, {label}: {len(json.dumps(tools, separators=(',', ':')))} bytes, {len(tools)} tools")
    catalogue = Service().call("discover_tools", {})
    print(f"discover_tools: {len(json.dumps(catalogue, separators=(',', ':')))} bytes")


def in_process(ws: Path, calls: int) -> None:
    from beads.mcp.tools import Service

    service = Service(root=str(ws), actor="bench")
    for args in ({}, {"brief": True}, {"limit": 50}):
        service.call("ready", args)  # warm
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            service.call("ready", args)
            samples.append(time.perf_counter() - start)
        print(f"ready {json.dumps(args)} in-process: {ms(samples)}")


def over_stdio(ws: Path, calls: int) -> None:
    import anyio

    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=bd_path(), args=["mcp"], cwd=str(ws), env={"BD_ACTOR": "bench"})

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("ready", {})
            samples = []
            for _ in range(calls):
                start = time.perf_counter()
                await session.call_tool("ready", {})
                samples.append(time.perf_counter() - start)
            print(f"ready over stdio (SDK client -> bd mcp): {ms(samples)}")

    anyio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    tool_list_bytes()
    root, _, built = workspace_gen.build(args.n, bd_path())
    if built is not None:
        print(f"(built the {args.n}-issue workspace in {built:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="bd-bench-mcp-") as tmp:
        ws = workspace_gen.fresh_copy(root, Path(tmp) / "ws")
        os.environ.pop("BEADS_DIR", None)
        os.environ.pop("BEADS_DB", None)
        print(f"workspace: {args.n} issues")
        in_process(ws, args.calls)
        over_stdio(ws, args.calls)


if __name__ == "__main__":
    main()
