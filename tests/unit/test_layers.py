"""The layers hold: engines never import Qt or a front end, and the two front ends never
import each other (docs/ARCHITECTURE.md, "Layers").

Each check imports every module of a package in a fresh interpreter, so what an earlier
test imported cannot hide a forbidden import, and then lists what got loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL = """
import importlib, json, pkgutil, sys
package = importlib.import_module({package!r})
names = [package.__name__]
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({{"imported": names, "loaded": sorted(sys.modules)}}))
"""


def import_everything(package: str) -> tuple[list[str], set[str]]:
    """(the package's modules, every module loaded) after importing all of them."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL.format(package=package)], cwd=ROOT,
        capture_output=True, text=True, timeout=300,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["imported"], set(found["loaded"])


def under(loaded: set[str], package: str) -> list[str]:
    return sorted(m for m in loaded if m == package or m.startswith(package + "."))


def test_every_engines_module_imports_without_qt_or_a_front_end():
    imported, loaded = import_everything("engines")
    assert len(imported) > 40 and "engines.store.trained" in imported
    assert "engines.expression.stylegan.engine" in imported  # torch modules too
    assert under(loaded, "PySide6") == []
    assert under(loaded, "app") == []


def test_the_command_line_imports_without_the_window():
    imported, loaded = import_everything("app.cli")
    assert "app.cli.translate" in imported and "app.cli.weights" in imported
    assert under(loaded, "app.gui") == []
    assert under(loaded, "PySide6") == []


def test_the_window_imports_without_the_command_line():
    imported, loaded = import_everything("app.gui")
    assert "app.gui.window" in imported and "app.gui.panels.translate_panel" in imported
    assert under(loaded, "app.cli") == []
    assert "PySide6.QtWidgets" in loaded
