# make demo: set up and train NesT on the embedded digits data.
# make test: set up and run the whole suite (jax and tensorflow in full, torch for the core set).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_BACKEND ?= tensorflow
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: demo test test-jax test-tensorflow test-torch clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Each stamp records that the extras of one target are installed; setup.cfg changes redo it.
# The demo installs only the backend it runs on.
$(VENV)/.demo-deps-$(DEMO_BACKEND): setup.cfg | $(PY)
	$(PY) -m pip install -q -e ".[$(DEMO_BACKEND),data,train]"
	touch $@

$(VENV)/.test-deps: setup.cfg | $(PY)
	$(PY) -m pip install -q -e ".[jax,tensorflow,torch,data,train,test]"
	touch $@

demo: $(VENV)/.demo-deps-$(DEMO_BACKEND)
	KERAS_BACKEND=$(DEMO_BACKEND) TF_CPP_MIN_LOG_LEVEL=3 $(PY) examples/train_digits.py

test: $(VENV)/.test-deps
	$(MAKE) test-jax test-tensorflow test-torch

test-jax test-tensorflow: test-%: $(VENV)/.test-deps
	KERAS_BACKEND=$* TF_CPP_MIN_LOG_LEVEL=3 $(PYTEST)

test-torch: $(VENV)/.test-deps
	KERAS_BACKEND=torch TF_CPP_MIN_LOG_LEVEL=3 $(PYTEST) -m core

clean:
	rm -rf $(VENV) runs build *.egg-info
