"""The model store: the one way models are found, checked, loaded, kept and written.

Three sorts of model meet here, and every engine and front end reaches them the same way,
by *name*; only the store turns a name into a file:

- models Transfigure trains and ships (``resources/models``), and those the user trained
  or imported (their models folder), of a ``ModelKind`` (translation, harmonization):
  ``models``, ``find``, ``load``, ``save``, ``install``, ``availability``;
- pretrained weights from elsewhere that the user downloads or imports on request
  (``resources/models.toml``): ``engines.store.weights``;
- in memory, the last model loaded per slot (``keep_last``), so the next photo does not
  read the file again.

``engines.store.catalog`` lists every trained model of every kind (the kinds named in
``engines.operations``), shipped or the user's, with its data card.

Files are read only by the safe loader (``load_tensors``: safetensors, or PyTorch's
``weights_only``; no pickled code ever runs) and written only through
``engines.files.atomic_write``. Importing the store costs no torch import.
"""

from engines.store.folders import ENV_CACHE_DIR, shipped_models_dir, user_root
from engines.store.memory import forget, holds, keep_last
from engines.store.tensors import (
    load_tensors,
    read_header,
    save_tensors,
    stringify,
    unstringify,
)
from engines.store.trained import (
    STATE_SUFFIX,
    SUFFIX,
    ModelKind,
    availability,
    check,
    checked_metadata,
    damaged,
    find,
    fit,
    install,
    is_user_model,
    load,
    load_file,
    models,
    new_model_file,
    read_metadata,
    save,
    user_folder,
)

__all__ = [
    "ENV_CACHE_DIR", "STATE_SUFFIX", "SUFFIX", "ModelKind", "availability", "check",
    "checked_metadata", "damaged", "find", "fit", "forget", "holds", "install",
    "is_user_model", "keep_last", "load", "load_file", "load_tensors", "models",
    "new_model_file", "read_header", "read_metadata", "save", "save_tensors", "shipped_models_dir",
    "stringify", "unstringify", "user_folder", "user_root",
]
