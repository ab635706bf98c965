"""Start-up stays light: showing the main window (and opening a photo in it) must not
import torch, which costs seconds and hundreds of MB; the engines that need it import it
when they run. Checked in a fresh process, since this test session may have imported
torch already. Timings are in tests/benchmarks/startup.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    folder = Path(sys.argv[1])
    app = QApplication(sys.argv[:1])
    from app.gui.window import MainWindow

    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.show()
    app.processEvents()
    assert window.isVisible(), "the window is not shown"
    assert window.open_path(folder / "photo.png"), "the photo did not open"
    app.processEvents()
    print("HEAVY", sorted(m for m in ("torch", "torchvision") if m in sys.modules))
    window.close()
    """
)


def test_showing_the_window_does_not_import_torch(tmp_path: Path) -> None:
    Image.fromarray(np.full((48, 64, 3), 128, np.uint8)).save(tmp_path / "photo.png")
    # TRANSFIGURE_DEVICE=cpu: on a GPU machine the window names the GPU from a background
    # thread 1.5 s after start-up, which imports torch by design; it must not race this.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path),
               TRANSFIGURE_DEVICE="cpu")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout.splitlines(), proc.stdout + proc.stderr
