"""The dependency rule between layers (style.md), checked by parsing every module's imports.

* ``model``, ``errors``, ``ids``, ``timefmt``, ``jsonfmt``, ``query``: the standard library and each other;
* ``storage``: never the layers above it (core, cli, sync, rpc, daemon, mcp);
* ``core``: never an adapter (cli, rpc, daemon, mcp) nor a front-end library (click, rich, watchfiles, mcp);
* ``sync``: never the daemon (the write barrier it uses lives in ``sync``);
* the two adapters ``cli`` and ``daemon`` meet in two places only: the CLI uses the daemon's client side
  (``client``, ``paths``, ``control``, ``autostart``, ``registry``; ``process`` for ``--foreground``), and
  the daemon runs the CLI's entry point (``beads.cli.main``) in-process;
* ``watchfiles`` is imported by ``beads.daemon`` only; the MCP SDK (``mcp``) by ``beads.mcp`` only, and the
  CLI reaches ``beads.mcp`` only through its entry point (``beads.mcp.server.main``, in ``bd mcp``);
* SQL lives only under ``storage/``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "beads"

LEAF_MODULES = ("model", "errors", "ids", "timefmt", "jsonfmt", "query", "fastjson", "whenparse")
LEAF_ALLOWED = {f"beads.{m}" for m in LEAF_MODULES}
STORAGE_FORBIDDEN = ("beads.core", "beads.cli", "beads.sync", "beads.rpc", "beads.daemon", "beads.mcp", "beads.api")
CORE_FORBIDDEN = ("beads.cli", "beads.rpc", "beads.daemon", "beads.mcp", "click", "rich", "watchfiles", "mcp",
                  "typer", "pydantic", "asyncio")
SQL = re.compile(r"\bSELECT\s|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+(OR\s+\w+\s+)?\w+\s+SET\b|\bDELETE\s+FROM\b"
                 r"|\bCREATE\s+(TABLE|INDEX|VIEW|UNIQUE)\b|\bPRAGMA\s")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(*under: str) -> list[Path]:
    roots = [SRC / u for u in under] if under else [SRC]
    out: list[Path] = []
    for root in roots:
        out.extend([root] if root.is_file() else sorted(root.rglob("*.py")))
    return out


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module imported anywhere in the file (function-local imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).rpartition(".")[0] if path.name != "__init__.py" else module_name(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names if mod.startswith("beads"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(str(node.args[0].value))
    return found


def violations(paths: list[Path], allowed: object) -> list[str]:
    bad = []
    for path in paths:
        for name in sorted(imports_of(path)):
            if not allowed(name):  # type: ignore[operator]
                bad.append(f"{path.relative_to(SRC.parent)} imports {name}")
    return bad


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def is_stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names or name == "__future__"


def test_the_import_parser_sees_type_checking_and_function_local_imports() -> None:
    tracker = imports_of(SRC / "core" / "tracker.py")
    assert "beads.storage.sqlite.store" in tracker  # under TYPE_CHECKING
    assert "beads.ids" in tracker  # from beads import ids as idgen
    assert "beads.core.setup" in imports_of(SRC / "api.py")  # inside a function


@pytest.mark.parametrize("leaf", LEAF_MODULES)
def test_leaf_modules_import_only_the_standard_library_and_each_other(leaf: str) -> None:
    def allowed(name: str) -> bool:
        if name.startswith("beads"):
            return name in LEAF_ALLOWED or any(name.startswith(m + ".") for m in LEAF_ALLOWED)
        return is_stdlib(name)

    assert violations(sources(f"{leaf}.py"), allowed) == []


def test_storage_never_imports_the_layers_above_it() -> None:
    def allowed(name: str) -> bool:
        if name.startswith("beads"):
            return not under(name, STORAGE_FORBIDDEN)
        return is_stdlib(name)

    assert violations(sources("storage"), allowed) == []


def test_core_never_imports_adapters_or_front_end_libraries() -> None:
    assert violations(sources("core"), lambda name: not under(name, CORE_FORBIDDEN)) == []


def test_sync_never_imports_the_daemon() -> None:
    assert violations(sources("sync"), lambda name: not under(name, ("beads.daemon", "beads.mcp"))) == []


CLI_MAY_USE = ("beads.daemon.client", "beads.daemon.paths", "beads.daemon.control", "beads.daemon.autostart",
               "beads.daemon.registry", "beads.daemon.process")


def test_the_cli_uses_only_the_client_side_of_the_daemon() -> None:
    def allowed(name: str) -> bool:
        return not under(name, ("beads.daemon",)) or name == "beads.daemon" or under(name, CLI_MAY_USE)

    assert violations(sources("cli"), allowed) == []


def test_the_daemon_uses_only_the_cli_entry_point() -> None:
    assert violations(sources("daemon"), lambda name: not under(name, ("beads.cli",)) or name in (
        "beads.cli", "beads.cli.main", "beads.cli.main.main")) == []


def test_watchfiles_is_imported_by_the_daemon_only() -> None:
    offenders = [f"{p.relative_to(SRC.parent)}" for p in sources() if "watchfiles" in imports_of(p)
                 and not p.is_relative_to(SRC / "daemon")]
    assert offenders == []


def test_the_mcp_sdk_is_imported_by_beads_mcp_only() -> None:
    offenders = [f"{p.relative_to(SRC.parent)}" for p in sources()
                 if any(under(n, ("mcp",)) for n in imports_of(p)) and not p.is_relative_to(SRC / "mcp")]
    assert offenders == []
    assert any(under(n, ("mcp",)) for n in imports_of(SRC / "mcp" / "server.py"))  # the check sees it


def test_beads_mcp_is_an_adapter_the_others_do_not_import() -> None:
    def allowed(name: str) -> bool:
        return not under(name, ("beads.mcp",)) or name in ("beads.mcp.server", "beads.mcp.server.main")

    assert violations(sources("cli"), allowed) == []
    assert violations(sources("daemon"), lambda n: not under(n, ("beads.mcp",))) == []
    assert violations(sources("mcp"), lambda n: not under(n, ("beads.cli", "beads.daemon"))) == []


def test_only_bd_mcp_imports_beads_mcp() -> None:
    users = [p.name for p in sources("cli") if any(under(n, ("beads.mcp",)) for n in imports_of(p))]
    assert users == ["cmd_mcp.py"]


def test_sql_appears_in_string_literals_only_under_storage() -> None:
    offenders = []
    for path in sources():
        if path.is_relative_to(SRC / "storage"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and SQL.search(node.value)):
                offenders.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_the_sql_detector_recognises_sql_and_ignores_prose() -> None:
    for sql in ("SELECT id FROM issues", "INSERT OR IGNORE INTO labels", "UPDATE issues SET x = 1",
                "DELETE FROM dirty_issues", "CREATE TABLE t (x)", "PRAGMA user_version"):
        assert SQL.search(sql), sql
    for prose in ("Select an issue to work on", "update the issue", "delete from the list", "created a table"):
        assert not SQL.search(prose), prose


EXAMPLES = SRC.parent.parent / "examples"
# What an application may import from beads: the package's front door and its exception tree.
PUBLIC_API = ("beads", "beads.errors")


def example_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            found.add(node.module or "")
    return found


def test_bd_never_imports_the_examples() -> None:
    offenders = [f"{p.relative_to(SRC.parent)} imports {name}" for p in sources() for name in imports_of(p)
                 if name.split(".")[0] in ("beads_orchestrator", "examples")]
    assert offenders == []


def test_the_orchestrator_example_uses_only_the_public_library_api() -> None:
    import beads

    files = sorted((EXAMPLES / "orchestrator" / "beads_orchestrator").rglob("*.py"))
    assert len(files) >= 5
    bad = []
    for path in files:
        for name in sorted(example_imports(path)):
            if name.split(".")[0] == "beads_orchestrator" or is_stdlib(name):
                continue
            if name not in PUBLIC_API:
                bad.append(f"{path.relative_to(EXAMPLES)} imports {name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "beads"
                    and node.attr not in beads.__all__):
                bad.append(f"{path.relative_to(EXAMPLES)} uses beads.{node.attr}")
    assert bad == []
