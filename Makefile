# The two commands: `make lab` and `make test`. Both set up .venv on first use and
# install nothing new when run again (the stamp is remade only when requirements change).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LAB_ARGS ?=
PYTEST_ARGS ?=
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900

.PHONY: setup lab test unit nbval notebooks bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

# Unit tests and every notebook under nbval's strict mode, in one pytest run.
test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest $(NBVAL) tests notebooks $(PYTEST_ARGS)

unit: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest tests $(PYTEST_ARGS)

nbval: $(STAMP)
	$(PY) -m pytest $(NBVAL) notebooks $(PYTEST_ARGS)

# Re-run every notebook in place with the fixed seed; stores outputs, no widget state.
notebooks: $(STAMP)
	$(PY) -m mbp_teach.nbtools execute $(NOTEBOOKS)

clean:
	rm -rf build .pytest_cache .hypothesis
