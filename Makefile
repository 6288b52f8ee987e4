# capplan: the two commands. Each creates .venv when missing and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install samples docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

## make demo: start the demo service, run the four scenarios, analyze, forecast, plan, write reports/demo.html
demo: $(VENV)/.installed-run
	$(BIN)/capplan demo

## make test: the whole test suite (real Locust, Prophet, Prometheus, Chromium)
test: $(VENV)/.installed-test
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

## make samples: regenerate datasets/sample_traffic_daily.csv (seeded: the same file every time)
samples: $(VENV)/.installed-run
	$(BIN)/python -c "from capplan.store.samples import write_sample_history; print(write_sample_history())"

## make docs: regenerate the command output shown in docs/*.md (checked by make test)
docs: $(VENV)/.installed-test
	$(BIN)/cog -r -I docs docs/*.md

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
