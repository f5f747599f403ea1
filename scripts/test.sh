#!/usr/bin/env bash
# The whole test suite on real data and the real model (small subsets; a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
