# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv (Python >= 3.10) and install the project into it when needed.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench mutate clean

# The install also builds the JupyterLab extension (npm, through hatch-jupyter-builder),
# so a change to its sources reinstalls.
EXTENSION_SOURCES := $(shell find extension/src extension/style extension/schema -type f 2>/dev/null)

$(STAMP): pyproject.toml extension/package.json extension/package-lock.json $(EXTENSION_SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# MLflow in a virtual environment of its own (its pins are not ours): the tests load
# an exported model with it, bench/ runs its server beside ours.
MLFLOW_VENV := bench/.venv-mlflow
MLFLOW_PY := $(MLFLOW_VENV)/bin/python

$(MLFLOW_PY):
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_PY) -m pip install --quiet --upgrade pip
	$(MLFLOW_PY) -m pip install --quiet mlflow scikit-learn pandas skops

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP) $(MLFLOW_PY)
	cd extension && (test -d node_modules || npm ci --no-audit --no-fund) && npm test
	$(PY) -m pytest -n auto --dist loadfile --nbval-lax tests notebooks

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every benchmark prints its table; each takes a few minutes on 2 cores.
bench: $(STAMP)
	$(PY) bench/tracking.py
	$(PY) bench/drift.py
	$(PY) bench/pipeline.py
	$(PY) bench/concurrency.py
	$(PY) bench/model_trust.py
	$(PY) bench/evidence_pack.py
	$(PY) bench/serve.py $(if $(wildcard $(MLFLOW_PY)),--mlflow-python $(MLFLOW_PY))

# Mutation testing of the code that decides correctness: a measure of the tests,
# not part of `make test`. scripts/mutation_score.py names what is measured (the
# files are [tool.mutmut]'s only_mutate in pyproject.toml) and prints the score
# per module at the end; `mutmut results` lists the survivors, `mutmut show NAME`
# shows one. One `mutmut run` per module (a line of globs; xargs hands them over
# without a shell expanding them); MUTATE=PATTERN measures only the modules whose
# line matches it (grep), e.g. `make mutate MUTATE=registry.gates`.
MUTATE ?= .
mutate: $(STAMP)
	$(PY) -m pip install --quiet "mutmut==3.8.1"
	$(PY) scripts/mutation_score.py --patterns | grep -e '$(MUTATE)' \
		| xargs -L 1 $(VENV)/bin/mutmut run --max-children 2 > mutants.log 2>&1 \
		|| (tail -20 mutants.log; exit 1)
	$(PY) scripts/mutation_score.py

clean:
	rm -rf demo-output .pytest_cache mutants mutants.log
