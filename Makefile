# make demo | make test | make bench: each creates .venv with pip when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	WANDB_MODE=offline $(BIN)/neuralpack demo
	$(BIN)/neuralpack sweep configs/sweeps/smoke.yaml executor=dask tracking=none
	$(BIN)/neuralpack experiment equivalence profile=quick
	WANDB_MODE=offline $(BIN)/neuralpack train task=ssl profile=quick out=runs/ssl/quick overwrite=true

test: $(STAMP)
	WANDB_MODE=disabled $(BIN)/python -m pytest -q

bench: $(STAMP)
	WANDB_MODE=disabled $(BIN)/neuralpack bench

clean:
	rm -rf $(VENV) runs .pytest_cache
