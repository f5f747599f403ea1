#!/usr/bin/env bash
# Create .venv and install anisim with its pinned dependencies, once: a second run only checks a
# stamp (the hash of requirements.txt and pyproject.toml) and returns in a moment.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
stamp=.venv/.installed
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
echo "installing dependencies into .venv (first run: a few minutes)"
.venv/bin/python -m pip install -q --upgrade pip
# torch first and explicitly: a bare `torch` requirement could pull a multi-GB CUDA build here.
.venv/bin/python -m pip install -q "$(grep -E '^torch==' requirements.txt)"
.venv/bin/python -m pip install -q -e '.[dev]'
echo "$want" > "$stamp"
