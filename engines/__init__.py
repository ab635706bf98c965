"""Transfigure's numerics: engines, image I/O and weights. Never imports Qt.

The package is importable without torch so the CLI can answer ``--help`` and
``engines`` instantly; torch is imported only by the modules that compute.
"""

__version__ = "0.1.0"
