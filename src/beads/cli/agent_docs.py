"""The texts agents read: the AGENTS.md snippet (``bd onboard``), the session context
(``bd prime``), the tour (``bd quickstart``) and the instruction files ``bd setup`` writes.

Written for tokens: ``bd prime`` stays under 2 KB with its live counts (a session hook
that prints more is cut short by some agents), and every command shown here runs as
written (``tests/e2e/test_agents.py`` runs the quickstart's commands).
"""

from __future__ import annotations

ONBOARD_SNIPPET = """\
## Issue tracking

This project tracks its work with **bd** (beads), a git-backed issue tracker.
Run `bd prime` at the start of a session for the workflow and the current state.

- `bd ready` - issues with no open blockers, ready to work on
- `bd create "Title" -t task -p 2` - file new work (priorities 0-4, 0 = critical)
- `bd update <id> --claim` - take an issue (assigns you, marks it in progress)
- `bd close <id> --reason "..."` - finish it
- `bd sync` - share issue changes through git at the end of a session

Use `--json` for machine-readable output. Prefer bd over ad-hoc TODO lists for
anything that outlives this session or depends on other work.
"""

ONBOARD_BEGIN = "--- BEGIN AGENTS.MD CONTENT ---"
ONBOARD_END = "--- END AGENTS.MD CONTENT ---"


def onboard_text() -> str:
    return (
        "bd onboarding: add this section to AGENTS.md (or CLAUDE.md, .github/copilot-instructions.md)\n"
        "so every agent session finds bd:\n\n"
        f"{ONBOARD_BEGIN}\n{ONBOARD_SNIPPET}{ONBOARD_END}\n\n"
        "For hooks that run `bd prime` automatically: bd setup claude (or cursor, aider, gemini, codex, factory).\n"
    )


# -- bd prime ---------------------------------------------------------------------------------

def close_protocol(mode: str) -> tuple[str, str]:
    """(checklist, note) for how a session ends: 'full', 'no-push', 'local' (no remote), 'stealth'."""
    if mode in ("stealth", "local"):
        note = ("No git remote: issues stay in this clone." if mode == "local"
                else "Stealth mode: bd makes no git operations.")
        return "[ ] bd sync --flush-only   (write issue changes to the JSONL)", note
    steps = ["[ ] git status              (what changed)", "[ ] git add <files>         (stage your code)",
             "[ ] bd sync                 (commit issue changes)", '[ ] git commit -m "..."     (commit code)']
    if mode == "no-push":
        return "\n".join(steps), "Push is disabled in config: push by hand when ready."
    steps.append("[ ] git push                (work is not done until pushed)")
    return "\n".join(steps), "Never skip this: unpushed work is invisible to everyone else."


def prime_cli(mode: str, state: str) -> str:
    checklist, note = close_protocol(mode)
    return f"""# bd workflow context

Run `bd prime` again after a compaction or a new session. Issue tracker: bd (beads).
{state}
## Before you say "done"
```
{checklist}
```
{note}

## Rules
- Track work that outlives this session, depends on other work, or was discovered on the way, in bd.
- Claim before you start; close with a reason when done; file follow-ups as new issues.
- Priorities are 0-4 (0 critical, 2 default, 4 backlog), not words. Add `--json` to parse output.

## Commands
- `bd ready` - unblocked work; `bd show <id>` - details, blockers, comments
- `bd list --status in_progress` - what is being worked on
- `bd create "Title" -t bug|feature|task|epic|chore -p 2 -d "why"` - new issue
- `bd create "Sub" --parent <epic>`; `bd dep add <issue> <blocker>` - structure
- `bd update <id> --claim` - take it; `bd update <id> --notes "..."` - progress notes
- `bd close <id> [<id>...] --reason "..."` - finish one or several
- `bd dep add <new> <id> -t discovered-from` - link work found along the way
- `bd blocked` - what waits on what; `bd sync` - share through git
"""


def prime_mcp(mode: str, state: str) -> str:
    closing = ("bd sync --flush-only" if mode in ("stealth", "local")
               else "git add, bd sync, git commit" + ("" if mode == "no-push" else ", git push"))
    return f"""# bd issue tracker active (MCP)
{state}Use the beads MCP tools: `ready` for work, `claim`/`update`, `close` with a reason, `create` for follow-ups.
Before you say "done": {closing}.
"""


# -- bd quickstart -------------------------------------------------------------------------------

QUICKSTART = """\
bd quickstart: issues with dependencies, in git, for humans and agents

Set up (once per repository; creates .beads/ and the git hooks):
  bd init

File work (`bd q` prints only the new ID, handy in scripts):
  A=$(bd q "Design the storage layer" -p 1 -t feature)
  B=$(bd q "Write the migrations" -p 2)
  bd create "Document the schema" -t task -p 3 -d "Tables, columns, indexes"

Say what waits on what (B cannot start before A is done):
  bd dep add $B $A
  bd dep tree $B

See what can be worked on now, and what is blocked:
  bd ready
  bd blocked

Take the work, leave notes, finish it:
  bd update $A --claim
  bd update $A --notes "Chose SQLite with WAL"
  bd close $A --reason "Implemented"

Closing A unblocks B:
  bd ready
  bd show $B

Review and share:
  bd list
  bd list --status closed
  bd stats
  bd sync

Every command takes --json for scripts and agents. More: bd <command> --help,
bd prime (agent workflow context), bd doctor (workspace health).
"""


# -- files written by bd setup ---------------------------------------------------------------------

RULES = f"""# bd (beads) issue tracking

{ONBOARD_SNIPPET}
At the end of a session: close finished issues, file follow-ups, then `bd sync` and push.
"""

AGENTS_BEGIN = "<!-- BEGIN BEADS INTEGRATION (bd setup) -->"
AGENTS_END = "<!-- END BEADS INTEGRATION -->"

CURSOR_RULES = f"""---
description: Issue tracking with bd (beads)
alwaysApply: true
---
<!-- bd setup cursor: managed file -->
{RULES}"""

AIDER_INSTRUCTIONS = f"""<!-- bd setup aider: managed file -->
{RULES}
Aider runs no hooks: ask the user to run `bd prime` output into the chat, or run `/run bd ready`.
"""
AIDER_CONF_BEGIN = "# BEGIN bd setup aider"
AIDER_CONF_END = "# END bd setup aider"
