#!/usr/bin/env bash
# The whole test suite on real data and the real model (small subsets; a few minutes), browser
# tests included: they drive Debian's Chromium, installed here when missing (as root, e.g. in CI;
# browser downloads do not work on this network, so Playwright's own browsers are never fetched).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium for the browser tests"
    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  else
    echo "the browser tests need Chromium: sudo apt-get install chromium" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
