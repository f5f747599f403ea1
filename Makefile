.PHONY: help serve test check lint eval bench build train frontend soak
help:   ## list the targets
	@grep -E '^[a-z-]+: .*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 16
serve:  ## install, build what is missing, start the service on 127.0.0.1:3000
	bash scripts/serve.sh
test:   ## install, then run the whole test suite (what CI runs)
	bash scripts/test.sh
lint:   ## ruff over the project (config in pyproject.toml)
	bash scripts/setup.sh && .venv/bin/ruff check .
check:  ## lint, then the whole test suite
	$(MAKE) lint && $(MAKE) test
eval:   ## retrieval quality, stock vs tuned model, on the dev validation split (README table)
	bash scripts/setup.sh && .venv/bin/python scripts/eval_all.py
bench:  ## the performance benchmark (README table)
	bash scripts/setup.sh && .venv/bin/python scripts/bench.py
build:  ## build the Bento (then `bentoml containerize anisim:latest` on a host with Docker)
	bash scripts/setup.sh && .venv/bin/bentoml build
train:  ## re-train the shipped adapter (2 CPU cores: about 65 min, base index included; see anisim/weights/*/README.md)
	bash scripts/setup.sh && .venv/bin/anisim prepare --models all-MiniLM-L6-v2 \
	  && .venv/bin/anisim train --out anisim/weights/anisim-minilm-l6-v2 --seed 13
frontend: ## drive the old AniSearch front end (npm ci + next build, then Chromium) against a real anisim
	bash scripts/setup.sh && .venv/bin/python scripts/frontend_check.py --out build/frontend-check
soak:   ## 64 clients x 60 s against a real anisim: errors and memory every 5 s
	bash scripts/setup.sh && .venv/bin/python scripts/soak.py
