"""Where models live on disk: the user's models folder and the ones Transfigure ships.

The user's folder is one root (``TRANSFIGURE_CACHE_DIR``, else the platform's cache
folder) holding downloaded and imported weights, and below it the models the user
trained or imported, one sub-folder per kind. The shipped models are in the resources
folder (``engines.resources``). Nothing here imports more than the standard library and
platformdirs: the window lists models at start-up.
"""

from __future__ import annotations

import os
from pathlib import Path

from engines.resources import shipped_models_dir

ENV_CACHE_DIR = "TRANSFIGURE_CACHE_DIR"

__all__ = ["ENV_CACHE_DIR", "shipped_models_dir", "user_root"]


def user_root() -> Path:
    """The user's models folder; ``TRANSFIGURE_CACHE_DIR`` moves it (tests, portable use)."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("transfigure")) / "weights"
