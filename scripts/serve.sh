#!/usr/bin/env bash
# One command to a running search service: install (once), build the catalogs, their BM25 indexes
# and the ONNX exports (seconds), start `bentoml serve`, and build the served models' indexes
# (ANISIM_MODELS; only what is missing or stale; cached in $ANISIM_HOME) beside it at low
# priority. Until a kind's index is written its searches answer with BM25 (`X-Anisim-Mode:
# lexical`, v1 `"mode": "lexical"`) and /v1/health says "building"; the server loads the index
# the moment the build writes it. Never trains: the tuned model's adapter ships in anisim/weights/.
#   --wait           build the indexes first, then serve (the server starts fully ready)
#   --sources DIR    raw MAL sources (default $ANISIM_DATA_DIR or ../shared/data)
#   ANISIM_HOME      built catalogs and vectors (default ./home)
#   PORT             default 3000
set -euo pipefail
cd "$(dirname "$0")/.."
wait_for_indexes=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sources) export ANISIM_DATA_DIR="$2"; shift 2 ;;
    --wait) wait_for_indexes=1; shift ;;
    *) echo "usage: scripts/serve.sh [--wait] [--sources DIR]" >&2; exit 2 ;;
  esac
done
bash scripts/setup.sh
.venv/bin/anisim prepare --step serving
home="${ANISIM_HOME:-home}"
if [ "$wait_for_indexes" = 1 ]; then
  .venv/bin/anisim prepare --step indexes
  building=""
else
  nice -n 10 .venv/bin/anisim prepare --step indexes > "$home/prepare.log" 2>&1 &
  builder=$!
  trap 'kill "$builder" 2>/dev/null || true' EXIT
  building="
Missing or stale indexes are being built beside the server (progress: tail -f $home/prepare.log);
until then searches answer with BM25 only (header X-Anisim-Mode: lexical) and /v1/health says
\"building\". Use \`scripts/serve.sh --wait\` to build first and serve after."
fi
PORT="${PORT:-3000}"
cat <<MSG

anisim is starting. Once it says it is ready:
  search page   http://127.0.0.1:${PORT}/
  API docs      http://127.0.0.1:${PORT}/docs  (OpenAPI spec: /docs.json)
or from a shell:
  curl -s -X POST http://127.0.0.1:${PORT}/anisearchmodel/anime -H 'Content-Type: application/json' \\
    -d '{"model": "sentence-transformers/all-MiniLM-L6-v2", "description": "a boy reborn as a slime in another world", "page": 1, "resultsPerPage": 3}'
${building}
MSG
.venv/bin/bentoml serve service:AniSearch --host 127.0.0.1 --port "$PORT"
