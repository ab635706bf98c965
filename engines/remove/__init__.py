"""Remove: fill a brushed or boxed hole so the distractor disappears.

Importing this package registers the Remove engines; it must stay cheap (no torch).
"""

from engines.registry import EngineEntry, needs_model, needs_modules, register
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

register(
    EngineEntry(
        operation="remove",
        name="guided",
        title="Structure-guided fill (ch. 2–3)",
        description=(
            "A network trained here predicts what belongs in the hole (benches go on, "
            "horizons stay level); patch-based fill then copies real texture from the "
            "photo that matches that prediction."
        ),
        target="engines.remove.guided:GuidedEngine",
        check=needs_model("engines.remove.generator.model_file:INPAINTING"),
    )
)

register(
    EngineEntry(
        operation="remove",
        name="generator",
        title="Feed-forward generator (ch. 3)",
        description=(
            "The trained inpainting network alone: one pass per hole, fastest, "
            "structure-aware but softer than the photo's own texture."
        ),
        target="engines.remove.generator.engine:GeneratorEngine",
        check=needs_model("engines.remove.generator.model_file:INPAINTING"),
    )
)


def _neural_patch_check():
    """Needs torchvision's ImageNet VGG-19 from the weights store, unless development asks
    for the labelled random one (``TRANSFIGURE_RANDOM_VGG=1``)."""
    from engines.registry import needs_weights
    from engines.remove.neural_patch import random_vgg_requested

    if random_vgg_requested():
        return needs_modules("torch")()
    return needs_weights("vgg19")()


register(
    EngineEntry(
        operation="remove",
        name="neural-patch",
        title="Neural patch synthesis (ch. 2)",
        description=(
            "Optimises the hole, scale by scale, until its VGG-19 patches look like the "
            "photo's own, starting from the generator's prediction; you watch it sharpen "
            "iteration by iteration. The slowest engine; needs the VGG-19 weights."
        ),
        target="engines.remove.neural_patch.engine:NeuralPatchEngine",
        check=_neural_patch_check,
    )
)
