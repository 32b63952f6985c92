#!/usr/bin/env bash
# Create .venv (once) and install the pinned requirements; `--test` adds the test tools, Ray (for
# the cluster engine's test), Debian's Chromium for the browser tests and PostgreSQL for the class
# store's tests. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
# A lesson's homework page decodes with ONNX Runtime Web, copied into the export from here
# (gitignored); pinned like explorer/lessons/homework/runtime.py's ORT_WEB_VERSION.
ORT_WEB=onnxruntime-web@1.30.0
if ! grep -qs '"version": "1.30.0"' .cache/npm/node_modules/onnxruntime-web/package.json; then
  if ! command -v npm >/dev/null && [ "${1:-}" = "--test" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
  fi
  if command -v npm >/dev/null; then
    npm install --prefix .cache/npm --no-audit --no-fund --silent "$ORT_WEB"
  else
    echo "npm not found: exporting a lesson as homework needs $ORT_WEB (install npm, run again)" >&2
  fi
fi
# Charts are exported for slides (PNG/SVG) by Kaleido, which drives a headless Chromium: Debian's
# (installed below with --test) or whichever BROWSER_PATH names.
if [ "${1:-}" != "--test" ] && ! command -v chromium >/dev/null && [ -z "${BROWSER_PATH:-}" ]; then
  echo "chromium not found: exporting a chart as PNG/SVG needs it (apt-get install chromium)" >&2
fi
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
  # The optional Ray engine is tested against a real local head, so the tests install it.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-ray.txt
  # The browser tests and the chart exports drive Debian's Chromium (Playwright's own browser
  # download is not used);
  # the class store's tests start a throwaway PostgreSQL server from Debian's postgresql.
  NEED=""
  [ -x /usr/bin/chromium ] || NEED="$NEED chromium"
  command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || NEED="$NEED postgresql"
  if [ -n "$NEED" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $NEED >/dev/null
  fi
fi
