"""A long session must not crash in Qt's bindings.

PySide6 6.12.0 on Python 3.11 loses a reference to ``True`` on every signal emit and to
``None`` on every call of a void Qt method; after some thousands of progress signals
and paints the interpreter aborts ("bool_dealloc"). pyproject excludes that release;
this test catches any binding that does it again. It runs in a child process because
the failure is an abort, which would take the whole test run down with it.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import sys
from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtWidgets import QApplication

app = QApplication([])

class Emitter(QObject):
    ticked = Signal(int)

emitter, seen = Emitter(), []
emitter.ticked.connect(seen.append)
none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
size = QSize(1, 1)
for i in range(300):
    emitter.ticked.emit(i)
    size.setWidth(i)
print(sys.getrefcount(None) - none_before, sys.getrefcount(True) - true_before, len(seen))
"""


def test_signals_and_void_calls_keep_reference_counts():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    none_delta, true_delta, delivered = map(int, done.stdout.split())
    assert delivered == 300
    # A few references may come and go with caches; a leak loses one per call (300+).
    assert abs(none_delta) < 50 and abs(true_delta) < 50, (none_delta, true_delta)
