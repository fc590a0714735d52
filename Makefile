# The two commands the README promises on a fresh machine: `make demo` and `make test`.
# Everything they need (virtualenv, PyTorch CPU wheel, the package, Fashion-MNIST) is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.gankit-installed
RUNS   ?= runs

.PHONY: setup data browser demo test test-fast bench clean

setup: $(STAMP)

# torch==2.13.0 first: the CPU wheel on this machine's disk. A bare `torch` would pull a multi-GB CUDA build;
# the constraint keeps later packages (sentence-transformers for the minilm text encoder) on that wheel too.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	echo "torch==2.13.0" > $(VENV)/torch-constraint.txt
	$(BIN)/pip install -q -c $(VENV)/torch-constraint.txt -e '.[test,text,dashboard,tensorboard]'
	touch $(STAMP)

data:
	./scripts/install-data.sh

# Debian's Chromium for the dashboard's browser tests (Playwright drives /usr/bin/chromium; it downloads nothing).
browser:
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

demo: setup data
	$(BIN)/gankit train ring8-gan --out $(RUNS)/demo-ring8 --suffix
	$(BIN)/gankit train fashion-dcgan --set train.minutes=3 --out $(RUNS)/demo-fashion --suffix
	@echo
	@echo "Demo done. Pictures and scores (newest run of each):"
	@ls -dt $(RUNS)/demo-ring8* | head -1 | sed 's|$$|/  <- samples/, progress.gif, curves.png, scores.json|'
	@ls -dt $(RUNS)/demo-fashion* | head -1 | sed 's|$$|/  <- samples/, progress.gif, curves.png|'

test: setup data browser
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup data
	$(BIN)/python benchmarks/dcgan_throughput.py
	$(BIN)/python benchmarks/toy_runs.py

clean:
	rm -rf $(VENV) build src/*.egg-info
