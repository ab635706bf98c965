"""Installing a translation model file the user has into their models folder.

The file is loaded once (both networks built, every weight fitted) before anything is
copied, so a damaged or foreign file is refused with the loader's sentence and never
lands in the folder where the app would list it. The copy is written beside its final
name and renamed into place: a crash mid-copy leaves no half file behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from engines.base import EngineUnavailable, InvalidInput
from engines.translate.model_file import SUFFIX, list_models, load_model, user_models_dir

CHUNK = 1 << 20


def import_model(source: str | os.PathLike[str]) -> Path:
    """Check that ``source`` loads as a translation model, then copy it into the user's
    models folder; returns the installed file (its stem is the model's name).

    A name already taken (by a shipped model or another file) gets a number appended,
    so an import never replaces or shadows a model the user has; importing the same
    file twice installs it once.
    """
    source = Path(source).expanduser()
    folder = user_models_dir()
    if folder is None:
        raise EngineUnavailable("There is no folder for your own models on this system "
                                "(platformdirs is missing).")
    if source.suffix.lower() != SUFFIX:
        raise InvalidInput(f"{source.name} is not a translation model: those end in {SUFFIX}.",
                           str(source))
    load_model(source, "cpu")  # raises EngineError with a sentence for a bad file
    if source.resolve().parent == folder.resolve():
        return source  # already installed
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, _clean_stem(source.stem), source)
    if target.is_file():
        return target  # the same bytes are already installed under this name
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.stem}.", suffix=".importing")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _clean_stem(stem: str) -> str:
    """A name that is a plain file name and not mistaken for a trainer's state file."""
    stem = re.sub(r"[^\w.-]+", "-", stem.replace(".train-state", "")).strip(".-")
    return stem or "model"


def _free_name(folder: Path, stem: str, source: Path) -> Path:
    """``stem`` or ``stem-2``, ``stem-3``…: the first name not taken by another model."""
    taken = list_models()
    for n in range(1, 1000):
        name = stem if n == 1 else f"{stem}-{n}"
        target = folder / f"{name}{SUFFIX}"
        if target.is_file() and _same_bytes(target, source):
            return target
        if not target.exists() and name not in taken:
            return target
    raise InvalidInput(f"Too many models are named {stem}; rename the file and import it "
                       "again.")


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block = fa.read(CHUNK)
            if block != fb.read(CHUNK):
                return False
            if not block:
                return True
