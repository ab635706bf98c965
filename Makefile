# Transfigure: one command to install and launch, one to install and test.
#   make run    create .venv, install Transfigure, launch it (ARGS="..." passes arguments)
#   make test   create .venv, install Transfigure with test tools, lint and run the test suite
#   make bench  run the benchmarks in tests/benchmarks (prints tables; not part of `make test`)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=
# TORCH=cpu: PyTorch's CPU-only build (about 1.6 GB installed instead of 6 GB) for
# machines without an NVIDIA GPU; results are the same.
TORCH  ?=
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu

.PHONY: run test lint bench clean package

# make package: wheel + sdist (dist/), the PyInstaller bundle (build/bundle/transfigure)
# and the Debian package (build/transfigure_<version>_amd64.deb), from a separate
# environment with PyTorch's CPU build (packaging/README.md). PACKAGE_TORCH says where
# that build comes from (default: PyTorch's CPU wheel index; a wheel file works too).
PACKAGE_VENV  ?= build/package-venv
PACKAGE_TORCH ?= torch torchvision --index-url $(TORCH_CPU_INDEX)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Transfigure needs Python 3.11 or newer; run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV) || { echo "Could not create a virtual environment: install your distribution's python3-venv package."; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	@if [ "$(TORCH)" = "cpu" ]; then \
		$(BIN)/python -m pip install --progress-bar off torch torchvision --index-url $(TORCH_CPU_INDEX); \
	fi
	$(BIN)/python -m pip install --progress-bar off -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-app
	$(BIN)/python -m pip install --progress-bar off -e '.[test,bench,ray]'
	@touch $@

run: $(VENV)/.installed-app
	$(BIN)/transfigure $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python tests/benchmarks/remove.py
	$(BIN)/python tests/benchmarks/startup.py
	$(BIN)/python tests/benchmarks/brush.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

$(PACKAGE_VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(PACKAGE_VENV)
	$(PACKAGE_VENV)/bin/python -m pip install --progress-bar off $(PACKAGE_TORCH)
	$(PACKAGE_VENV)/bin/python -m pip install --progress-bar off . pyinstaller build
	$(PACKAGE_VENV)/bin/python -m pip uninstall -y -q transfigure  # the bundle takes the checkout's code
	@touch $@

package: $(PACKAGE_VENV)/.ready
	$(PACKAGE_VENV)/bin/python -m build --outdir dist .
	$(PACKAGE_VENV)/bin/pyinstaller --noconfirm --distpath build/bundle --workpath build/pyinstaller packaging/transfigure.spec
	PYTHON=$(PACKAGE_VENV)/bin/python packaging/build_deb.sh build/bundle/transfigure build
