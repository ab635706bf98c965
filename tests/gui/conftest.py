"""GUI tests run on Qt's offscreen platform: no display needed, real widgets and events."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import pytest  # noqa: E402 - after the platform is chosen, before any Qt import


@pytest.fixture
def window(qtbot, tmp_path):
    """The real main window with throw-away settings, closed without prompts afterwards."""
    from PySide6.QtCore import QSettings

    from app.gui.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.history.setClean()  # closing would otherwise ask about unsaved changes
    win.close()
    win.deleteLater()
