.PHONY: serve test eval bench build
serve:  ## install, build what is missing, start the service on 127.0.0.1:3000
	bash scripts/serve.sh
test:   ## install, then run the whole test suite
	bash scripts/test.sh
eval:   ## retrieval quality on the dev sets, every mode (README table)
	bash scripts/setup.sh && .venv/bin/python scripts/eval_all.py
bench:  ## the performance benchmark (README table)
	bash scripts/setup.sh && .venv/bin/python scripts/bench.py
build:  ## build the Bento (then `bentoml containerize anisim:latest` on a host with Docker)
	bash scripts/setup.sh && .venv/bin/bentoml build
