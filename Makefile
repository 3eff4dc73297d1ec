# make demo: set up and train NesT on the embedded digits data.
# make test: set up and run the whole suite (jax and tensorflow in full, torch for the core set).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_BACKEND ?= tensorflow
PYTEST := $(PY) -m pytest -q -rs -p no:cacheprovider
# JAX keeps compiled programs here, so the processes the tests start (the CLI, the
# 4-device run) reuse what another process compiled: a jax subprocess's start drops
# from about 50 to 18 CPU seconds.
JAX_CACHE := JAX_COMPILATION_CACHE_DIR=$(abspath $(VENV))/jax-cache \
	JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1
# and compiles at LLVM's lowest optimisation level: most test programs run once, so compiling
# costs more than running (the jax suite alone, -n 2: 604 -> 523 CPU s, Intel Xeon AVX-512).
JAX_TEST := $(JAX_CACHE) XLA_FLAGS=--xla_backend_optimization_level=0

.PHONY: demo test test-jax test-tensorflow test-torch docs notebooks clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Each stamp records that the extras of one target are installed; setup.cfg changes redo it.
# The demo installs only the backend it runs on.
$(VENV)/.demo-deps-$(DEMO_BACKEND): setup.cfg | $(PY)
	$(PY) -m pip install -q -e ".[$(DEMO_BACKEND),data,train]"
	touch $@

$(VENV)/.docs-deps: setup.cfg | $(PY)
	$(PY) -m pip install -q -e ".[docs]"
	touch $@

$(VENV)/.test-deps: setup.cfg | $(PY)
	$(PY) -m pip install -q -e ".[jax,tensorflow,torch,data,train,export,test,docs]"
	touch $@

# The demo's figure goes to runs/examples/train_digits/predictions.png, not to a window.
demo: $(VENV)/.demo-deps-$(DEMO_BACKEND)
	KERAS_BACKEND=$(DEMO_BACKEND) TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg \
	PYTHONWARNINGS="ignore:FigureCanvasAgg is non-interactive:UserWarning" \
	$(PY) examples/train_digits.py

# The three backends run one after the other, each on both cores (two pytest workers, a test
# file each at a time); -k runs the others when one fails. jax goes first: its compiled programs
# serve the jax processes of the other two. The slowest tests of each are listed.
test: $(VENV)/.test-deps
	$(MAKE) -k test-jax test-tensorflow test-torch

test-jax: $(VENV)/.test-deps
	@echo "== jax: the whole suite"
	KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 $(JAX_TEST) $(PYTEST) -n 2 --dist loadfile --durations=10

test-tensorflow: $(VENV)/.test-deps
	@echo "== tensorflow: the whole suite"
	KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 $(JAX_TEST) $(PYTEST) -n 2 --dist loadfile --durations=10

test-torch: $(VENV)/.test-deps
	@echo "== torch: the core set"
	KERAS_BACKEND=torch TF_CPP_MIN_LOG_LEVEL=3 $(JAX_TEST) $(PYTEST) -m core -n 2 --dist loadfile --durations=10

# The site (site/): the README, the examples and the API from the docstrings; any
# warning (a broken link or reference) fails the build.
docs: $(VENV)/.docs-deps
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# examples/ipynb/: the notebooks, written from the example scripts (never edited by hand).
notebooks: $(VENV)/.docs-deps
	$(PY) tools/notebooks.py

clean:
	rm -rf $(VENV) runs build *.egg-info
