#!/usr/bin/env bash
# A two-minute tour of the everyday agent loop in a throw-away git repository.
set -euo pipefail
BD=${BD:-"$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/bd"}
demo=$(mktemp -d)
cd "$demo"
git init -q
export BD_ACTOR=demo-agent
run() { echo "\$ bd $*"; "$BD" "$@"; echo; }
run init --prefix demo
epic=$("$BD" create "Ship the login page" -t epic -p 1 --silent)
design=$("$BD" create "Design the form" --parent "$epic" -p 1 --silent)
build=$("$BD" create "Build the form" --parent "$epic" -p 1 --silent)
tests=$("$BD" create "Write the tests" --parent "$epic" -p 2 --silent)
"$BD" dep add "$build" "$design" >/dev/null
"$BD" dep add "$tests" "$build" >/dev/null
run list
run ready
run update "$design" --claim
run close "$design" --reason "Form designed" --suggest-next
run ready --json
run blocked
run dep tree "$tests"
run stats
echo "Workspace left in $demo (issues are in $demo/.beads/)"
