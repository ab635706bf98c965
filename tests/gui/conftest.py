"""GUI tests run on Qt's offscreen platform: no display needed, real widgets and events."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
