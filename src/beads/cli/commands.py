"""The command table: name → (module under ``beads.cli``, one-line help).

Kept as data so ``bd --help`` and dispatch need no imports of the command modules;
a command's module is imported only when that command runs.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    # working with issues
    "create": ("cmd_issues", "Create a new issue (or several from a markdown file)"),
    "q": ("cmd_issues", "Quick capture: create an issue and print only its ID"),
    "show": ("cmd_issues", "Show issue details"),
    "update": ("cmd_issues", "Update one or more issues"),
    "close": ("cmd_issues", "Close one or more issues"),
    "reopen": ("cmd_issues", "Reopen closed issues"),
    "defer": ("cmd_defer", "Defer issues for later (hidden from ready; optionally until a date)"),
    "undefer": ("cmd_defer", "Undefer issues: back to open, defer date cleared"),
    "delete": ("cmd_issues", "Delete issues (tombstone; preview unless --force)"),
    "list": ("cmd_list", "List issues"),
    "search": ("cmd_list", "Search issues by text"),
    "count": ("cmd_list", "Count issues matching filters"),
    "stale": ("cmd_list", "Show issues not updated recently"),
    "label": ("cmd_labels", "Manage issue labels"),
    "comments": ("cmd_labels", "View or add comments on an issue"),
    "comment": ("cmd_labels", "Add a comment to an issue"),
    # views
    "ready": ("cmd_work", "Show ready work (no blockers, open or in progress)"),
    "blocked": ("cmd_work", "Show blocked issues"),
    "status": ("cmd_work", "Show issue database overview and statistics"),
    "epic": ("cmd_work", "Epic management: status, close-eligible"),
    "graph": ("cmd_graph", "Display the dependency graph (ASCII, DOT, Mermaid or JSON)"),
    "triage": ("cmd_graph", "What to work on next, and why (ranked from the dependency graph)"),
    # dependencies
    "dep": ("cmd_deps", "Manage dependencies"),
    "relate": ("cmd_deps", "Create a bidirectional relates-to link"),
    "unrelate": ("cmd_deps", "Remove a relates-to link"),
    "duplicate": ("cmd_deps", "Mark an issue as a duplicate of another and close it"),
    "supersede": ("cmd_deps", "Mark an issue as superseded by another and close it"),
    # sync & data
    "export": ("cmd_sync", "Export issues to JSONL"),
    "import": ("cmd_sync", "Import issues from JSONL"),
    "sync": ("cmd_git", "Synchronize issues with git (export, commit, pull, merge, push)"),
    "merge": ("cmd_git", "Git merge driver for beads JSONL files"),
    "hooks": ("cmd_git", "Manage git hooks"),
    # maintenance
    "duplicates": ("cmd_maint", "Find open issues with identical content (and merge them)"),
    "orphans": ("cmd_maint", "Open issues named in a git commit message"),
    "admin": ("cmd_maint", "Administrative commands: cleanup, compact, reset"),
    "compact": ("cmd_compact", "Compact old closed issues (agent-written summaries; no API key)"),
    "restore": ("cmd_compact", "Restore an issue's text from before its last compaction"),
    "cleanup": ("cmd_maint", "Alias of 'bd admin cleanup'"),
    "rename-prefix": ("cmd_maint", "Change the issue prefix: every ID and text reference, in one go"),
    # setup
    "init": ("cmd_setup", "Initialize bd in the current directory"),
    "config": ("cmd_setup", "Manage configuration"),
    "version": ("cmd_setup", "Print version information"),
    "where": ("cmd_setup", "Show which workspace and database bd uses"),
    "info": ("cmd_setup", "Show database and workspace information"),
    # daemon
    "daemon": ("cmd_daemon", "Run a background daemon serving this workspace (start|stop|status|restart|logs)"),
    "daemons": ("cmd_daemon", "Manage the daemons of every workspace (list|stop|killall|health|logs)"),
    "mcp": ("cmd_mcp", "Run an MCP server on stdio for AI agents (needs the mcp extra)"),
    "daemon-event": ("cmd_daemon", "Tell a running daemon the JSONL needs importing or exporting (git hooks)"),
    # agents and maintenance
    "onboard": ("cmd_agents", "Print the AGENTS.md snippet that points agents at bd"),
    "prime": ("cmd_agents", "Print workflow context for an AI agent (for session hooks)"),
    "quickstart": ("cmd_agents", "A short tour of bd's workflow"),
    "setup": ("cmd_agents", "Install the bd integration for an AI editor or agent"),
    "doctor": ("cmd_doctor", "Check the workspace's health and repair what can be repaired"),
}

ALIASES: dict[str, str] = {"new": "create", "stats": "status"}

GROUPS: list[tuple[str, list[str]]] = [
    ("Working With Issues", ["create", "q", "show", "update", "close", "reopen", "defer", "undefer", "delete", "list", "search",
                             "count", "stale", "label", "comments", "comment"]),
    ("Views & Reports", ["ready", "blocked", "status", "epic", "graph", "triage"]),
    ("Dependencies & Structure", ["dep", "relate", "unrelate", "duplicate", "supersede"]),
    ("Sync & Data", ["export", "import", "sync", "merge", "hooks"]),
    ("Setup & Configuration", ["init", "config", "version", "where", "info", "onboard", "prime", "quickstart",
                               "setup", "mcp"]),
    ("Daemon", ["daemon", "daemons", "daemon-event"]),
    ("Maintenance", ["doctor", "duplicates", "orphans", "admin", "cleanup", "compact", "restore", "rename-prefix"]),
]

# Commands that never open the database before running (spec §6.1).
NO_DB_COMMANDS = frozenset(("init", "mcp", "version", "merge", "hooks", "help", "daemon", "daemons", "daemon-event",
                            "doctor", "onboard", "prime", "quickstart", "setup"))
