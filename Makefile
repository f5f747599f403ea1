.PHONY: help serve test check lint eval bench bench-scale build container k8s-check gpu-check train frontend soak tune sync abuse
help:   ## list the targets (instant)
	@awk -F':.*## ' '/^[a-z0-9-]+: .*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
serve:  ## install, build what is missing, serve on 127.0.0.1:3000 (first run ~2 min to answer, ~11 min to full)
	bash scripts/serve.sh
test:   ## install, then the fast tier: unit, in-process ASGI and the small sample home, no server or image (~2 min)
	bash scripts/test.sh
lint:   ## ruff over the project, config in pyproject.toml (seconds)
	bash scripts/setup.sh && .venv/bin/ruff check .
check:  ## lint, then every test: servers, builds, images, the old front end; what CI runs (~10 min)
	$(MAKE) lint && bash scripts/test.sh -m ""
eval:   ## retrieval quality, stock vs tuned, synthetic validation split and real posts (~5 min)
	bash scripts/setup.sh && .venv/bin/python scripts/eval_all.py
bench:  ## the performance benchmark, docs/performance.md's table (~4 min)
	bash scripts/setup.sh && .venv/bin/python scripts/bench.py
bench-scale: ## how a search's time, memory and start grow with the catalog, 25k to 200k titles (~4 min)
	bash scripts/setup.sh && .venv/bin/python scripts/bench_scale.py
build:  ## build both Bentos, GPU and CPU; then `bentoml containerize anisim:latest` (or anisim-cpu) (~1 min)
	bash scripts/setup.sh && .venv/bin/bentoml build && .venv/bin/bentoml build -f bentofile.cpu.yaml
container: ## as root: build both images, serve each from a read-only home in a private dockerd (~5 min)
	bash scripts/setup.sh && .venv/bin/python scripts/container_check.py
k8s-check: ## render and validate deploy/kubernetes, then one Encoder and two APIs of the CPU image in a private dockerd (as root, ~6 min)
	bash scripts/setup.sh && .venv/bin/python -m pytest -q -m "" tests/test_kubernetes.py && .venv/bin/python scripts/container_check.py --only cpu
gpu-check: ## device, encode rates, index build, bench and train steps, as JSON in build/ (< 8 min on one H100)
	bash scripts/setup.sh && mkdir -p build && .venv/bin/python scripts/gpu_check.py --json build/gpu-check.json
train:  ## re-train the shipped adapter (2 CPU cores: about 65 min, base index included; see anisim/weights/*/README.md)
	bash scripts/setup.sh && .venv/bin/anisim prepare --models all-MiniLM-L6-v2 \
	  && .venv/bin/anisim train --out anisim/weights/anisim-minilm-l6-v2 --seed 13
frontend: ## drive the old AniSearch front end (npm ci, next build, Chromium) against anisim (~5 min)
	bash scripts/setup.sh && .venv/bin/python scripts/frontend_check.py --out build/frontend-check
tune:   ## re-tune the prior weights on the train split and real posts, then report (~12 min)
	bash scripts/setup.sh && .venv/bin/python scripts/tune_priors.py
soak:   ## 64 clients x 60 s against a real anisim: errors and memory every 5 s (~2 min)
	bash scripts/setup.sh && .venv/bin/python scripts/soak.py
sync:   ## fetch MAL from the Jikan API into $ANISIM_DATA_DIR, then prepare (first run ~70 min, then ~1 min)
	bash scripts/setup.sh && .venv/bin/anisim sync --prepare
abuse:  ## hostile 5,000-character descriptions, in process and beside normal clients on a real server (~2 min)
	bash scripts/setup.sh && .venv/bin/python scripts/abuse.py
