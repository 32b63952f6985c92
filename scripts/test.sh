#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite: unit, page (AppTest) and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
