# Isolde: `make run` opens the editor on the bundled demo song, `make test` runs the test suite.
# Both create (or reuse) the virtual environment in .venv/ and install what is missing,
# system packages included (Debian/Ubuntu: PortAudio, Xvfb and the X/GL libraries Qt needs).

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.isolde-installed
SYSTEM_STAMP := $(VENV)/.isolde-system-packages
DEB_PACKAGES := libportaudio2 libasound2-plugins xvfb xauth desktop-file-utils appstream \
	libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 \
	libxcb-randr0 libxcb-render-util0 libxcb-image0 fluidsynth fluid-soundfont-gm

export QT_API := pyside6

.PHONY: run test venv system-packages benchmark screenshot clean-venv

run: $(STAMP)
	$(VENV)/bin/isolde

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

benchmark: $(STAMP)
	$(PY) benchmarks/separate_speed.py
	$(PY) benchmarks/update_dnn_speed.py
	$(PY) benchmarks/editor_open.py
	$(PY) benchmarks/editor_drag.py

screenshot: $(STAMP)
	@mkdir -p docs
	$(PY) scripts/screenshot.py docs/screenshot.png
	$(PY) scripts/screenshot.py docs/screenshot-produced.png --produced

system-packages: $(SYSTEM_STAMP)

$(SYSTEM_STAMP):
	@mkdir -p $(VENV)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# Reinstall when pyproject.toml changes. madmom 0.16.1 builds against the NumPy and Cython already
# installed, hence the two steps and --no-build-isolation.
$(STAMP): pyproject.toml $(SYSTEM_STAMP) | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip wheel "setuptools<81" cython numpy
	$(PY) -m pip install -q "torch==2.13.0" || $(PY) -m pip install -q torch
	$(PY) -m pip install -q --no-build-isolation madmom==0.16.1
	$(PY) -m pip install -q --no-build-isolation -e ".[test]"
	@touch $@

clean-venv:
	rm -rf $(VENV)

.PHONY: package smoke
package: $(STAMP)
	packaging/build.sh
smoke: $(STAMP)
	packaging/smoke_test.sh
