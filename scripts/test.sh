#!/usr/bin/env bash
# Set up everything, then lint (ruff, import-linter) and run the whole test suite.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -m "not slow" tests/hub
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit 1
export QT_QPA_PLATFORM=offscreen
status=0
echo "== ruff"; .venv/bin/ruff check . || status=1
echo "== ruff format --check"; .venv/bin/ruff format --check --quiet . || status=1
echo "== import-linter"; .venv/bin/lint-imports || status=1
echo "== pytest"
# Tests wait on PostgreSQL, Mosquitto, subprocesses and Chromium more than on the CPU: a few
# workers keep both cores busy. Each test file stays on one worker (module fixtures).
.venv/bin/python -m pytest -n "${ALEGRA_TEST_WORKERS:-3}" --dist loadfile "$@"
rc=$?
# pytest exit 5 means no tests were collected: that is a failure here, not a success.
[ $rc -ne 0 ] && status=1
exit $status
