"""Transfigure's front ends: the desktop window (PySide6) and the command line.

Importing ``app`` must stay cheap: the command line imports engines lazily and never
imports torch or PySide6 for commands that do not need them.
"""

__version__ = "0.1.0"
