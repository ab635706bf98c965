"""Screenshots of the real window for the README (run under a display, e.g. Xvfb).

    DISPLAY=:99 python docs/screenshot.py PHOTO MASK OUT_DIR

Opens PHOTO, loads MASK as the selection, saves ``window-mask.png``, runs Remove,
switches on the split view and saves ``window-split.png``. Uses a throw-away settings
file so the user's own settings are untouched.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.window import MainWindow


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(photo: str, mask: str, out_dir: str) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1280, 800)
    window.show()
    wait(300)
    if not window.open_path(photo) or not window.load_mask(mask):
        print(window.last_error, file=sys.stderr)
        return 1
    wait(300)
    window.grab().save(str(out / "window-mask.png"))
    done = QEventLoop()
    window.jobs.busy_changed.connect(lambda busy: None if busy else done.quit())
    window.panels["remove"].run_action.trigger()
    done.exec()
    window.split_action.trigger()
    wait(300)
    window.grab().save(str(out / "window-split.png"))
    window.history.setClean()
    window.close()
    return 0 if app else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
