"""Screenshots of the real window for the README (run under a display, e.g. Xvfb).

    DISPLAY=:99 python docs/screenshot.py OUT_DIR

Uses scikit-image's public-domain ``rocket`` photo (SpaceX, CC0): selects the right-hand
launch tower, saves ``window-mask.png``, runs Remove, switches on the split view across
the tower and saves ``window-split.png``. A throw-away settings file keeps the user's
own settings untouched.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication
from skimage import data

from app.gui.window import MainWindow
from engines import imageio

TOWER = (434, 112, 48, 258)  # x, y, w, h of the tower against the sky, in photo pixels


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(out_dir: str) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp())
    photo = work / "rocket.png"
    imageio.save_image(photo, data.rocket().astype(np.float32) / 255)
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1280, 800)
    window.show()
    wait(300)
    if not window.open_path(photo):
        print(window.last_error, file=sys.stderr)
        return 1
    mask = window.canvas.mask
    mask.begin()
    window.canvas.refresh_mask(mask.fill_rect(TOWER))
    mask.end()
    wait(1800)  # the device probe fills in the status bar
    window.grab().save(str(out / "window-mask.png"))
    done = QEventLoop()
    window.jobs.busy_changed.connect(lambda busy: None if busy else done.quit())
    window.panels["remove"].run_action.trigger()
    done.exec()
    window.split_action.trigger()
    window.canvas.set_split(True, TOWER[0] + TOWER[2] / 2)
    wait(300)
    window.grab().save(str(out / "window-split.png"))
    window.history.setClean()
    window.close()
    return 0 if app else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
