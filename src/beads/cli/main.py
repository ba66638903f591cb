"""The ``bd`` entry point: find the command, build only its parser, run it, map errors.

Start-up is the product here (agents run ``bd`` thousands of times), so this module
imports nothing heavy: the command table below names modules that are imported
only when their command runs, and only that command's argparse subtree is built.
"""

from __future__ import annotations

import os
import sys

from beads.cli.commands import ALIASES, COMMANDS, GROUPS, NO_DB_COMMANDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn

    from beads.cli.context import Context

# True inside the daemon, which runs commands in-process and must never forward them again.
IN_DAEMON = False

# Global flags that take a value (so the pre-scan can skip their argument).
_VALUE_FLAGS = {"--db", "--actor", "--lock-timeout"}


def add_global_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Persistent flags, accepted before or after the command (cobra style)."""
    import argparse

    d = argparse.SUPPRESS if suppress else None
    f = argparse.SUPPRESS if suppress else False
    g = parser.add_argument_group("global flags")
    g.add_argument("--db", default=d, help="database path (default: auto-discover .beads/*.db)")
    g.add_argument("--actor", default=d, help="actor name for audit trail (default: $BD_ACTOR, $BEADS_ACTOR, git user.name, $USER)")
    g.add_argument("--json", action="store_true", default=f, help="output in JSON format")
    g.add_argument("-q", "--quiet", action="store_true", default=f, help="suppress non-essential output")
    g.add_argument("-v", "--verbose", action="store_true", default=f, help="verbose output")
    g.add_argument("--no-daemon", action="store_true", default=f, help="force direct mode (no daemon)")
    g.add_argument("--no-auto-flush", action="store_true", default=f, help="disable automatic JSONL export")
    g.add_argument("--no-auto-import", action="store_true", default=f, help="disable automatic JSONL import")
    g.add_argument("--no-db", action="store_true", default=f, help="use no database: work on the JSONL in memory")
    g.add_argument("--sandbox", action="store_true", default=f, help="sandbox mode: no daemon, no auto-sync")
    g.add_argument("--allow-stale", action="store_true", default=f, help="allow reads from a stale database")
    g.add_argument("--readonly", action="store_true", default=f, help="read-only mode: refuse writes")
    g.add_argument("--lock-timeout", default=d, help="SQLite busy timeout (default 30s)")
    g.add_argument("--profile", action="store_true", default=f, help=argparse.SUPPRESS)


def _find_command(argv: list[str]) -> tuple[str | None, int]:
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return None, -1
        if arg.startswith("-"):
            if arg in _VALUE_FLAGS:
                i += 2
                continue
            i += 1
            continue
        return arg, i
    return None, -1


_FORMATTER: type | None = None


def _formatter() -> type:
    """RawDescriptionHelpFormatter with the width given, so argparse does not import
    shutil (+ bz2, lzma: ~2.5 ms) to probe the terminal on every run."""
    global _FORMATTER
    if _FORMATTER is not None:
        return _FORMATTER
    import argparse

    class Formatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:
            if width is None:
                try:
                    width = int(os.environ.get("COLUMNS", "")) - 2
                except ValueError:
                    try:
                        width = os.get_terminal_size(sys.stdout.fileno()).columns - 2
                    except OSError:
                        width = 98
            super().__init__(prog, indent_increment, max_help_position, width)

    _FORMATTER = Formatter
    return Formatter


_PARSER: type | None = None


def _parser_class() -> type:
    """ArgumentParser whose usage errors follow the original: ``Error: …`` and exit 1 (not 2)."""
    global _PARSER
    if _PARSER is not None:
        return _PARSER
    import argparse

    class Retry(Exception):
        """The plain parse failed: try again with flags anywhere."""

    class Parser(argparse.ArgumentParser):
        _intermixing = False
        _trial = False

        def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def,override]
            """Flags anywhere on the line, before or after positionals (as cobra does).

            A command's own parser (one with no sub-commands) parses the plain way first (0.1 ms);
            only when that leaves a positional over or fails does it parse intermixed (0.4 ms), so
            the usual command line pays nothing. ``--`` still ends the flags."""
            if self._intermixing or not self._leaf():
                return super().parse_known_args(args, namespace)
            import copy

            saved = copy.copy(namespace)
            self._trial = True
            try:
                result = super().parse_known_args(args, namespace)
                if not any(not extra.startswith("-") for extra in result[1]):
                    return result
            except Retry:
                pass
            finally:
                self._trial = False
            self._intermixing = True
            try:
                return super().parse_known_intermixed_args(args, saved)
            except TypeError:  # a layout argparse cannot intermix (e.g. a positional in an exclusive group)
                return super().parse_known_args(args, saved)
            finally:
                self._intermixing = False

        def _leaf(self) -> bool:
            leaf = getattr(self, "_is_leaf", None)
            if leaf is None:
                leaf = self.prog != "bd" and not any(
                    a.nargs in (argparse.PARSER, argparse.REMAINDER) for a in self._actions if not a.option_strings)
                self._is_leaf = leaf
            return leaf

        def error(self, message: str) -> NoReturn:  # type: ignore[override]
            if self._trial:
                raise Retry(message)
            from beads.cli.render import visible

            sys.stderr.write(f"Error: {visible(message)}\nRun '{self.prog} --help' for usage.\n")
            sys.exit(1)

    _PARSER = Parser
    return Parser


def build_parser(command: str | None) -> argparse.ArgumentParser:
    from beads import __version__

    parser = _parser_class()(
        prog="bd",
        description="bd - dependency-aware issue tracker (issues chained together like beads)",
        formatter_class=_formatter(),
        epilog=_command_summary() if command is None else None,
    )
    parser.add_argument("-V", "--version", action="version", version=f"bd version {__version__} (python)")
    add_global_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    if command is not None:
        name = ALIASES.get(command, command)
        entry = COMMANDS.get(name)
        if entry is not None:
            import importlib

            try:
                module = importlib.import_module(f"beads.cli.{entry[0]}")
            except ImportError as exc:
                if os.environ.get("BD_DEBUG"):
                    raise
                sys.stderr.write(f"Error: command '{name}' is unavailable: {exc}\n")
                sys.exit(1)
            module.register(sub, name)
    return parser


def _command_summary() -> str:
    lines = []
    for group, names in GROUPS:
        lines.append(f"{group}:")
        for name in names:
            lines.append(f"  {name:<14} {COMMANDS[name][1]}")
        lines.append("")
    lines.append("Run 'bd <command> --help' (or 'bd help <command>') for a command's flags.")
    return "\n".join(lines)


def new_subparser(sub: argparse._SubParsersAction, name: str, help_text: str,
                  aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """A subparser with the global flags attached (used by every command module)."""

    p = sub.add_parser(name, help=help_text, description=help_text, aliases=list(aliases),
                       formatter_class=_formatter())
    add_global_flags(p, suppress=True)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command, at = _find_command(argv)
    if command == "help":
        return _help(argv[at + 1:])
    if command is not None and ALIASES.get(command, command) not in COMMANDS:
        from beads.cli.render import visible

        sys.stderr.write(f"Error: unknown command \"{visible(command)}\" for \"bd\"\nRun 'bd --help' for usage.\n")
        return 1
    workspace = None
    if command is not None and not IN_DAEMON:
        from beads.daemon import client

        forwarded = client.forward(argv, ALIASES.get(command, command))
        if forwarded is not None:
            return forwarded
        workspace, client.discovered = client.discovered, None
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    from beads.cli.context import Context

    ctx = Context(args, needs_db=ALIASES.get(args.command, args.command) not in NO_DB_COMMANDS)
    if workspace is not None and getattr(args, "db", None) == client_db_flag(argv):
        ctx.use_workspace(workspace)  # the one the daemon probe found: the same discovery, not done twice
    bad = _undecodable_argument(args)
    if bad is not None:
        from beads.errors import InvalidInput

        return ctx.fail(InvalidInput(f"argument {bad} is not valid UTF-8 text"))
    return run(ctx)


def _help(topic: list[str]) -> int:
    """``bd help [command [subcommand]]``: the same text as ``bd [command …] --help``."""
    words = [w for w in topic if not w.startswith("-")]
    if not words:
        build_parser(None).print_help()
        return 0
    name = ALIASES.get(words[0], words[0])
    if name not in COMMANDS:
        from beads.cli.render import visible

        sys.stderr.write(f"Error: unknown help topic \"{visible(words[0])}\"\nRun 'bd --help' for usage.\n")
        return 1
    build_parser(name).parse_args([*words, "--help"])  # prints the help and exits 0
    return 0


# Arguments that name files: their bytes go to the OS as given, so they need not be UTF-8.
_PATH_DESTS = frozenset(("db", "file", "body_file", "from_file", "input", "output", "base", "left", "right",
                         "hook_args"))


def client_db_flag(argv: list[str]) -> str | None:
    from beads.daemon.client import _db_flag

    return _db_flag(argv)


def _undecodable_argument(args: argparse.Namespace) -> str | None:
    """The first text argument holding bytes that are not UTF-8, shown with ``\\xNN`` escapes.

    Python hands such bytes over as lone surrogates; stored, they would fail deep in
    SQLite or the JSONL writer, after part of the command ran.
    """
    from beads.cli.render import visible

    for dest, value in vars(args).items():
        if dest in _PATH_DESTS:
            continue
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return f'"{visible(item[:80])}"'
    return None


def run(ctx: Context) -> int:
    from beads.errors import BdError

    try:
        try:
            status = ctx.args.run(ctx)
            ctx.finish()
        finally:
            ctx.cleanup()
        return int(status or 0)
    except BdError as exc:
        return ctx.fail(exc)
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted\n")
        return 130
    except Exception as exc:  # one line, never a traceback, unless debugging
        if os.environ.get("BD_DEBUG"):
            raise
        return ctx.fail(BdError(_unexpected_message(exc)))


def _unexpected_message(exc: Exception) -> str:
    """A failure no code path expected: one line, without Python's internals.

    Every such case is a bug to fix where it arises (with a specific message); this only
    keeps the user's terminal free of exception names while it exists.
    """
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        return f"cannot access{where}: {exc.strerror}"
    return "unexpected internal failure (run again with BD_DEBUG=1 for the details, and report it)"


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
