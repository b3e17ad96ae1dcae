#!/usr/bin/env bash
# Set up everything, then run the demo sede (hub, apps, scripted traffic) plus central.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/alegra demo "$@"
