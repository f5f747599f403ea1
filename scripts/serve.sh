#!/usr/bin/env bash
# One command to a running search service: install (once), build the catalogs and the served
# models' indexes (ANISIM_MODELS; only what is missing or stale; cached in $ANISIM_HOME), then
# `bentoml serve`. Never trains: the tuned model's adapter ships in anisim/weights/.
#   ANISIM_DATA_DIR  raw MAL sources (default ../shared/data)   --sources DIR overrides it
#   ANISIM_HOME      built catalogs and vectors (default ./embeddings)
#   PORT             default 3000
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sources" ]; then export ANISIM_DATA_DIR="$2"; shift 2; fi
bash scripts/setup.sh
.venv/bin/anisim prepare
PORT="${PORT:-3000}"
cat <<MSG

anisim is starting. Once it says it is ready:
  search page   http://127.0.0.1:${PORT}/
  API docs      http://127.0.0.1:${PORT}/docs  (OpenAPI spec: /docs.json)
or from a shell:
  curl -s -X POST http://127.0.0.1:${PORT}/anisearchmodel/anime -H 'Content-Type: application/json' \\
    -d '{"model": "sentence-transformers/all-MiniLM-L6-v2", "description": "a boy reborn as a slime in another world", "page": 1, "resultsPerPage": 3}'

MSG
exec .venv/bin/bentoml serve service:AniSearch --host 127.0.0.1 --port "$PORT"
