"""``bd mcp``: the MCP server (optional extra ``mcp``). Only this package imports the MCP SDK."""
