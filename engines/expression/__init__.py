"""Expression: the first portrait takes the expression of the second (ch. 6).

Importing this package registers the engines; it must stay cheap (no torch, no dlib).
"""

from __future__ import annotations

from engines.expression.request import ExpressionRequest, ExpressionResult
from engines.registry import EngineEntry, needs_modules, needs_weights, register

__all__ = ["ExpressionRequest", "ExpressionResult"]


register(EngineEntry(
    operation="expression", name="warp", title="Landmark warp (classic)",
    description="Moves brows, eyes, mouth and chin towards the second face's landmarks with "
                "a mesh warp, fills an opening mouth from the second face, blends seamlessly. "
                "Needs no downloads.",
    target="engines.expression.warp:WarpExpressionEngine",
    check=needs_modules("dlib", "face_recognition_models"), default=True,
))
register(EngineEntry(
    operation="expression", name="stylegan", title="StyleGAN2 W+ fusion (ch. 6)",
    description="Inverts both faces into StyleGAN2's W+ space, takes the expression layers "
                "from the second, regenerates and blends the new face in.",
    target="engines.expression.stylegan.engine:StyleGANExpressionEngine",
    check=needs_weights("stylegan2_ffhq", "vgg16",
                        modules=("torch", "dlib", "face_recognition_models")),
))
