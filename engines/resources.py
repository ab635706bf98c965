"""Where Transfigure's data files are: the ``resources`` folder, however it was installed.

``resources/`` (top level of the checkout) holds what is data, not code: the models we
train and ship with their data cards, the registry of downloadable weights
(``models.toml``) and the app's icon. It is found, in this order:

1. ``TRANSFIGURE_RESOURCES``: a folder named explicitly (a distribution package that
   puts the files elsewhere, a test); in a PyInstaller bundle (packaging/), the
   ``resources`` folder the bundle carries beside its code.
2. The checkout: ``engines`` sits beside ``resources`` and ``pyproject.toml`` in a
   clone and in an editable install (``pip install -e .``), so edits show at once.
3. An installed wheel: the wheel carries the folder as data files
   (``[tool.setuptools.data-files]`` in ``pyproject.toml``), which pip puts in
   ``<prefix>/share/transfigure`` of whatever scheme it installs to (a venv, ``--user``,
   the system); the wheel's own file list (its ``RECORD``) says where that is.

Nothing here imports more than the standard library: listing models at start-up uses it.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

ENV_VAR = "TRANSFIGURE_RESOURCES"
DISTRIBUTION = "transfigure"
INSTALLED = ("share", "transfigure")  # the data-files folder in an installed wheel
MARKER = "models.toml"  # a file every copy of the folder holds


class ResourcesMissing(RuntimeError):
    """The installation is broken: no copy of the resources folder was found."""


def resources_dir() -> Path:
    """The folder holding models/, icons/ and models.toml."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle (packaging/)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return _found()


@lru_cache(maxsize=1)
def _found() -> Path:
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "resources" / MARKER).is_file():
        return checkout / "resources"
    installed = _installed_data()
    if installed is not None:
        return installed
    raise ResourcesMissing(
        "Transfigure's data files (models, icons) are missing from this installation; "
        "reinstall Transfigure.",
    )


def _installed_data() -> Path | None:
    """``<prefix>/share/transfigure`` of the installed distribution, from its file list."""
    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        return None
    for entry in files:
        parts = entry.parts
        if len(parts) >= 3 and parts[-3:] == (*INSTALLED, MARKER):
            return Path(entry.locate()).resolve().parent
    return None


def resource(*parts: str) -> Path:
    """A path inside the resources folder (it may not exist)."""
    return resources_dir().joinpath(*parts)


def shipped_models_dir() -> Path:
    """The models Transfigure trained and ships, each beside its data card."""
    return resource("models")


def weights_registry_file() -> Path:
    """The registry of pretrained weights a user may download or import."""
    return resource(MARKER)


def icon_file(size: int | None = None) -> Path:
    """The app icon: the SVG, or the PNG rendered at ``size`` px (freedesktop layout)."""
    if size is None:
        return resource("icons", "transfigure.svg")
    return resource("icons", "hicolor", f"{size}x{size}", "apps", "transfigure.png")
