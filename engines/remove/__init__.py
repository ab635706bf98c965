"""Remove: fill a brushed or boxed hole so the distractor disappears.

Importing this package registers the Remove engines; it must stay cheap (no torch).
"""

from engines.registry import EngineEntry, needs_modules, register
from engines.remove.request import RemoveRequest, RemoveResult

__all__ = ["RemoveRequest", "RemoveResult"]

register(
    EngineEntry(
        operation="remove",
        name="patchmatch",
        title="Patch-based fill (classic)",
        description=(
            "Multi-scale PatchMatch completion with EM voting: copies texture from the rest "
            "of the photo. Needs no downloads."
        ),
        target="engines.remove.patchmatch:PatchMatchEngine",
        check=needs_modules("torch"),
        default=True,
    )
)
