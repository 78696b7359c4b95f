# Every target is self-sufficient on a fresh machine: it creates .venv and
# installs gmmcli with its test extras the first time.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench bench-mclust bench-select bench-bootstrap clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	touch $(STAMP)

demo: $(STAMP)  ## fit the walkthrough data, predict new rows, show the trace
	@mkdir -p demo_out
	$(BIN)/gmmcli fit sample_data/walkthrough.csv -k 3 -o demo_out/model.json
	$(BIN)/gmmcli predict demo_out/model.json sample_data/new_rows.csv --keep id
	$(BIN)/gmmcli predict demo_out/model.json sample_data/new_rows.csv --explain 2
	$(BIN)/gmmcli trace demo_out/model.json --format table

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest

bench: $(STAMP)  ## benchmarks against scikit-learn, writes BENCHMARKS.md
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py

bench-mclust: $(STAMP)  ## only the comparison with R's mclust (its section of BENCHMARKS.md)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py --mclust-only

bench-select: $(STAMP)  ## select's speed against mclustBIC (wine, wdbc, GvHD) and hc/select on 1e6 x 10 rows
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py --scale-only
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py --select-speed-only

bench-bootstrap: $(STAMP)  ## gmmcli bootstrap and select --lrt against mclust (their section of BENCHMARKS.md)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py --bootstrap-only

clean:
	rm -rf $(VENV) demo_out bench_out
