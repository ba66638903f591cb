#!/usr/bin/env bash
# Install bd into ./.venv (created if missing) and precompile its bytecode.
#   scripts/install.sh          install bd for use
#   scripts/install.sh --test   editable install with the test tools
# Precompiling matters: this environment may set PYTHONDONTWRITEBYTECODE=1, and
# running bd from uncompiled source costs milliseconds on every call.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
  # the example application built on the library (tests/examples runs its console script)
  .venv/bin/python -m pip install -q --no-deps -e examples/orchestrator
else
  .venv/bin/python -m pip install -q .
fi
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
.venv/bin/python -m compileall -q src "$site" >/dev/null || true
echo "bd installed: $(.venv/bin/bd version)"
