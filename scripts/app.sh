#!/usr/bin/env bash
# Set up (first time only) and start the app: http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# `python -m streamlit`: the training workers then need not re-import a launcher script.
exec .venv/bin/python -m streamlit run app.py "$@"
